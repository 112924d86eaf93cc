"""Steering a FargateService's ECS service deployment: continue it past a PAUSE hook, or stop it (rollback).

Asked declaratively, as StopTask is: the annotation `continue-deployment` or `stop-deployment`
(models/kinds.py) names the serviceDeploymentArn it is meant for (reconcile/deployment_request.py).

observe: the service, owner-checked (DescribeServices with TAGS), and the deployment
(DescribeServiceDeployments). plan (pure): whether to call, or why not, as an Event. act: the
one call, through `Ecs.write` with the deployment as an Owned (ecs/owner_gate.py deployment_of),
so nothing but a deployment of the object's own service is ever continued or stopped.

Idempotent and restart-safe: every request is judged against what ECS reports now, so a repeated
request, a deployment already continued, stopping or finished, ends in an Event and no call; an
ECS refusal (it moved on between the describe and the call) is an Event too. Only a transient ECS
error is raised, for the handler to retry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fargate_operator.controllers.base import Ecs
from fargate_operator.ecs.errors import EcsError
from fargate_operator.ecs.owner_gate import Owned, deployment_of, owned
from fargate_operator.models.ownership import Owner
from fargate_operator.reconcile.deployment_request import (
    CONTINUE,
    FINISHED,
    STOP,
    STOPPING,
    Request,
    annotation_value,
    parse,
)

__all__ = ["CONTINUE", "STOP", "Plan", "Request", "Target", "annotation_value", "parse", "plan", "steer"]

# (reason, message, warning): an Event on the object; a refusal is a Warning.
Tell = Callable[[str, str, bool], Awaitable[None]]


@dataclass(frozen=True)
class Plan:
    """The one call to make (None: nothing), and the Event saying what was done or why not."""

    reason: str
    message: str
    warning: bool = False
    params: dict[str, Any] = field(default_factory=dict)
    call: str | None = None


def _awaiting(deployment: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [h for h in deployment.get("lifecycleHookDetails") or [] if h.get("status") == "AWAITING_ACTION"]


def plan(request: Request, service_arn: str | None, ours: bool, deployment: Mapping[str, Any] | None) -> Plan:
    """Pure: the request, the object's service (`ours`: it passed the owner check), and what ECS reports of the
    deployment (None: ECS does not know it) -> the call or the reason there is none."""
    arn = request.deployment_arn
    if not service_arn or not ours:
        return Plan("DeploymentNotSteered", f"{arn}: this object has no ECS service of its own to steer", True)
    if deployment is None:
        return Plan("DeploymentNotFound", f"{arn}: ECS knows no such service deployment; nothing done", True)
    if deployment.get("serviceArn") != service_arn:
        return Plan(
            "DeploymentNotThisService",
            f"{arn} deploys {deployment.get('serviceArn')}, not this object's service {service_arn}; nothing done",
            True,
        )
    status = str(deployment.get("status", ""))
    if status in FINISHED:
        return Plan("DeploymentAlreadyFinished", f"{arn} has finished ({status}); nothing to do")
    if status in STOPPING:
        return Plan("DeploymentAlreadyStopping", f"{arn} is already being stopped ({status}); nothing to do")
    if request.operation == STOP:
        return Plan(
            "DeploymentStopped", f"{arn}: StopServiceDeployment (ROLLBACK)", params={"stopType": "ROLLBACK"}, call=STOP
        )
    waiting = _awaiting(deployment)
    hook = next((h for h in waiting if h.get("hookId") == request.hook_id), None) if request.hook_id else None
    if request.hook_id and hook is None:
        return Plan("NothingToContinue", f"{arn}: hook {request.hook_id} is not awaiting action (continued already?)")
    hook = hook or (waiting[0] if waiting else None)
    if hook is None:
        return Plan("NothingToContinue", f"{arn} is not paused at a lifecycle hook ({status}); nothing to do")
    stage = hook.get("lifecycleStage") or deployment.get("lifecycleStage") or ""
    return Plan(
        "DeploymentContinued",
        f"{arn}: ContinueServiceDeployment at {stage} (hook {hook.get('hookId')})",
        params={"hookId": hook.get("hookId"), "action": "CONTINUE"},
        call=CONTINUE,
    )


@dataclass(frozen=True)
class Target:
    """The object's ECS service as its status records it, and the owner whose tag it must carry."""

    owner: Owner
    cluster: str | None
    service_arn: str | None


async def steer(ecs: Ecs, say: Tell, target: Target, request: Request, asked_by: str = "") -> Plan:
    """observe -> plan -> act; the Event is said here. Raises EcsError only when transient (retry): any other
    ECS error, in a describe or in the call, is an Event, so a request ECS refuses never loops."""
    suffix = f" ({asked_by})" if asked_by else ""
    decided = Plan("DeploymentNotSteered", f"{request.deployment_arn}: {request.operation}", True)
    try:
        decided, gated = await _observe_and_plan(ecs, target, request)
        if decided.call is not None and gated is not None:
            await ecs.write(decided.call, gated, **decided.params)
    except EcsError as err:
        if err.transient:
            raise
        decided = Plan("DeploymentNotSteered", f"{decided.message}: ECS refused: {err.code}: {err.message}", True)
    await say(decided.reason, decided.message + suffix, decided.warning)
    return decided


async def _observe_and_plan(ecs: Ecs, target: Target, request: Request) -> tuple[Plan, Owned | None]:
    """The plan, and the deployment as a gated target when it is one of the object's own service."""
    service, deployment = None, None
    if target.cluster and target.service_arn:
        found = await ecs.describe_services(target.cluster, [target.service_arn])
        service = next((owned(target.owner, s) for s in found if s.get("status") != "INACTIVE"), None)
        if service is not None:
            answer = await ecs.call("DescribeServiceDeployments", serviceDeploymentArns=[request.deployment_arn])
            deployment = next(iter(answer.get("serviceDeployments") or []), None)
    decided = plan(request, target.service_arn, service is not None, deployment)
    gated = deployment_of(service, deployment) if service is not None and deployment is not None else None
    return decided, gated
