"""ECS response shapes built from custom resources (spec = what was asked, status = what ECS said).

Timestamps are stored as ISO 8601 in status and answered as epoch seconds, as
ECS's JSON protocol sends them.
"""

from __future__ import annotations

import datetime
from typing import Any

from fargate_operator.models.ownership import OWNER_TAG_KEYS, SPEC_HASH_TAG
from fargate_operator.models.status import ClusterStatus, ServiceStatus, TaskStatus
from fargate_operator.reconcile.cluster import cluster_name
from fargate_operator.reconcile.requests import ecs_members

STARTED_BY_ANNOTATION = "ecs.fargate.dev/started-by"


def epoch(value: Any) -> float | None:
    if not value:
        return None
    if isinstance(value, int | float):
        return float(value)
    return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _created(obj: dict[str, Any]) -> float | None:
    return epoch(obj["metadata"].get("creationTimestamp"))


def without_owner_tags(tags: list[dict[str, str]] | None) -> list[dict[str, str]]:
    hidden = {*OWNER_TAG_KEYS, SPEC_HASH_TAG}
    return [t for t in tags or [] if t.get("key") not in hidden]


def user_tags(spec: dict[str, Any]) -> list[dict[str, str]]:
    return without_owner_tags(spec.get("tags"))


def jsonable(value: Any) -> Any:
    """An answer botocore parsed, with timestamps as epoch seconds, as the ECS protocol sends them."""
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def cluster_view(obj: dict[str, Any], include: list[str] | None = None) -> dict[str, Any]:
    status: ClusterStatus
    spec, status = obj.get("spec", {}), obj.get("status", {})
    include = include or []
    view = {
        "clusterArn": status.get("clusterArn"),
        "clusterName": status.get("clusterName") or cluster_name(obj),
        "status": status.get("status") or "PROVISIONING",
        "registeredContainerInstancesCount": 0,
        "runningTasksCount": status.get("runningTasksCount", 0),
        "pendingTasksCount": status.get("pendingTasksCount", 0),
        "activeServicesCount": status.get("activeServicesCount", 0),
        "capacityProviders": spec.get("capacityProviders", status.get("capacityProviders", [])),
        "defaultCapacityProviderStrategy": spec.get("defaultCapacityProviderStrategy", []),
    }
    if "SETTINGS" in include:
        view["settings"] = spec.get("settings", [])
    if "CONFIGURATIONS" in include and "configuration" in spec:
        view["configuration"] = spec["configuration"]
    if "TAGS" in include:
        view["tags"] = user_tags(spec)
    return _drop_none(view)


def service_view(obj: dict[str, Any], include: list[str] | None = None) -> dict[str, Any]:
    status: ServiceStatus
    spec, status = obj.get("spec", {}), obj.get("status", {})
    view = ecs_members(spec, "CreateService")
    for k in ("tags", "clientToken"):
        view.pop(k, None)
    deployments = [
        {**d, "createdAt": epoch(d.get("createdAt")), "updatedAt": epoch(d.get("updatedAt"))}
        for d in status.get("deployments", [])
    ]
    view.update(
        {
            "serviceArn": status.get("serviceArn"),
            "serviceName": spec.get("serviceName"),
            "clusterArn": status.get("clusterArn"),
            # Being deleted (the operator scales it to 0 and deletes it): what ECS says until it is gone.
            "status": "DRAINING" if obj["metadata"].get("deletionTimestamp") else status.get("status") or "ACTIVE",
            "taskDefinition": status.get("taskDefinition") or spec.get("taskDefinition"),
            "desiredCount": status.get("desiredCount", spec.get("desiredCount", 0)),
            "runningCount": status.get("runningCount", 0),
            "pendingCount": status.get("pendingCount", 0),
            "deployments": [_drop_none(d) for d in deployments],
            "events": [_drop_none({**e, "createdAt": epoch(e.get("createdAt"))}) for e in status.get("events", [])],
            "createdAt": _created(obj),
        }
    )
    view.pop("cluster", None)
    if include and "TAGS" in include:
        view["tags"] = user_tags(spec)
    return _drop_none(view)


def task_views(obj: dict[str, Any], include: list[str] | None = None) -> list[dict[str, Any]]:
    """One ECS Task per task the FargateTask started."""
    status: TaskStatus
    spec, status = obj.get("spec", {}), obj.get("status", {})
    started_by = (obj["metadata"].get("annotations") or {}).get(STARTED_BY_ANNOTATION) or status.get("startedBy")
    views = []
    for t in status.get("tasks", []):
        view = {
            "taskArn": t.get("taskArn"),
            "clusterArn": status.get("clusterArn"),
            "taskDefinitionArn": status.get("taskDefinitionArn"),
            "lastStatus": t.get("lastStatus"),
            "desiredStatus": t.get("desiredStatus"),
            "launchType": spec.get("launchType"),
            "capacityProviderName": (spec.get("capacityProviderStrategy") or [{}])[0].get("capacityProvider"),
            "platformVersion": spec.get("platformVersion"),
            "group": spec.get("group")
            or f"family:{str(status.get('taskDefinitionArn', '')).rsplit('/', 1)[-1].split(':')[0]}",
            "startedBy": started_by,
            "stopCode": t.get("stopCode"),
            "stoppedReason": t.get("stoppedReason"),
            "createdAt": epoch(t.get("createdAt")) or _created(obj),
            "startedAt": epoch(t.get("startedAt")),
            "stoppedAt": epoch(t.get("stoppedAt")),
            "enableExecuteCommand": spec.get("enableExecuteCommand", False),
            "containers": [
                _drop_none(
                    {
                        "name": c.get("name"),
                        "lastStatus": c.get("lastStatus"),
                        "exitCode": c.get("exitCode"),
                        "reason": c.get("reason"),
                        "healthStatus": c.get("healthStatus"),
                        "image": c.get("image"),
                        "runtimeId": c.get("runtimeId"),  # the AWS CLI builds the exec target from it
                        "taskArn": t.get("taskArn"),
                    }
                )
                for c in t.get("containers", [])
            ],
            "overrides": spec.get("overrides", {}),
        }
        if include and "TAGS" in include:
            view["tags"] = user_tags(spec)
        views.append(_drop_none(view))
    return views


# -- deleted objects (store/deleted.py): their last recorded state, as ECS answers them afterwards --


def deleted_cluster_view(obj: dict[str, Any], include: list[str] | None = None) -> dict[str, Any]:
    """A deleted cluster: INACTIVE, with nothing running in it."""
    view = cluster_view(obj, include)
    view.update(status="INACTIVE", runningTasksCount=0, pendingTasksCount=0, activeServicesCount=0)
    return view


def deleted_service_view(obj: dict[str, Any], include: list[str] | None = None) -> dict[str, Any]:
    """A deleted service: INACTIVE, scaled to 0, its deployments gone (as DeleteService leaves it)."""
    view = service_view(obj, include)
    view.update(status="INACTIVE", desiredCount=0, runningCount=0, pendingCount=0, deployments=[])
    return view


def deleted_task_views(obj: dict[str, Any], include: list[str] | None = None) -> list[dict[str, Any]]:
    """A deleted FargateTask's tasks: STOPPED (the operator stopped them before letting the object go)."""
    meta = obj["metadata"]
    at = obj.get("deletedAt")
    out = []
    for view in task_views(obj, include):
        if view.get("lastStatus") != "STOPPED":
            view["stoppedReason"] = f"FargateTask {meta['namespace']}/{meta['name']} deleted"
            view["stopCode"] = "UserInitiated"
        view.update(lastStatus="STOPPED", desiredStatus="STOPPED")
        view.setdefault("stoppedAt", at)
        out.append(view)
    return out
