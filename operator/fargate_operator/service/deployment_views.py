"""ECS's ServiceDeployment and ServiceDeploymentBrief shapes, from a FargateService's `status.deployment`.

status.deployment holds `current` (the deployment in flight) and `last` (the last finished one) as the
status loop writes them (reconcile/deployment.py `summary`): ECS's member names, flattened where a
condition or a printer column reads them (targetServiceRevisionArn, sourceServiceRevisionArns,
trafficWeights, hook), RFC 3339 timestamps. The answers put them back where botocore's model has them
and give timestamps as epoch seconds, as ECS's JSON protocol does.
"""

from __future__ import annotations

from typing import Any

from fargate_operator.service.views import epoch

TIMES = ("createdAt", "startedAt", "updatedAt", "finishedAt", "stoppedAt")
BRIEF = (
    "serviceDeploymentArn",
    "serviceArn",
    "clusterArn",
    "startedAt",
    "createdAt",
    "finishedAt",
    "targetServiceRevisionArn",
    "status",
    "statusReason",
)
# status trafficWeights -> ServiceRevisionSummary (the target revision's requested share of traffic)
WEIGHTS = (("production", "requestedProductionTrafficWeight"), ("test", "requestedTestTrafficWeight"))
# status hook -> DeploymentLifecycleHookDetail (its lifecycleStage is the deployment's own, not the hook's)
HOOK = (("hookId", "hookId"), ("targetType", "targetType"), ("hookTargetArn", "targetArn"), ("status", "status"))


def recorded(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The object's deployments as status records them, newest first (current, then last; one if the same)."""
    deployment = obj.get("status", {}).get("deployment") or {}
    found = [d for d in (deployment.get("current"), deployment.get("last")) if d and d.get("serviceDeploymentArn")]
    if len(found) == 2 and found[0]["serviceDeploymentArn"] == found[1]["serviceDeploymentArn"]:
        found = found[:1]
    return found


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None and v != {} and v != []}


def _times(d: dict[str, Any]) -> dict[str, float | None]:
    """Epoch seconds; createdAt is when it started (status records startedAt, ECS creates and starts at once)."""
    times = {t: epoch(d.get(t)) for t in TIMES}
    times["createdAt"] = times["createdAt"] or times["startedAt"]
    return times


def _target(d: dict[str, Any]) -> dict[str, Any]:
    weights = d.get("trafficWeights") or {}
    revision = {"arn": d.get("targetServiceRevisionArn")}
    revision |= {member: float(weights[name]) for name, member in WEIGHTS if weights.get(name) is not None}
    return _drop_none(revision)


def _hooks(d: dict[str, Any]) -> list[dict[str, Any]]:
    hook = d.get("hook") or {}
    if not hook:
        return []
    detail = _drop_none({member: hook.get(name) for name, member in HOOK})
    detail.setdefault("targetType", "AWS_LAMBDA" if hook.get("hookTargetArn") else "PAUSE")
    return [detail]


def detail(obj: dict[str, Any], d: dict[str, Any]) -> dict[str, Any]:
    """DescribeServiceDeployments' ServiceDeployment for one recorded deployment of the object."""
    status = obj.get("status", {})
    rollback = d.get("rollback") or {}
    view: dict[str, Any] = {
        "serviceDeploymentArn": d["serviceDeploymentArn"],
        "serviceArn": status.get("serviceArn"),
        "clusterArn": status.get("clusterArn"),
        **_times(d),
        "status": d.get("status"),
        "statusReason": d.get("statusReason"),
        "lifecycleStage": d.get("lifecycleStage"),
        "targetServiceRevision": _target(d),
        "sourceServiceRevisions": [{"arn": a} for a in d.get("sourceServiceRevisionArns") or []],
        "deploymentConfiguration": _drop_none({"strategy": d.get("strategy")}),
        "lifecycleHookDetails": _hooks(d),
        "rollback": _drop_none(
            {
                "reason": rollback.get("reason"),
                "startedAt": epoch(rollback.get("startedAt")),
                "serviceRevisionArn": rollback.get("serviceRevisionArn"),
            }
        ),
    }
    return _drop_none(view)


def brief(obj: dict[str, Any], d: dict[str, Any]) -> dict[str, Any]:
    """ListServiceDeployments' ServiceDeploymentBrief for one recorded deployment of the object."""
    full = detail(obj, d) | {"targetServiceRevisionArn": d.get("targetServiceRevisionArn")}
    return _drop_none({k: full.get(k) for k in BRIEF})
