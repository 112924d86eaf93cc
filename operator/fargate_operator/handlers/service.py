"""FargateService handlers: create or update from spec + resolved references; delete scales to 0 first."""

from __future__ import annotations

from typing import Any

import kopf

from fargate_operator.controllers import deployment_steering as steering
from fargate_operator.controllers import service as controller
from fargate_operator.controllers.base import Verdict
from fargate_operator.ecs.errors import EcsError
from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.handlers import tenancy
from fargate_operator.handlers.common import (
    Waiting,
    apply_health,
    cluster_has_default_strategy,
    creating,
    ecs_or_wait,
    fail,
    freshness,
    resolve_cluster,
    resolve_task_definition,
    up_to_date,
)
from fargate_operator.handlers.skeleton import (
    conditions_on_failure,
    deletes,
    deletion_gateway,
    events_of,
    record,
    steers,
)
from fargate_operator.handlers.slots import bounded
from fargate_operator.handlers.steering import steered
from fargate_operator.models.kinds import (
    CONTINUE_DEPLOYMENT_ANNOTATION,
    FORCE_DEPLOYMENT_ANNOTATION,
    GROUP,
    PLURALS,
    STOP_DEPLOYMENT_ANNOTATION,
    VERSION,
)
from fargate_operator.models.ownership import AdoptionRefused, Owner
from fargate_operator.reconcile import service as logic
from fargate_operator.reconcile.drift.policy import OBSERVE, management_policy
from fargate_operator.reconcile.task_definition import newer_revision
from fargate_operator.reconcile.tenancy import SERVICE_OPERATIONS
from fargate_operator.runtime import Runtime, runtime_of

PLURAL = PLURALS["FargateService"]
ROLL_ANNOTATION = f"{GROUP}/task-definition"  # set by the FargateTaskDefinition handler
FORCE_ANNOTATION = FORCE_DEPLOYMENT_ANNOTATION  # set by the ECS API adapter (UpdateService)


# No field filter on update: a changed annotation from a FargateTaskDefinition's
# new revision (see task_definition.roll_dependents), or the tenancy recheck
# (handlers/tenancy.py), must reconcile too.
@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL)
@bounded
async def reconcile_service(
    body: Any, spec: Any, status: Any, patch: kopf.Patch, retry: int, memo: Any, **_: Any
) -> None:
    rt = runtime_of(memo)
    gw = await ecs_or_wait(rt, body, patch, status, retry)
    if management_policy(spec) == OBSERVE:
        await _observe(rt, gw, body, spec, status, patch, retry)
        return
    if status.get("serviceArn") and not status.get("specHash"):
        # An ARN the Observe policy mirrored: not a service this object made or adopted, so not its record.
        patch.status["serviceArn"] = None
        status = {k: v for k, v in status.items() if k != "serviceArn"}
    async with conditions_on_failure(body, patch, status, retry):
        cluster, task_definition = await _references(rt, gw, body, spec)
    force = (body["metadata"].get("annotations") or {}).get(FORCE_ANNOTATION)
    # A bare family is sent as the revision the tenancy check admitted, but hashed as written: a restart
    # does not roll the service onto a newer revision nobody asked it to deploy.
    hashed = spec.get("taskDefinition") or task_definition
    want = logic.desired_hash(dict(spec), cluster, hashed) + (f"/{force}" if force else "")
    if status.get("specHash") == want and status.get("serviceArn"):
        up_to_date(body, patch, status)
        return
    desired = controller.Desired(
        dict(spec),
        Owner.of(body),
        cluster,
        task_definition,
        cluster_has_default_strategy(rt, body["metadata"]["namespace"], spec, cluster),
        force_deployment=bool(force) and status.get("specHash", "").split("/", 1)[-1] != force,
    )
    async with conditions_on_failure(body, patch, status, retry):
        try:
            first = creating(body, spec, status, "serviceArn")
            service = await controller.ensure(gw, desired, events_of(body), first=first)
        except AdoptionRefused:
            patch.status["serviceArn"] = None  # whatever was recorded, the service of that name is not this object's
            raise
    observed = controller.recorded(
        service, task_definition, status.get("desiredTaskDefinition"), status.get("deployment")
    )
    verdict = controller.verdict(service, observed.get("desiredTaskDefinition"))
    fresh = freshness(rt, gw)
    arn = service.get("serviceArn")
    record(body, patch, status, gw, observed, arn, want, verdict, rt.config.drift_detection, fresh=fresh)


async def _references(rt: Runtime, gw: EcsGateway, body: Any, spec: Any) -> tuple[str, str | None]:
    """The cluster and task definition the spec names, each one the namespace may use (else Waiting or
    TenancyRefused; EcsError looking up the owner of what spec names)."""
    ns = body["metadata"]["namespace"]
    cluster = await resolve_cluster(rt, gw, ns, spec)
    task_definition = await resolve_task_definition(rt, gw, ns, spec)
    tenancy.require_references(rt, ns, spec, SERVICE_OPERATIONS)
    rolled_to = (body["metadata"].get("annotations") or {}).get(ROLL_ANNOTATION)
    if spec.get("taskDefinitionRef") and rolled_to and task_definition and newer_revision(rolled_to, task_definition):
        # The FargateTaskDefinition announced a revision the watch cache does not show yet
        # (an annotation anyone may write: checked like a named one).
        await tenancy.require_task_definition(rt, gw, ns, rolled_to)
        task_definition = rolled_to
    return cluster, task_definition


async def _observe(
    rt: Runtime, gw: EcsGateway, body: Any, spec: Any, status: Any, patch: kopf.Patch, retry: int
) -> None:
    """managementPolicy Observe: no ECS call at all; the status loop mirrors the service by name.

    Only the cluster is resolved (a clusterRef from the watch cache; a named cluster must pass the
    tenancy check like any other, so a namespace observes only what it may use).
    """
    async with conditions_on_failure(body, patch, status, retry):
        cluster = await resolve_cluster(rt, gw, body["metadata"]["namespace"], spec)
    patch.status["clusterArn"] = cluster
    if status.get("specHash"):
        patch.status["specHash"] = None  # what it managed is only mirrored now: a later Manage looks again
    if status.get("clusterArn") == cluster and status.get("conditions"):
        up_to_date(body, patch, status)  # already mirrored: the status loop keeps it fresh
        return
    message = f"observing ECS service {spec['serviceName']} in {cluster}; the operator writes nothing to ECS"
    apply_health(body, patch, status, Verdict(False, True, False, "Observing", message))


@deletes(PLURAL)
async def delete_service(body: Any, spec: Any, status: Any, patch: kopf.Patch, retry: int, memo: Any, **_: Any) -> None:
    placed_in = await deletion_gateway(body, spec, status, patch, retry, memo)
    if placed_in is None:
        return
    rt, gw = placed_in
    arn, cluster = status.get("serviceArn"), status.get("clusterArn")
    try:
        if not arn or not cluster:
            # Created in ECS but never recorded (a crash, a lost answer)? Found by name, ours by owner tag.
            try:
                cluster = await resolve_cluster(rt, gw, body["metadata"]["namespace"], spec, check=False)
            except Waiting:
                return  # no cluster was ever resolved, so no service was created
        retain = spec.get("deletionPolicy") == "Retain"
        await controller.delete(gw, Owner.of(body), cluster, arn or spec["serviceName"], events_of(body), retain=retain)
    except EcsError as err:
        await fail(body, patch, status, err, retry, permanent=False)  # never give up: no orphans


@steers(PLURAL, CONTINUE_DEPLOYMENT_ANNOTATION)
async def continue_deployment(body: Any, spec: Any, status: Any, new: Any, retry: int, memo: Any, **_: Any) -> None:
    """ContinueServiceDeployment asked by the annotation (kubectl, or the adapters as the caller)."""
    await steered(steering.CONTINUE, CONTINUE_DEPLOYMENT_ANNOTATION, body, spec, status, new, retry, memo)


@steers(PLURAL, STOP_DEPLOYMENT_ANNOTATION)
async def stop_deployment(body: Any, spec: Any, status: Any, new: Any, retry: int, memo: Any, **_: Any) -> None:
    """StopServiceDeployment (ROLLBACK) asked by the annotation."""
    await steered(steering.STOP, STOP_DEPLOYMENT_ANNOTATION, body, spec, status, new, retry, memo)
