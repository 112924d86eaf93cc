"""FargateService handlers: create or update from spec + resolved references; delete scales to 0 first."""

from __future__ import annotations

from typing import Any

import kopf

from fargate_operator import k8s
from fargate_operator.ecs import owner_gate
from fargate_operator.ecs.errors import EcsError
from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.handlers import tenancy
from fargate_operator.handlers.common import (
    Waiting,
    apply_health,
    cluster_has_default_strategy,
    creating,
    ecs_for_deletion,
    ecs_or_wait,
    fail,
    placed,
    resolve_cluster,
    resolve_task_definition,
    up_to_date,
    wait,
)
from fargate_operator.handlers.remembered import remembered
from fargate_operator.handlers.slots import bounded
from fargate_operator.models.kinds import FORCE_DEPLOYMENT_ANNOTATION, GROUP, PLURALS, VERSION
from fargate_operator.reconcile import service as logic
from fargate_operator.reconcile.cluster import tag_sync_calls
from fargate_operator.reconcile.drift.policy import OBSERVE, management_policy
from fargate_operator.reconcile.ownership import OWNER_TAG_KEYS, AdoptionRefused, Owner
from fargate_operator.reconcile.taskdefinition import newer_revision
from fargate_operator.reconcile.tenancy import SERVICE_OPERATIONS
from fargate_operator.runtime import Runtime, runtime_of

PLURAL = PLURALS["FargateService"]
ROLL_ANNOTATION = f"{GROUP}/task-definition"  # set by the FargateTaskDefinition handler
FORCE_ANNOTATION = FORCE_DEPLOYMENT_ANNOTATION  # set by the ECS API adapter (UpdateService)
GONE_CODES = {"ServiceNotFoundException", "ServiceNotActiveException", "ClusterNotFoundException"}


def _live(services: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((s for s in services if s.get("status") in ("ACTIVE", "DRAINING")), None)


# No field filter on update: a changed annotation from a FargateTaskDefinition's
# new revision (see taskdefinition.roll_dependents), or the tenancy recheck
# (handlers/tenancy.py), must reconcile too.
@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL)
@bounded
async def reconcile_service(
    body: Any, spec: Any, status: Any, patch: kopf.Patch, retry: int, memo: Any, **_: Any
) -> None:
    rt = runtime_of(memo)
    owner, ns = Owner.of(body), body["metadata"]["namespace"]
    gw = await ecs_or_wait(rt, body, patch, status, retry)
    if management_policy(spec) == OBSERVE:
        await _observe(rt, gw, body, spec, status, patch, retry)
        return
    if status.get("serviceArn") and not status.get("specHash"):
        # An ARN the Observe policy mirrored: not a service this object made or adopted, so not its record.
        patch.status["serviceArn"] = None
        status = {k: v for k, v in status.items() if k != "serviceArn"}
    try:
        cluster = await resolve_cluster(rt, gw, ns, spec)
        task_definition = await resolve_task_definition(rt, gw, ns, spec)
        tenancy.require_references(rt, ns, spec, SERVICE_OPERATIONS)
        rolled_to = (body["metadata"].get("annotations") or {}).get(ROLL_ANNOTATION)
        if (
            spec.get("taskDefinitionRef")
            and rolled_to
            and task_definition
            and newer_revision(rolled_to, task_definition)
        ):
            # The FargateTaskDefinition announced a revision the watch cache does not show yet
            # (an annotation anyone may write: checked like a named one).
            await tenancy.require_task_definition(rt, gw, ns, rolled_to)
            task_definition = rolled_to
    except Waiting as why:
        await wait(body, patch, status, why)
    except tenancy.TenancyRefused as err:
        await fail(body, patch, status, err, retry, permanent=True)
    except EcsError as err:  # looking up the owner of what spec names
        await fail(body, patch, status, err, retry)
    force = (body["metadata"].get("annotations") or {}).get(FORCE_ANNOTATION)
    # A bare family is sent as the revision the tenancy check admitted, but hashed as written: a restart
    # does not roll the service onto a newer revision nobody asked it to deploy.
    hashed = spec.get("taskDefinition") or task_definition
    want = logic.desired_hash(dict(spec), cluster, hashed) + (f"/{force}" if force else "")
    if status.get("specHash") == want and status.get("serviceArn"):
        up_to_date(body, patch, status)
        return
    try:
        service = None
        if creating(body, spec, status, "serviceArn"):
            try:
                service = await _create(rt, gw, body, spec, owner, cluster, task_definition)  # one ECS call
            except EcsError as err:
                if not logic.name_taken(err.code, err.message):
                    raise
                # The name is in use: whose it is, the careful path tells.
        if service is None:
            service = await _describe_then_write(rt, gw, body, spec, status, owner, cluster, task_definition, force)
    except AdoptionRefused as err:
        patch.status["serviceArn"] = None  # whatever was recorded, the service of that name is not this object's
        await fail(body, patch, status, err, retry, permanent=True)
    except EcsError as err:
        await fail(body, patch, status, err, retry)
    observed = logic.status_from(service)
    # What a circuit-breaker rollback is measured against, until the next deploy (see logic.health).
    desired = logic.desired_revision(service, task_definition) or status.get("desiredTaskDefinition")
    if desired:
        observed["desiredTaskDefinition"] = desired
    patch.status.update(observed)
    placed(patch, service.get("serviceArn"), gw)
    patch.status["specHash"] = want
    apply_health(body, patch, status, logic.health(service, desired), drift_in_sync=rt.config.drift_detection)


async def _create(
    rt: Runtime,
    gw: EcsGateway,
    body: Any,
    spec: Any,
    owner: Owner,
    cluster: str,
    task_definition: str | None,
) -> dict[str, Any]:
    """CreateService with clientToken = the object's uid: a retry after a crash or a lost answer returns
    the same service rather than a second one."""
    ns = body["metadata"]["namespace"]
    request = logic.create_request(
        dict(spec), owner, cluster, task_definition, cluster_has_default_strategy(rt, ns, spec, cluster)
    )
    service: dict[str, Any] = (await gw.call("CreateService", **request))["service"]
    await k8s.post_event(body, "Created", f"CreateService {service['serviceArn']} ({task_definition})")
    return service


async def _describe_then_write(
    rt: Runtime,
    gw: EcsGateway,
    body: Any,
    spec: Any,
    status: Any,
    owner: Owner,
    cluster: str,
    task_definition: str | None,
    force: str | None,
) -> dict[str, Any]:
    """The careful path (updates, adoption, a name in use): whose is the ECS service, then update or create."""
    name = spec["serviceName"]
    existing = _live(await gw.describe_services(cluster, [name]))
    if existing is None:
        if spec.get("adoptionPolicy") == "Adopt":
            raise AdoptionRefused(f"ECS service {name} does not exist and spec.adoptionPolicy is Adopt")
        return await _create(rt, gw, body, spec, owner, cluster, task_definition)
    if existing.get("status") == "DRAINING":
        raise EcsError("CreateService", "ServiceDraining", f"ECS service {name} is still draining", None)
    target = owner_gate.claimed(owner, existing, spec.get("adoptionPolicy", "CreateOnly"), f"ECS service {name}")
    if target.adopting:
        await gw.write("TagResource", target, tags=owner.tags())
        await k8s.post_event(body, "Adopted", f"adopted ECS service {existing['serviceArn']}")
    request = logic.update_request(dict(spec), cluster, task_definition)
    if force and status.get("specHash", "").split("/", 1)[-1] != force:
        request["forceNewDeployment"] = True
    service: dict[str, Any] = (await gw.write("UpdateService", target, **request))["service"]
    for operation, params in tag_sync_calls(service["serviceArn"], spec.get("tags"), existing.get("tags")):
        await gw.write(operation, target, **params)
    await k8s.post_event(body, "Updated", f"UpdateService {service['serviceArn']} ({task_definition})")
    return service


async def _observe(
    rt: Runtime, gw: EcsGateway, body: Any, spec: Any, status: Any, patch: kopf.Patch, retry: int
) -> None:
    """managementPolicy Observe: no ECS call at all; the status loop mirrors the service by name.

    Only the cluster is resolved (a clusterRef from the watch cache; a named cluster must pass the
    tenancy check like any other, so a namespace observes only what it may use).
    """
    try:
        cluster = await resolve_cluster(rt, gw, body["metadata"]["namespace"], spec)
    except Waiting as why:
        await wait(body, patch, status, why)
    except tenancy.TenancyRefused as err:
        await fail(body, patch, status, err, retry, permanent=True)
    except EcsError as err:  # looking up the owner of a named cluster
        await fail(body, patch, status, err, retry)
    patch.status["clusterArn"] = cluster
    if status.get("specHash"):
        patch.status["specHash"] = None  # what it managed is only mirrored now: a later Manage looks again
    if status.get("clusterArn") == cluster and status.get("conditions"):
        up_to_date(body, patch, status)  # already mirrored: the status loop keeps it fresh
        return
    message = f"observing ECS service {spec['serviceName']} in {cluster}; the operator writes nothing to ECS"
    apply_health(body, patch, status, (False, True, False, "Observing", message))


@kopf.on.delete(GROUP, VERSION, PLURAL)
@bounded
@remembered
async def delete_service(body: Any, spec: Any, status: Any, patch: kopf.Patch, retry: int, memo: Any, **_: Any) -> None:
    rt = runtime_of(memo)
    if management_policy(spec) == OBSERVE:
        return  # never created, never changed: nothing to remove
    gw = await ecs_for_deletion(rt, body, patch, status, retry)
    if gw is None:
        return
    arn, cluster = status.get("serviceArn"), status.get("clusterArn")
    try:
        if not arn or not cluster:
            # Created in ECS but never recorded (a crash, a lost answer)? Found by name, ours by owner tag.
            try:
                cluster = await resolve_cluster(rt, gw, body["metadata"]["namespace"], spec, check=False)
            except Waiting:
                return  # no cluster was ever resolved, so no service was created
        # Ours by its owner tags, or nothing to do: a recorded ARN names whatever service now has that name
        # (ARNs derive from names; status may hold an ARN only observed, never owned).
        found = _live(await gw.describe_services(cluster, [arn or spec["serviceName"]]))
        target = owner_gate.owned(Owner.of(body), found) if found else None
        if target is None:
            if found is not None:
                why = f"ECS service {found['serviceArn']} is not this object's (owner tags): left alone"
                await k8s.post_event(body, "NotOwned", why)
            return
        arn = target.arn
        if spec.get("deletionPolicy") == "Retain":
            await gw.write("UntagResource", target, tagKeys=list(OWNER_TAG_KEYS))
            await k8s.post_event(body, "Retained", f"left ECS service {arn} running (deletionPolicy Retain)")
            return
        await gw.write("UpdateService", target, desiredCount=0)
        await gw.write("DeleteService", target, force=True)
        await k8s.post_event(body, "Deleted", f"scaled to 0 and DeleteService {arn}")
    except EcsError as err:
        if err.code in GONE_CODES:
            return
        await fail(body, patch, status, err, retry, permanent=False)  # never give up: no orphans
