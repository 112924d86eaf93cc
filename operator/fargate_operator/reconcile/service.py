"""FargateService: CreateService / UpdateService requests and status from DescribeServices."""

from __future__ import annotations

from typing import Any

from fargate_operator.reconcile.ownership import Owner, merge_tags
from fargate_operator.reconcile.requests import ecs_members, spec_hash

# CreateService needs a count for REPLICA services; when spec omits desiredCount the
# operator starts with this and afterwards never sends one (ECS / Application Auto
# Scaling own it then).
INITIAL_DESIRED_COUNT = 1
EVENTS_KEPT = 5


def create_request(spec: dict[str, Any], owner: Owner, cluster: str, task_definition: str | None) -> dict[str, Any]:
    req = ecs_members(spec, "CreateService")
    req["cluster"] = cluster
    if task_definition:
        req["taskDefinition"] = task_definition
    if "desiredCount" not in req and spec.get("schedulingStrategy", "REPLICA") == "REPLICA":
        req["desiredCount"] = INITIAL_DESIRED_COUNT
    req["clientToken"] = owner.uid  # 36 characters, within CreateService's limit
    req["tags"] = merge_tags(spec.get("tags"), owner.tags())
    return req


def update_request(spec: dict[str, Any], cluster: str, task_definition: str | None) -> dict[str, Any]:
    req = ecs_members(spec, "UpdateService")
    req["cluster"] = cluster
    req["service"] = spec["serviceName"]
    if task_definition:
        req["taskDefinition"] = task_definition
    return req


def desired_hash(spec: dict[str, Any], cluster: str, task_definition: str | None) -> str:
    return spec_hash(update_request(spec, cluster, task_definition))


def _primary(service: dict[str, Any]) -> dict[str, Any]:
    deployments: list[dict[str, Any]] = service.get("deployments") or []
    return next((d for d in deployments if d.get("status") == "PRIMARY"), deployments[0] if deployments else {})


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def status_from(service: dict[str, Any]) -> dict[str, Any]:
    deployments = [
        {
            k: _iso(d.get(k))
            for k in (
                "id",
                "status",
                "taskDefinition",
                "desiredCount",
                "runningCount",
                "pendingCount",
                "failedTasks",
                "rolloutState",
                "rolloutStateReason",
                "createdAt",
                "updatedAt",
            )
            if d.get(k) is not None
        }
        for d in service.get("deployments") or []
    ]
    events = [
        {k: _iso(e.get(k)) for k in ("id", "createdAt", "message") if e.get(k) is not None}
        for e in (service.get("events") or [])[:EVENTS_KEPT]
    ]
    return {
        "serviceArn": service.get("serviceArn"),
        "clusterArn": service.get("clusterArn"),
        "status": service.get("status"),
        "taskDefinition": service.get("taskDefinition"),
        "desiredCount": service.get("desiredCount", 0),
        "runningCount": service.get("runningCount", 0),
        "pendingCount": service.get("pendingCount", 0),
        "rolloutState": _primary(service).get("rolloutState"),
        "deployments": deployments,
        "events": events,
    }


def health(service: dict[str, Any]) -> tuple[bool, bool, bool, str, str]:
    """(ready, progressing, degraded, reason, message) from an observed ECS service."""
    status = service.get("status")
    primary = _primary(service)
    rollout = primary.get("rolloutState")
    running, desired = service.get("runningCount", 0), service.get("desiredCount", 0)
    if status != "ACTIVE":
        return False, status == "DRAINING", False, f"Service{str(status).title()}", f"ECS service is {status}"
    if rollout == "FAILED":
        reason = primary.get("rolloutStateReason") or "deployment failed"
        return False, False, True, "RolloutFailed", reason
    if rollout == "IN_PROGRESS" or len(service.get("deployments") or []) > 1:
        return False, True, False, "RollingOut", f"deployment in progress: {running}/{desired} running"
    if running < desired:
        return False, True, False, "ScalingUp", f"{running}/{desired} tasks running"
    return True, False, False, "Steady", f"{running}/{desired} tasks running"
