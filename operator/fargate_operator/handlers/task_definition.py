"""FargateTaskDefinition handlers: read the object, call its controller (controllers/task_definition.py),
apply the verdict, roll dependent services.

The algorithms (the fast path, the family race, retiring and deleting revisions) are the
controller's. Here: what the watch cache says around the object (another object holding the
family, revisions in use), Kopf's retries, and the writes to other Kubernetes objects.
"""

from __future__ import annotations

from typing import Any

import kopf

from fargate_operator import k8s
from fargate_operator.controllers import task_definition as controller
from fargate_operator.ecs.errors import EcsError
from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.handlers import tenancy
from fargate_operator.handlers.common import (
    backoff,
    creating,
    ecs_or_wait,
    fail,
    set_conditions,
    up_to_date,
)
from fargate_operator.handlers.skeleton import (
    conditions_on_failure,
    deletes,
    deletion_gateway,
    events_of,
    reconciles,
    record,
    requested,
)
from fargate_operator.models.kinds import (
    DEREGISTER_ANNOTATION,
    GROUP,
    PLURALS,
    SERVICE,
    TASK_DEFINITION,
)
from fargate_operator.models.ownership import Claim, Owner, owner_named_in
from fargate_operator.reconcile import deregistration
from fargate_operator.reconcile.accounts import same_place
from fargate_operator.reconcile.tenancy import TASK_DEFINITION_OPERATIONS, family_of
from fargate_operator.runtime import Runtime, runtime_of
from fargate_operator.status import writer

PLURAL = PLURALS["FargateTaskDefinition"]
RESOLVED_ANNOTATION = f"{GROUP}/task-definition"


def recorded_elsewhere(rt: Runtime, owner: Owner, family: str, gw: EcsGateway) -> dict[str, Any] | None:
    """Another FargateTaskDefinition that recorded a revision of `family` where `gw` acts, from the watch cache.

    ECS forgets whose a family is once it has no ACTIVE revision, but an object that emptied its family
    (DeregisterTaskDefinition through the ECS API adapter) still holds it: registering into it would make
    the latest ACTIVE revision -- what a bare family runs -- another object's, and its deletion would act
    on it. So a family stays claimed while any object records a revision of it, ACTIVE or not.
    """
    for obj in rt.watch_cache.items(TASK_DEFINITION):
        if obj["metadata"].get("uid") == owner.uid:
            continue
        st = obj.get("status") or {}
        recorded = [
            st.get("taskDefinitionArn"),
            *(r.get("taskDefinitionArn") for r in st.get("retainedRevisions") or []),
        ]
        for arn in (str(a) for a in recorded if a):
            if family_of(arn) == family and _same_place(rt, obj, arn, gw):
                return obj
    return None


async def family_taken(rt: Runtime, gw: EcsGateway, obj: dict[str, Any]) -> str | None:
    """Why `obj` may not register into its family again (drift's re-register), or None: another object holds
    it (recorded_elsewhere), or its lowest owner-tagged ACTIVE revision is another object's."""
    owner, st = Owner.of(obj), obj.get("status") or {}
    family = str((obj.get("spec") or {})["family"])
    if (holder := recorded_elsewhere(rt, owner, family, gw)) is not None:
        return f"family {family} is held by FargateTaskDefinition {holder['metadata']['namespace']}/" + str(
            holder["metadata"]["name"]
        )
    known = {st.get("taskDefinitionArn"), *(r.get("taskDefinitionArn") for r in st.get("retainedRevisions") or [])}
    active = await controller.active_revisions(gw, family)
    verdict = await controller.family_verdict(gw, owner, active, {a for a in known if a})
    if verdict.claim is Claim.OTHER:
        return f"family {family} is owned by {owner_named_in(verdict.tags)} (its lowest revision, {verdict.revision})"
    return None


def _same_place(rt: Runtime, obj: dict[str, Any], arn: str, gw: EcsGateway) -> bool:
    """Whether `arn` (another object's revision) is in the account and region `gw` acts in."""
    return same_place(arn, obj.get("status") or {}, gw.region, gw.where.account_id)


async def roll_dependents(rt: Runtime, body: Any, arn: str) -> None:
    """Touch every FargateService that references this object, so it rolls to `arn`."""
    ns, name = body["metadata"]["namespace"], body["metadata"]["name"]
    for svc in rt.watch_cache.items(SERVICE):
        meta, spec = svc["metadata"], svc.get("spec", {})
        ref = spec.get("taskDefinitionRef") or {}
        current = (meta.get("annotations") or {}).get(RESOLVED_ANNOTATION)
        if meta["namespace"] == ns and ref.get("name") == name and current != arn:
            await k8s.patch_annotations(SERVICE, ns, meta["name"], {RESOLVED_ANNOTATION: arn})


def _first_attempt(body: Any, spec: Any, status: Any, retry: int) -> bool:
    """A new object's first try, creating only: nothing says an earlier attempt may have registered
    (a retry, or an operator that restarted, finds the family in ECS's list: families.py)."""
    return retry == 0 and creating(body, spec, status, "taskDefinitionArn")


def _desired(rt: Runtime, body: Any, status: Any, gw: EcsGateway, first_attempt: bool) -> controller.Desired:
    """What the controller needs beside the object: whether another object holds the family, what is in use."""
    owner, spec = Owner.of(body), dict(body.get("spec") or {})
    holder = recorded_elsewhere(rt, owner, str(spec["family"]), gw)
    retained = frozenset(str(a) for r in status.get("retainedRevisions") or [] if (a := r.get("taskDefinitionArn")))
    return controller.Desired(
        owner,
        spec,
        retained=retained,
        first_attempt=first_attempt,
        holder=_holder(holder) if holder is not None else None,
        in_use=rt.task_definitions_in_use,
    )


def _holder(obj: dict[str, Any]) -> controller.Holder:
    meta = obj["metadata"]
    return controller.Holder(meta["namespace"], meta["name"], bool(meta.get("deletionTimestamp")))


@reconciles(PLURAL)
async def reconcile_task_definition(
    body: Any, spec: Any, status: Any, patch: kopf.Patch, retry: int, memo: Any, **_: Any
) -> None:
    rt = runtime_of(memo)
    gw = await ecs_or_wait(rt, body, patch, status, retry)
    async with conditions_on_failure(body, patch, status, retry):
        # Before the up-to-date shortcut: a config that no longer allows the roles shows here.
        tenancy.require_references(rt, body["metadata"]["namespace"], spec, TASK_DEFINITION_OPERATIONS)
    if controller.up_to_date(controller.Desired(Owner.of(body), dict(spec)), status):
        up_to_date(body, patch, status)
        return
    if not rt.watch_cache.synced():
        # Which revisions services and tasks use is read from the cache: never judge it half-filled.
        raise kopf.TemporaryError("waiting for the watch cache to load (revisions in use)", delay=1)
    desired = _desired(rt, body, status, gw, _first_attempt(body, spec, status, retry))
    async with conditions_on_failure(body, patch, status, retry):
        registered = await controller.reconcile(gw, events_of(body), gw.families, desired)
    observed, verdict = registered.status(), registered.verdict
    record(body, patch, status, gw, observed, registered.arn, registered.digest, verdict, rt.config.drift_detection)
    await roll_dependents(rt, body, registered.arn)


@deletes(PLURAL)
async def delete_task_definition(
    body: Any, spec: Any, status: Any, patch: kopf.Patch, retry: int, memo: Any, **_: Any
) -> None:
    placed_in = await deletion_gateway(body, spec, status, patch, retry, memo)
    if placed_in is None:
        return
    rt, gw = placed_in
    desired = controller.Desired(Owner.of(body), dict(spec), in_use=rt.task_definitions_in_use)
    try:
        await controller.delete(gw, events_of(body), desired, recorded=bool(status.get("taskDefinitionArn")))
    except EcsError as err:
        await fail(body, patch, status, err, retry, permanent=False)  # never give up: no orphans


@requested(PLURAL, DEREGISTER_ANNOTATION)
async def deregister_requested(
    body: Any, status: Any, old: Any, new: Any, patch: kopf.Patch, retry: int, memo: Any, **_: Any
) -> None:
    """DeregisterTaskDefinition asked through the ECS API adapter: exactly the revisions named; the object stays."""
    rt = runtime_of(memo)
    gw = await ecs_or_wait(rt, body, patch, status, retry)
    current = dict(status)
    todo = deregistration.to_deregister(
        (old or {}).get(DEREGISTER_ANNOTATION), (new or {}).get(DEREGISTER_ANNOTATION), current
    )
    done: list[str] = []
    try:
        desired = controller.Desired(Owner.of(body), dict(body.get("spec") or {}))
        await controller.deregister_named(gw, desired, todo, done)
    except EcsError as err:
        await writer.event(body, "DeregisterFailed", str(err), warning=True)
        if err.transient:
            raise kopf.TemporaryError(str(err), delay=backoff(retry, err.retry_delay)) from err
    finally:
        if done:
            patch.status["retainedRevisions"] = deregistration.recorded(current, done)
    if not done:
        return
    await writer.event(body, deregistration.REASON, f"DeregisterTaskDefinition {', '.join(done)} (ECS API adapter)")
    if current.get("taskDefinitionArn") in done:
        set_conditions(
            patch,
            status,
            body["metadata"].get("generation"),
            ready=False,
            progressing=False,
            degraded=True,
            reason=deregistration.REASON,
            message=f"the current revision {current.get('revision')} was deregistered through the ECS API; "
            "change the spec to register a new revision",
        )
