"""FargateService status.deployment: ECS's ServiceDeployment in flight and the last finished one, and its verdict.

Pure: the status loop (handlers/deployments.py) describes the deployment DescribeServices names
(Service.currentServiceDeployment) while it is in flight, and this module maps the answer
(botocore's ServiceDeployment shape) onto status and onto the three conditions:

- in flight (PENDING, IN_PROGRESS, STOP_REQUESTED, STOPPING) with a lifecycle stage (blue/green,
  linear, canary): Progressing, reason DeploymentInProgress naming the stage and the hook at work;
  a PAUSE hook AWAITING_ACTION: Progressing, reason DeploymentPaused, naming the hook and how to go on;
- rolling back (ROLLBACK_*): Degraded, reason RolledBack, naming why (a hook, an alarm, the circuit
  breaker, a stop by hand); once it has finished, the rollback verdict holds as any rollback does
  (reconcile/service.py `health`, conditions.held_degraded) and keeps naming the cause;
- Ready only when no deployment is in flight: a blue/green deployment is done after its bake time
  (BAKE_TIME, then CLEAN_UP, then SUCCESSFUL).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from fargate_operator.models.kinds import CONTINUE_DEPLOYMENT_ANNOTATION
from fargate_operator.models.verdict import Verdict
from fargate_operator.reconcile import merge_patch
from fargate_operator.reconcile.deployment_request import annotation_value

# model: ServiceDeployment.status
FINISHED = frozenset({"SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"})
ROLLING_BACK = frozenset({"ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"})
ROLLED_BACK = frozenset({"ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"})
DEFAULT_STRATEGY = "ROLLING"  # model: DeploymentConfiguration.strategy, "The default value is ROLLING"
# model: DeploymentLifecycleHookDetail.status; a hook ECS (or a person, PAUSE) is still to answer
WAITING_HOOK = ("AWAITING_ACTION", "IN_PROGRESS")
FAILED_HOOK = ("FAILED", "TIMED_OUT")
# Verdicts of a deployment ECS is making on purpose: between two revisions, nothing to judge as drift.
IN_FLIGHT_REASONS = frozenset({"DeploymentInProgress", "DeploymentPaused"})
_LABEL = {"BLUE_GREEN": "blue/green", "LINEAR": "linear", "CANARY": "canary", "ROLLING": "rolling"}


def _iso(value: Any) -> Any:
    """Timestamps as RFC 3339 strings (botocore parses them into datetimes)."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def to_describe(service: Mapping[str, Any] | None, known: Mapping[str, Any] | None) -> str | None:
    """The service deployment to describe this cycle, or None: none for a steady service.

    Described while it is in flight: the deployment DescribeServices names is not yet recorded as
    finished in status.deployment.last, or one of the service's deployments is IN_PROGRESS.
    """
    arn = (service or {}).get("currentServiceDeployment")
    if not arn:
        return None
    last = (known or {}).get("last") or {}
    rolling = any(d.get("rolloutState") == "IN_PROGRESS" for d in (service or {}).get("deployments") or [])
    return None if last.get("serviceDeploymentArn") == arn and not rolling else str(arn)


def _hook(sd: Mapping[str, Any]) -> dict[str, Any] | None:
    """The hook that matters now: one still waiting, else one that failed (a rollback names it)."""
    details = sd.get("lifecycleHookDetails") or []
    hook = next((h for h in details if h.get("status") in WAITING_HOOK), None) or next(
        (h for h in details if h.get("status") in FAILED_HOOK), None
    )
    if hook is None:
        return None
    out = {
        "hookId": hook.get("hookId"),
        "hookTargetArn": hook.get("targetArn"),
        "targetType": hook.get("targetType"),
        "lifecycleStage": sd.get("lifecycleStage"),
        "status": hook.get("status"),
    }
    return {k: v for k, v in out.items() if v is not None}


def summary(sd: Mapping[str, Any]) -> dict[str, Any]:
    """A ServiceDeployment as status.deployment shows it (ECS's member names, RFC 3339 timestamps)."""
    config = sd.get("deploymentConfiguration") or {}
    target = sd.get("targetServiceRevision") or {}
    out: dict[str, Any] = {
        "serviceDeploymentArn": sd.get("serviceDeploymentArn"),
        "strategy": config.get("strategy") or DEFAULT_STRATEGY,
        "status": sd.get("status"),
        "statusReason": sd.get("statusReason"),
        "lifecycleStage": sd.get("lifecycleStage"),
        "startedAt": _iso(sd.get("startedAt") or sd.get("createdAt")),
        "updatedAt": _iso(sd.get("updatedAt")),
        "targetServiceRevisionArn": target.get("arn"),
        "sourceServiceRevisionArns": [r["arn"] for r in sd.get("sourceServiceRevisions") or [] if r.get("arn")],
    }
    weights = {
        name: target[member]
        for name, member in (("production", "requestedProductionTrafficWeight"), ("test", "requestedTestTrafficWeight"))
        if target.get(member) is not None
    }
    if weights:
        out["trafficWeights"] = weights
    if hook := _hook(sd):
        out["hook"] = hook
    if rollback := sd.get("rollback"):
        out["rollback"] = {k: _iso(v) for k, v in rollback.items() if v is not None}
    if sd.get("status") in FINISHED:
        out["finishedAt"] = _iso(sd.get("finishedAt"))
        out["stoppedAt"] = _iso(sd.get("stoppedAt"))
    return {k: v for k, v in out.items() if v is not None}


def record(known: Mapping[str, Any] | None, sd: Mapping[str, Any]) -> dict[str, Any]:
    """status.deployment after describing `sd`: current while in flight, last once finished.

    A merge patch of status.deployment that replaces it whole (members gone are sent as null): `last`
    carried over while another one is in flight, `current` removed once it has finished.
    """
    known = dict(known or {})
    seen = summary(sd)
    if sd.get("status") in FINISHED:
        return dict(merge_patch.replacing(known, {"last": seen}))
    wanted = {"current": seen} | ({"last": known["last"]} if known.get("last") else {})
    return dict(merge_patch.replacing(known, wanted))


def recorded_start(known: Mapping[str, Any] | None, service: Mapping[str, Any]) -> dict[str, Any] | None:
    """status.deployment when CreateService / UpdateService answered with a new deployment: its ARN as current
    (the status loop describes it from the next cycle); None when the answer names none or a known one."""
    arn = service.get("currentServiceDeployment")
    known = known or {}
    if not arn or arn in {(known.get(k) or {}).get("serviceDeploymentArn") for k in ("current", "last")}:
        return None
    wanted = {"current": {"serviceDeploymentArn": arn}} | ({"last": known["last"]} if known.get("last") else {})
    return dict(merge_patch.replacing(dict(known), wanted))


def _name(arn: str | None) -> str:
    """A hook's name: the Lambda function's (arn:aws:lambda:region:account:function:NAME[:qualifier])."""
    parts = (arn or "").split(":")
    return parts[6] if len(parts) > 6 and parts[5] == "function" else arn or ""


def _hook_name(hook: Mapping[str, Any]) -> str:
    if hook.get("targetType") == "PAUSE" or not hook.get("hookTargetArn"):
        return f"PAUSE hook {hook.get('hookId')}"
    return f"hook {_name(hook.get('hookTargetArn'))}"


def cause(deployment: Mapping[str, Any]) -> str:
    """Why a deployment rolled back, in a few words, then ECS's own."""
    said = str(deployment.get("statusReason") or (deployment.get("rollback") or {}).get("reason") or "")
    words = said.lower()
    hook = deployment.get("hook") or {}
    if hook.get("status") in FAILED_HOOK:
        what = f"{_hook_name(hook)} {str(hook['status']).lower().replace('_', ' ')} at {hook.get('lifecycleStage')}"
    elif "hook" in words:
        what = "a lifecycle hook failed"
    elif "alarm" in words:
        what = "an alarm went off"
    elif "circuit breaker" in words:
        what = "the circuit breaker tripped"
    elif "stopservicedeployment" in words or "stopped" in words:
        what = "stopped by hand (StopServiceDeployment)"
    else:
        what = "ECS rolled it back"
    return f"{what}" + (f" ({said})" if said else "")


def _label(deployment: Mapping[str, Any]) -> str:
    return _LABEL.get(str(deployment.get("strategy")), str(deployment.get("strategy") or "").lower())


def _progress(current: Mapping[str, Any]) -> Verdict:
    label, stage = _label(current), current.get("lifecycleStage") or "PENDING"
    hook = current.get("hook") or {}
    arn = str(current.get("serviceDeploymentArn") or "")
    if hook.get("status") == "AWAITING_ACTION":
        # Both as accepted: the annotation value `<arn>#<hookId>` (reconcile/deployment_request.py; a new value
        # for each pause, hence --overwrite), and the AWS CLI's own options for ContinueServiceDeployment.
        hook_id = hook.get("hookId")
        message = (
            f"{label} deployment paused at {stage}: {_hook_name(hook)} awaits ContinueServiceDeployment "
            f"(annotate this FargateService {CONTINUE_DEPLOYMENT_ANNOTATION}={annotation_value(arn, hook_id)} "
            f"with kubectl annotate --overwrite, or aws ecs continue-service-deployment "
            f"--service-deployment-arn {arn} --hook-id {hook_id})"
        )
        return Verdict(False, True, False, "DeploymentPaused", message)
    message = f"{label} deployment at {stage}"
    if hook.get("status") in WAITING_HOOK:
        message += f" ({_hook_name(hook)} {hook['status']})"
    weights = current.get("trafficWeights") or {}
    if weights.get("production") is not None:
        message += f", production traffic {weights['production']:g}% on the new revision"
    return Verdict(False, True, False, "DeploymentInProgress", message)


def judge(base: Verdict, deployment: Mapping[str, Any] | None, held: str | None = None) -> Verdict:
    """The service's verdict (reconcile/service.py `health`) with what its deployment says.

    `held`: the object's current Degraded reason; a finished rollback keeps naming its cause while
    the rollback verdict holds.
    """
    deployment = deployment or {}
    current, last = deployment.get("current") or {}, deployment.get("last") or {}
    if current.get("status") in ROLLING_BACK:
        # The same words as once it has finished: the status loop keeps a rollback's first message
        # (handlers/refresh.py _with_failed_task), which must not go stale.
        message = f"{_label(current)} deployment rolled back: {cause(current)}"
        return Verdict(False, False, True, "RolledBack", message + (f"; {base.message}" if base.degraded else ""))
    if current.get("status") and current.get("status") not in FINISHED:
        if base.degraded:
            return base
        if current.get("lifecycleStage") or current.get("strategy") not in (None, DEFAULT_STRATEGY):
            return _progress(current)
        return base if not base.ready else Verdict(False, True, False, "DeploymentInProgress", "rolling deployment")
    if last.get("status") in ROLLED_BACK and base.degraded and (base.reason == "RolledBack" or held == "RolledBack"):
        return replace(base, message=f"{_label(last)} deployment rolled back: {cause(last)}; {base.message}")
    return base
