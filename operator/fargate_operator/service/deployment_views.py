"""ECS's ServiceDeployment and ServiceDeploymentBrief shapes, from a FargateService's `status.deployment`.

status.deployment holds `current` (the deployment in flight) and `last` (the last finished one) in
ECS's own member names with RFC 3339 timestamps (docs: interfaces, "Deployments"); the answers give
timestamps as epoch seconds, as ECS's JSON protocol does, and only members botocore's model has.
"""

from __future__ import annotations

from typing import Any

from fargate_operator.service.views import epoch

TIMES = ("createdAt", "startedAt", "updatedAt", "finishedAt", "stoppedAt")
BRIEF = ("serviceDeploymentArn", "serviceArn", "clusterArn", "startedAt", "createdAt", "finishedAt", "status")


def recorded(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The object's deployments as status records them, newest first (current, then last; one if the same)."""
    deployment = obj.get("status", {}).get("deployment") or {}
    found = [d for d in (deployment.get("current"), deployment.get("last")) if d and d.get("serviceDeploymentArn")]
    if len(found) == 2 and found[0]["serviceDeploymentArn"] == found[1]["serviceDeploymentArn"]:
        found = found[:1]
    return found


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None and v != {} and v != []}


def detail(obj: dict[str, Any], d: dict[str, Any]) -> dict[str, Any]:
    """DescribeServiceDeployments' ServiceDeployment for one recorded deployment of the object."""
    status = obj.get("status", {})
    hook = d.get("hook") or {}
    rollback = d.get("rollback") or {}
    view: dict[str, Any] = {
        "serviceDeploymentArn": d["serviceDeploymentArn"],
        "serviceArn": status.get("serviceArn"),
        "clusterArn": status.get("clusterArn"),
        **{t: epoch(d.get(t)) for t in TIMES},
        "status": d.get("status"),
        "statusReason": d.get("statusReason"),
        "lifecycleStage": d.get("lifecycleStage"),
        "targetServiceRevision": _drop_none({"arn": d.get("targetServiceRevisionArn")}),
        "sourceServiceRevisions": [{"arn": a} for a in d.get("sourceServiceRevisionArns") or []],
        "deploymentConfiguration": _drop_none({"strategy": d.get("strategy")}),
        "lifecycleHookDetails": [
            _drop_none(
                {
                    "hookId": hook.get("hookId"),
                    "targetArn": hook.get("hookTargetArn"),
                    "targetType": hook.get("targetType") or (None if hook.get("hookTargetArn") else "PAUSE"),
                    "status": hook.get("status"),
                }
            )
        ]
        if hook
        else [],
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
    full = detail(obj, d)
    out = {k: full[k] for k in BRIEF if k in full}
    if "createdAt" not in out and "startedAt" in out:
        out["createdAt"] = out["startedAt"]  # status records when it started; ECS creates and starts at once
    if d.get("targetServiceRevisionArn"):
        out["targetServiceRevisionArn"] = d["targetServiceRevisionArn"]
    if d.get("statusReason"):
        out["statusReason"] = d["statusReason"]
    return out
