"""FargateService: CreateService / UpdateService requests and status from DescribeServices."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from fargate_operator.models.ownership import Owner, merge_tags
from fargate_operator.models.verdict import Verdict
from fargate_operator.reconcile import deployment as deployment_logic
from fargate_operator.reconcile.placement import launch_default
from fargate_operator.reconcile.requests import ecs_members, spec_hash
from fargate_operator.reconcile.task_definition import family_revision, same_revision

# CreateService needs a count for REPLICA services; when spec omits desiredCount the
# operator starts with this and afterwards never sends one (ECS / Application Auto
# Scaling own it then).
INITIAL_DESIRED_COUNT = 1
EVENTS_KEPT = 5


def create_request(
    spec: dict[str, Any],
    owner: Owner,
    cluster: str,
    task_definition: str | None,
    cluster_has_default_strategy: bool = False,
) -> dict[str, Any]:
    req = ecs_members(spec, "CreateService") | launch_default(spec, cluster_has_default_strategy)
    req["cluster"] = cluster
    if task_definition:
        req["taskDefinition"] = task_definition
    if "desiredCount" not in req and spec.get("schedulingStrategy", "REPLICA") == "REPLICA":
        req["desiredCount"] = INITIAL_DESIRED_COUNT
    req["clientToken"] = owner.uid  # 36 characters, within CreateService's limit
    req["tags"] = merge_tags(spec.get("tags"), owner.tags())
    return req


# What CreateService answers for a name in use (model: DeleteService, "If you attempt to create a new
# service with the same name as an existing service in either ACTIVE or DRAINING status, you receive
# an error"): InvalidParameterException, "Creation of service was not idempotent." (ACTIVE, another
# request or client token) or "Unable to Start a service that is still Draining." (DRAINING).
_NAME_TAKEN_WORDS = ("not idempotent", "still draining")


def name_taken(code: str, message: str) -> bool:
    """Whether a CreateService error says the service name is in use (so: look at who holds it)."""
    return code == "InvalidParameterException" and any(w in message.lower() for w in _NAME_TAKEN_WORDS)


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


def desired_revision(answer: dict[str, Any], requested: str | None) -> str | None:
    """The revision this object asked ECS to run: as ECS resolved it in the CreateService /
    UpdateService answer (an ARN even for a family:revision request), else as requested."""
    if not requested:
        return None  # no task definition in the request: nothing to hold ECS to
    resolved = answer.get("taskDefinition")
    return str(resolved) if resolved else requested


def _rolled_back(service: dict[str, Any], desired: str, held: str | None = None) -> dict[str, Any] | None:
    """The FAILED deployment of the desired revision, or {} when ECS otherwise shows a rollback; None if not.

    A circuit-breaker rollback (DeploymentCircuitBreaker.rollback: "rolled back to the last
    deployment that completed successfully") is a new PRIMARY deployment on the old revision,
    the failed one staying ACTIVE with rolloutState FAILED until the rollback completes; then
    only the old revision is left, in the PRIMARY deployment and in the service's taskDefinition
    (which tools compare to detect it, e.g. terraform-aws-modules/terraform-aws-ecs#325). ECS
    reports both after a rollback, so one alone that differs (moto's PRIMARY keeps the first
    revision after UpdateService) is not taken for one.
    """
    deployments: list[dict[str, Any]] = service.get("deployments") or []
    if not deployments or same_revision(_primary(service).get("taskDefinition"), desired):
        return None
    failed = next(
        (
            d
            for d in deployments
            if d.get("rolloutState") == "FAILED" and same_revision(d.get("taskDefinition"), desired)
        ),
        None,
    )
    if failed is not None:
        return failed
    if same_revision(service.get("taskDefinition"), desired):
        return None
    return {} if _rollback_evidence(service, desired, held) else None


ROLLBACK_EVENT_WINDOW = datetime.timedelta(seconds=60)


def _stamp(value: Any) -> datetime.datetime | None:
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.datetime.fromisoformat(value)
    return None


def _rollback_evidence(service: dict[str, Any], desired: str, held: str | None) -> bool:
    """Whether ECS itself (a rollback, not a person) put the service on another revision than the one deployed.

    A completed rollback and an UpdateService made behind the operator's back look alike: the
    failed deployment is gone, another revision is PRIMARY. Taken for a rollback when this object
    already said so (`held`, a verdict made while the failed deployment was visible), when ECS's
    events around the PRIMARY deployment's start tell of a failed deployment or a rollback, or when
    ECS runs an earlier revision of the same family (where a rollback goes) and nothing says
    otherwise. Anything else -- another family, a later revision -- is drift (handlers/drift.py).
    """
    if held in FAILED_ROLLOUT_REASONS:
        return True
    started = _stamp(_primary(service).get("createdAt"))
    for event in service.get("events") or []:
        at = _stamp(event.get("createdAt"))
        recent = started is None or at is None or at >= started - ROLLBACK_EVENT_WINDOW
        if recent and _about_failure(str(event.get("message") or "")):
            return True
    running = family_revision(str(service.get("taskDefinition") or _primary(service).get("taskDefinition") or ""))
    wanted = family_revision(desired)
    if ":" not in running or ":" not in wanted or running.split(":")[0] != wanted.split(":")[0]:
        return False
    return int(running.rsplit(":", 1)[1]) < int(wanted.rsplit(":", 1)[1])


_BREAKER = "circuit breaker"  # in ECS's rolloutStateReason and event texts about it
# ECS's service events of a failed deployment: "(service web) (deployment ecs-svc/1) deployment
# failed: tasks failed to start.", "(service web) rolling back to deployment ecs-svc/2."
_FAILURE_EVENT_WORDS = (_BREAKER, "deployment failed", "rolling back")


def _about_failure(event: str) -> bool:
    return any(w in event.lower() for w in _FAILURE_EVENT_WORDS)


def _rollback_message(service: dict[str, Any], failed: dict[str, Any], desired: str) -> str:
    """Names both revisions and repeats ECS's own words: rolloutStateReason, else the newest event."""
    primary = _primary(service)
    running = family_revision(str(primary.get("taskDefinition") or service.get("taskDefinition")))
    said = [failed.get("rolloutStateReason"), primary.get("rolloutStateReason")]
    events = [e.get("message") or "" for e in service.get("events") or []]  # newest first
    words = [w for w in said if w and _BREAKER in w.lower()] or [e for e in events if _about_failure(e)][:2]
    why = "; ".join(words) or "ECS no longer says why; see the service's deployments and events"
    return f"rolled back: ECS runs {running}, not {family_revision(desired)} that this object deployed ({why})"


# Verdicts of a deployment that did not make it; the status loop adds how its tasks ended.
FAILED_ROLLOUT_REASONS = frozenset({"RolledBack", "RolloutFailed"})


def failed_task_note(tasks: list[dict[str, Any]], revision: str | None) -> str:
    """How the newest stopped task of `revision` (any revision when unknown) ended, in one line."""
    mine = [t for t in tasks if not revision or same_revision(t.get("taskDefinitionArn"), revision)]
    if not mine:
        return ""
    task = max(mine, key=lambda t: str(t.get("stoppedAt") or t.get("createdAt") or ""))
    containers = "; ".join(
        f"container {c.get('name')}"
        + (f" exited {c['exitCode']}" if c.get("exitCode") is not None else "")
        + (f" ({c['reason']})" if c.get("reason") else "")
        for c in task.get("containers") or []
        if c.get("exitCode") not in (None, 0) or (c.get("reason") and c.get("reason") != task.get("stoppedReason"))
    )
    parts = [task.get("stopCode"), task.get("stoppedReason"), containers]
    return f"last failed task {str(task.get('taskArn', '')).rsplit('/', 1)[-1]}: " + ": ".join(p for p in parts if p)


def health(
    service: dict[str, Any],
    desired: str | None = None,
    held: str | None = None,
    deployment: Mapping[str, Any] | None = None,
) -> Verdict:
    """The Ready/Progressing/Degraded verdict on an observed ECS service.

    `deployment` (status.deployment: the ServiceDeployment in flight, the last finished one) names
    the lifecycle stage, a paused hook or why a deployment rolled back (reconcile/deployment.py `judge`);
    Ready waits for the deployment to finish, a blue/green one's bake time included.

    `desired` is the revision this object last deployed (status.desiredTaskDefinition): while
    ECS runs another one after a rollback, the service is Degraded (RolledBack), and stays so
    until a spec change deploys again (or ECS runs the desired revision after all). `held` is the
    object's current Degraded reason (see _rollback_evidence).
    """
    return deployment_logic.judge(_health(service, desired, held), deployment, held)


def _health(service: dict[str, Any], desired: str | None, held: str | None) -> Verdict:
    status = service.get("status")
    primary = _primary(service)
    rollout = primary.get("rolloutState")
    running, wanted = service.get("runningCount", 0), service.get("desiredCount", 0)
    if status != "ACTIVE":
        return Verdict(False, status == "DRAINING", False, f"Service{str(status).title()}", f"ECS service is {status}")
    failed = _rolled_back(service, desired, held) if desired else None
    if desired and failed is not None:
        return Verdict(False, False, True, "RolledBack", _rollback_message(service, failed, desired))
    if rollout == "FAILED":
        reason = primary.get("rolloutStateReason") or "deployment failed"
        return Verdict(False, False, True, "RolloutFailed", reason)
    if rollout == "IN_PROGRESS" or len(service.get("deployments") or []) > 1:
        return Verdict(False, True, False, "RollingOut", f"deployment in progress: {running}/{wanted} running")
    if running < wanted:
        return Verdict(False, True, False, "ScalingUp", f"{running}/{wanted} tasks running")
    return Verdict(True, False, False, "Steady", f"{running}/{wanted} tasks running")
