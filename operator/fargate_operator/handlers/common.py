"""What the handlers share: failure handling, reference resolution, backoff; conditions via status/writer.py."""

from __future__ import annotations

import random
from typing import Any, NoReturn

import kopf

from fargate_operator import k8s
from fargate_operator.controllers.base import Verdict
from fargate_operator.ecs.errors import EcsError
from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.handlers import tenancy
from fargate_operator.models.kinds import CLUSTER, TASK_DEFINITION
from fargate_operator.reconcile import conditions
from fargate_operator.reconcile.accounts import (
    NamespaceUnseen,
    PlacementRefused,
    PlacementWaiting,
    account_of_arn,
    region_of_arn,
)
from fargate_operator.reconcile.cluster import cluster_name
from fargate_operator.reconcile.tenancy import DEFAULT_CLUSTER
from fargate_operator.runtime import ARN_MEMBERS, Runtime
from fargate_operator.status import writer

MAX_DELAY = 300.0
# How long a handler waits for the watch cache to see its Namespace (applied together with it, usually a
# moment behind) before it says Waiting and lets Kopf retry.
NAMESPACE_WAIT = 2.0


def backoff(retry: int, base: float = 2.0) -> float:
    """Exponential backoff with full jitter, capped."""
    return random.uniform(base, min(MAX_DELAY, base * 2 ** min(retry, 10)))


def set_conditions(
    patch: kopf.Patch,
    status: Any,
    generation: int | None,
    *,
    ready: bool,
    progressing: bool,
    degraded: bool,
    reason: str,
    message: str,
) -> None:
    """A handler's verdict on `generation`, through the status writer (status/writer.py)."""
    writer.into_patch(patch, status, Verdict(ready, progressing, degraded, reason, message), generation=generation)


def apply_health(
    body: Any,
    patch: kopf.Patch,
    status: Any,
    verdict: Verdict,
    *,
    drift_in_sync: bool = False,
) -> None:
    """Conditions from a verdict of reconcile logic, through the status writer (status/writer.py).

    `drift_in_sync`: the handler has just brought ECS to this spec and drift detection is on
    (rt.config.drift_detection): the object's first drift verdict rides on this write.
    """
    drift = writer.drift_in_sync(body, status) if drift_in_sync else None
    writer.into_patch(patch, status, verdict, generation=body["metadata"].get("generation"), drift=drift)


def up_to_date(body: Any, patch: kopf.Patch, status: Any) -> None:
    """Nothing to change in ECS: still record that this generation was seen."""
    writer.into_patch(patch, status, None, generation=body["metadata"].get("generation"))


async def fail(
    body: Any, patch: kopf.Patch, status: Any, err: Exception, retry: int, *, permanent: bool | None = None
) -> NoReturn:
    """Record a failure in conditions and an Event, then tell Kopf whether to retry.

    ECS validation errors are permanent: the message goes to the Degraded
    condition and nothing retries until the spec changes. Throttling, 5xx and
    network errors retry with backoff and jitter.
    """
    generation = body["metadata"].get("generation")
    transient = err.transient if isinstance(err, EcsError) and permanent is None else not permanent
    message = err.message if isinstance(err, EcsError) else str(err)
    reason = err.code if isinstance(err, EcsError) else type(err).__name__
    if isinstance(err, EcsError):
        message = f"{err.operation}: {err.code}: {err.message}" + (f" [{err.where}]" if err.where else "")
    writer.into_patch(patch, status, Verdict(False, transient, not transient, reason, message), generation=generation)
    await writer.event(body, reason if not transient else "Retrying", message, warning=True)
    if transient:
        base = err.retry_delay if isinstance(err, EcsError) else 5.0
        raise kopf.TemporaryError(message, delay=backoff(retry, base))
    raise kopf.PermanentError(message)


class Waiting(Exception):
    """A referenced object is not ready yet; retry soon, it is not a failure."""


async def wait(body: Any, patch: kopf.Patch, status: Any, why: Waiting) -> NoReturn:
    apply_health(body, patch, status, Verdict(False, True, False, "Waiting", str(why)))
    raise kopf.TemporaryError(str(why), delay=5)


async def _referenced(rt: Runtime, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    return rt.watch_cache.get(kind, namespace, name) or await k8s.get_object(kind, namespace, name)


def _why_not_yet(obj: dict[str, Any]) -> str:
    """What holds a referenced object back, when the operator refused it (its Degraded condition)."""
    degraded = conditions.find(obj.get("status", {}).get("conditions"), conditions.DEGRADED)
    return f" ({degraded.get('reason')}: {degraded.get('message')})" if degraded.get("status") == "True" else ""


async def resolve_cluster(rt: Runtime, gw: EcsGateway, namespace: str, spec: Any, *, check: bool = True) -> str:
    """spec.cluster as written, or the ARN of the FargateCluster named by spec.clusterRef.

    A cluster named by spec.cluster (or by nothing: ECS's default) must be one the namespace
    may use (handlers/tenancy.py; `check=False` only to find what an object created before).
    A clusterRef resolves only to a FargateCluster the operator accepted (status.clusterArn), and
    the cluster it names passes the same check: a FargateCluster that only observes (or one whose
    sharing the config revoked) makes no cluster usable.
    """
    if spec.get("cluster") or not spec.get("clusterRef"):
        cluster = str(spec.get("cluster") or DEFAULT_CLUSTER)
        if check:
            try:
                await tenancy.require_cluster(rt, gw, namespace, cluster, implicit=not spec.get("cluster"))
            except tenancy.NotYetAccepted as why:
                raise Waiting(str(why)) from None
        return cluster
    ref = spec["clusterRef"]
    obj = await _referenced(rt, CLUSTER, namespace, ref["name"])
    if obj is None:
        raise Waiting(f"FargateCluster {namespace}/{ref['name']} (spec.clusterRef) does not exist")
    arn = obj.get("status", {}).get("clusterArn")
    if not arn:
        raise Waiting(f"FargateCluster {namespace}/{ref['name']} has no ECS cluster yet{_why_not_yet(obj)}")
    if check:
        same_place(gw, f"FargateCluster {namespace}/{ref['name']}", str(arn))
        try:
            await tenancy.require_cluster(rt, gw, namespace, str(arn))
        except tenancy.NotYetAccepted as why:
            raise Waiting(str(why)) from None
    return str(arn)


def cluster_has_default_strategy(rt: Runtime, namespace: str, spec: Any, cluster: str) -> bool:
    """Whether the cluster a spec resolved to declares a default capacity provider strategy.

    Known from the namespace's FargateCluster in the watch cache (by clusterRef, or by the
    resolved name or ARN); a cluster the namespace does not manage counts as having none, so
    an unplaced request goes to Fargate (reconcile/placement.py).
    """
    ref = (spec.get("clusterRef") or {}).get("name")
    candidates = (
        [rt.watch_cache.get(CLUSTER, namespace, ref)] if ref else rt.watch_cache.in_namespace(CLUSTER, namespace)
    )
    for obj in candidates:
        if obj is None:
            continue
        names = {obj.get("status", {}).get("clusterArn"), cluster_name(obj)}
        if ref or cluster in names:
            return bool(obj.get("spec", {}).get("defaultCapacityProviderStrategy"))
    return False


async def resolve_task_definition(
    rt: Runtime, gw: EcsGateway, namespace: str, spec: Any, *, check: bool = True
) -> str | None:
    """spec.taskDefinition as written (a bare family: the revision the tenancy check admitted), or the current
    revision ARN of spec.taskDefinitionRef.

    Either way the namespace must be allowed to run it (handlers/tenancy.py): a named one is
    its own or shared; a referenced one is a FargateTaskDefinition the operator accepted
    (status.taskDefinitionArn) whose roles the tenancy config still allows.
    """
    if spec.get("taskDefinition"):
        task_definition = str(spec["taskDefinition"])
        if check:
            try:
                task_definition = await tenancy.require_task_definition(rt, gw, namespace, task_definition)
            except tenancy.NotYetAccepted as why:
                raise Waiting(str(why)) from None
        return task_definition
    ref = spec.get("taskDefinitionRef")
    if not ref:
        return None
    obj = await _referenced(rt, TASK_DEFINITION, namespace, ref["name"])
    if obj is None:
        raise Waiting(f"FargateTaskDefinition {namespace}/{ref['name']} (spec.taskDefinitionRef) does not exist")
    arn = obj.get("status", {}).get("taskDefinitionArn")
    if not arn:
        raise Waiting(
            f"FargateTaskDefinition {namespace}/{ref['name']} has no registered revision yet{_why_not_yet(obj)}"
        )
    if check:
        same_place(gw, f"FargateTaskDefinition {namespace}/{ref['name']}", str(arn))
        await tenancy.require_revision_roles(rt, gw, namespace, obj)
    return str(arn)


def same_place(gw: EcsGateway, what: str, arn: str) -> None:
    """Refuse a reference to an ECS resource in another account or region than the one this object acts in."""
    account, region = account_of_arn(arn), region_of_arn(arn)
    if (region and gw.region and region != gw.region) or (
        account and gw.where.account_id and account != gw.where.account_id
    ):
        raise tenancy.TenancyRefused(
            f"{what} is in account {account}, region {region}, but this object acts in {gw.where}: a reference "
            "must be to the same account and region (set spec.region on both, or neither)"
        )


async def ecs_of(rt: Runtime, body: Any) -> EcsGateway:
    """The object's gateway (Runtime.ecs_for), with PlacementWaiting as Waiting; a Namespace the watch cache
    has not seen yet, whose labels decide the account, is waited for a moment first."""
    try:
        try:
            return rt.ecs_for(body)
        except NamespaceUnseen:
            await rt.accounts.wait_seen(body["metadata"]["namespace"], NAMESPACE_WAIT)
            return rt.ecs_for(body)
    except PlacementWaiting as why:
        raise Waiting(str(why)) from None


def gateway_if_placed(rt: Runtime, obj: dict[str, Any]) -> EcsGateway | None:
    """The object's gateway, or None while its namespace waits for (or is refused) an account: the status
    loop then leaves it alone (its handler's condition says why)."""
    try:
        return rt.ecs_for(obj)
    except (PlacementWaiting, PlacementRefused):
        return None


def placed(patch: kopf.Patch, arn: str | None, gw: EcsGateway) -> None:
    """status.accountId and status.region, as the ECS resource's ARN says, and the FargateAccount whose role
    made it (none for the operator's own identity): where the object's resources are, which later placements
    must match (reconcile/accounts.py placement)."""
    if arn:
        patch.status["accountId"] = account_of_arn(arn)
        patch.status["region"] = region_of_arn(arn)
        patch.status["fargateAccount"] = gw.where.account_name if gw.where.role_arn else None


async def ecs_or_wait(rt: Runtime, body: Any, patch: kopf.Patch, status: Any, retry: int) -> EcsGateway:
    """The object's gateway; else its condition says why (waiting for an account, or refused) and Kopf
    retries a wait (a refusal stands until the spec or the FargateAccount changes)."""
    try:
        return await ecs_of(rt, body)
    except Waiting as why:
        await wait(body, patch, status, why)
    except PlacementRefused as err:
        await fail(body, patch, status, err, retry, permanent=True)


def freshness(rt: Runtime, gw: EcsGateway) -> str:
    """Events or Polling: what keeps the status of objects acting through `gw` fresh (status.freshness)."""
    return rt.modes.freshness(gw.where.identity, gw.region)


def creating(body: Any, spec: Any, status: Any, arn_member: str) -> bool:
    """Whether a reconcile may create without looking first (one ECS call): the object recorded no resource,
    creates rather than adopts, and still asks for the spec it was first applied with. A later generation
    (a spec changed after a crash before the status patch) takes the describe-first path, which brings what
    the first attempt may have created to the new spec -- a create on an existing name changes nothing."""
    return (
        not status.get(arn_member)
        and spec.get("adoptionPolicy", "CreateOnly") == "CreateOnly"
        and body["metadata"].get("generation") == 1
    )


def made_something(status: Any) -> bool:
    """Whether the object ever recorded an ECS resource (an ARN, an account) -- or may have (a RunTask mark is
    the task handler's own concern)."""
    return any(status.get(m) for m in (*ARN_MEMBERS, "accountId", "tasks"))


async def ecs_for_deletion(
    rt: Runtime, body: Any, patch: kopf.Patch, status: Any, retry: int, *, maybe_made: bool = False
) -> EcsGateway | None:
    """The gateway a deletion acts through; None when there is nothing to delete: the object was refused a
    placement and never recorded a resource, nor (`maybe_made`) may have made one unrecorded (then a Warning
    Event says the finalizer goes). A deletion of something that may exist never gives up: a refusal then
    retries (nothing is orphaned)."""
    try:
        return await ecs_of(rt, body)
    except Waiting as why:
        await wait(body, patch, status, why)
    except PlacementRefused as err:
        if not maybe_made and not made_something(status):
            await writer.event(body, "NothingToDelete", f"no ECS resource was made: {err}", warning=True)
            return None
        await fail(body, patch, status, err, retry, permanent=False)
