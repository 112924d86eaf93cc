"""Drift detection and correction on the status loop's describes; logic in reconcile/drift/.

handlers/refresh.py hands each FargateService and FargateCluster it described to `service` /
`cluster` here, with no call of its own: detection is free. Task definitions are checked by
`task_definitions` every `drift_task_definition_every` status cycles with ListTaskDefinitions
(ACTIVE, 100 revisions a page) and one DescribeTaskDefinition per revision found missing.

A correction is the request the handler itself would make, limited to what drifted: UpdateService
/ UpdateCluster / PutClusterCapacityProviders with the drifted members only, TagResource /
UntagResource, CreateService / CreateCluster for what was deleted, RegisterTaskDefinition for a
current revision deregistered or deleted. Drift is only judged on an object the operator has
converged (its handler saw this generation and left no Degraded of its own), so a spec change in
flight is never taken for drift.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from prometheus_client import Counter
from pydantic import ValidationError

from fargate_operator.ecs import owner_gate
from fargate_operator.ecs.acting import ACTING_FOR, acting_for
from fargate_operator.ecs.errors import FENCED_CODE, EcsError
from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.handlers import common, tenancy
from fargate_operator.handlers.task_definition import RESOLVED_ANNOTATION, family_taken, roll_dependents
from fargate_operator.models.kinds import CLUSTER, DEREGISTER_ANNOTATION, SERVICE, TASK_DEFINITION
from fargate_operator.models.ownership import Owner
from fargate_operator.models.verdict import Verdict
from fargate_operator.reconcile import cluster as cluster_logic
from fargate_operator.reconcile import service as service_logic
from fargate_operator.reconcile import task_definition as td_logic
from fargate_operator.reconcile import tenancy as tenancy_logic
from fargate_operator.reconcile.drift import policy, verdict
from fargate_operator.reconcile.drift.compare import (
    STATUS,
    TAGS,
    Difference,
    cluster_desired,
    cluster_differences,
    corrective,
    service_desired,
    service_differences,
)
from fargate_operator.reconcile.drift.normalize import CLUSTER_RULES, SERVICE_RULES
from fargate_operator.runtime import Runtime
from fargate_operator.status import writer
from fargate_operator.status.precedence import Source, Update, handler_degraded_holds

LIST_PAGE_SIZE = 100  # ListTaskDefinitions.maxResults: up to 100 a page when not given

log = logging.getLogger(__name__)

DETECTED = Counter(
    "fargate_operator_drift_detected_total",
    "Members found changed in ECS behind the operator's back (once per episode)",
    ["kind", "field"],
)
CORRECTED = Counter(
    "fargate_operator_drift_corrected_total", "Drifted members the operator set back", ["kind", "field"]
)


def converged(obj: dict[str, Any]) -> bool:
    """The handler has applied this generation and holds no verdict of its own against it."""
    status = obj.get("status") or {}
    if status.get("observedGeneration") != obj["metadata"].get("generation"):
        return False
    if (status.get("kopf") or {}).get("progress"):
        return False  # a handler is mid-way (retrying): it owns the object now
    resolved = (obj["metadata"].get("annotations") or {}).get(RESOLVED_ANNOTATION)
    if obj.get("kind") == SERVICE and resolved and resolved != status.get("desiredTaskDefinition"):
        # Its FargateTaskDefinition has a new revision the service handler is rolling to (an annotation,
        # not a new generation): ECS may already run it before the handler's status says so, and
        # "correcting" that would roll the service back.
        return False
    # A handler's Degraded is its verdict on the spec: drift is not judged against a spec not applied.
    return not handler_degraded_holds(status)


def enabled(rt: Runtime, obj: dict[str, Any]) -> bool:
    spec = obj.get("spec") or {}
    return (
        rt.config.drift_detection
        and policy.management_policy(spec) == policy.MANAGE
        and not obj["metadata"].get("deletionTimestamp")
        and converged(obj)
    )


def _budget(rt: Runtime) -> policy.Budget:
    return policy.Budget(base_delay=rt.config.status_interval)


def _still_current(rt: Runtime, obj: dict[str, Any]) -> bool:
    """Whether the watch cache still holds the version the loop described against.

    The loop's snapshot is taken before its (paced) describes; a spec change, a new revision
    announced to a service, or a handler's write may have come since, and ECS may already show
    it. Drift judged on the old snapshot would undo the user's newest change, so it waits a cycle.
    """
    meta = obj["metadata"]
    current = rt.watch_cache.get(obj["kind"], meta["namespace"], meta["name"])
    return current is not None and current["metadata"].get("resourceVersion") == meta.get("resourceVersion")


async def _announce(obj: dict[str, Any], found: verdict.Verdict, corrected: list[Difference]) -> None:
    kind = obj["kind"]
    for name in found.new_fields:
        DETECTED.labels(kind, name).inc()
    for diff in corrected:
        CORRECTED.labels(kind, diff.field).inc()
    if found.event is not None:
        reason, message = found.event
        await writer.event(obj, reason, message, warning=reason in verdict.WARNING_REASONS)


async def _judge(
    rt: Runtime,
    obj: dict[str, Any],
    update: Update,
    diffs: list[Difference],
    correct: Any,
    *,
    defer: bool = False,
) -> Update:
    """Decide, correct when due (`correct(diffs)` makes the ECS calls), announce; `update` with the verdict
    (and what a correction remade), for the status writer to record (status/precedence.py)."""
    spec, previous = obj.get("spec") or {}, (obj.get("status") or {}).get("drift")
    now, generation = time.time(), obj["metadata"].get("generation")
    chosen = policy.drift_policy(spec)
    decision = None
    error = None
    if diffs and not _still_current(rt, obj):
        return update  # spec, annotations or status moved since the loop's snapshot: judge next cycle
    if diffs:
        record = policy.Corrections.of(previous)
        decision = policy.decide(chosen, record, generation, now, _budget(rt))
        if defer and decision.action is policy.Action.CORRECT:
            decision = policy.Decision(policy.Action.DEFERRED, record)
        if decision.action is policy.Action.CORRECT:
            try:
                update = replace(update, observed={**update.observed, **(await correct(diffs) or {})})
            except EcsError as err:
                if err.code == FENCED_CODE:
                    # This replica lost the Lease mid-cycle: not a failed correction (that would spend
                    # the new leader's budget and post a Warning); nothing is recorded, the leader judges.
                    return update
                error = f"{err.operation}: {err.code}: {err.message}"
    found = verdict.verdict(diffs, decision, previous, now, policy=chosen, error=error)
    await _announce(obj, found, diffs if decision and decision.action is policy.Action.CORRECT and not error else [])
    return replace(update, drift=found)


def _ours(obj: dict[str, Any], found: dict[str, Any], operation: str, what: str) -> owner_gate.Owned:
    """The drifted resource as the owner gate admits it; another's (its name reused since) is never corrected."""
    target = owner_gate.owned(Owner.of(obj), found)
    if target is None or target.adopting:
        raise EcsError(operation, "NotOwned", f"{what} does not carry this object's owner tags: not corrected", 400)
    return target


# --- FargateService -------------------------------------------------------------------------------


async def service(
    rt: Runtime,
    gw: EcsGateway,
    obj: dict[str, Any],
    svc: dict[str, Any] | None,
    health: Verdict,
    update: Update,
) -> Update:
    """`update` with the drift verdict on `svc` (None: ECS reports the service MISSING); corrects."""
    obj_status = obj.get("status") or {}
    deployed = obj_status.get("desiredTaskDefinition")
    try:
        diffs = service_differences(dict(obj.get("spec") or {}), deployed, svc)
    except ValidationError as err:  # an answer not in botocore's shape: say so, judge nothing
        log.warning(
            "drift: %s/%s: ECS's answer does not parse: %s", obj["metadata"]["namespace"], obj["metadata"]["name"], err
        )
        return update
    # A circuit-breaker rollback is ECS's own doing: RolledBack / RolloutFailed say so, and nothing
    # is corrected meanwhile (the deployment's revision would be pushed back onto the failed one).
    rolling_back = health.reason in service_logic.FAILED_ROLLOUT_REASONS
    if rolling_back:
        diffs = [d for d in diffs if d.field != "taskDefinition"]
    draining = svc is not None and svc.get("status") == "DRAINING"

    async def correct(found: list[Difference]) -> dict[str, Any]:
        return await _correct_service(rt, gw, obj, svc, found)

    return await _judge(rt, obj, update, diffs, correct, defer=rolling_back or draining)


async def _correct_service(
    rt: Runtime, gw: EcsGateway, obj: dict[str, Any], svc: dict[str, Any] | None, diffs: list[Difference]
) -> dict[str, Any]:
    spec, st = dict(obj.get("spec") or {}), obj.get("status") or {}
    cluster, name = st["clusterArn"], spec["serviceName"]
    # Correcting writes spec's values again: not ones a changed tenancy config no longer allows.
    try:
        tenancy.require_references(rt, obj["metadata"]["namespace"], spec, tenancy_logic.SERVICE_OPERATIONS)
    except tenancy.TenancyRefused as why:
        raise EcsError("UpdateService", "TenancyRefused", str(why), None) from None
    if any(d.field == STATUS for d in diffs):
        return await _recreate_service(rt, gw, obj, spec, cluster)
    assert svc is not None
    target = _ours(obj, svc, "UpdateService", f"ECS service {svc.get('serviceArn')}")
    fields = {d.field for d in diffs}
    desired = service_desired(spec, st.get("desiredTaskDefinition"))
    request = {"cluster": cluster, "service": name} | corrective(desired, fields, SERVICE_RULES)
    calls = []
    if len(request) > 2:
        await gw.write("UpdateService", target, **request)
        calls.append("UpdateService")
    if TAGS in fields:
        for operation, params in cluster_logic.tag_sync_calls(svc["serviceArn"], spec.get("tags"), svc.get("tags")):
            await gw.write(operation, target, **params)
            calls.append(operation)
    log.info("drift corrected on %s/%s: %s (%s)", obj["metadata"]["namespace"], name, sorted(fields), calls)
    return {}


async def _recreate_service(
    rt: Runtime, gw: EcsGateway, obj: dict[str, Any], spec: dict[str, Any], cluster: str
) -> dict[str, Any]:
    """CreateService again, with the revision the spec resolves to now (the handler's own request)."""
    ns = obj["metadata"]["namespace"]
    try:
        task_definition = await common.resolve_task_definition(rt, gw, ns, spec)
    except (common.Waiting, tenancy.TenancyRefused) as why:
        raise EcsError("CreateService", type(why).__name__, str(why), None) from None
    owner = Owner.of(obj)
    request = service_logic.create_request(
        spec, owner, cluster, task_definition, common.cluster_has_default_strategy(rt, ns, spec, cluster)
    )
    # A fresh idempotency token: the object's uid was spent on the service that was deleted, and ECS
    # answers a repeated token with what it made then (model: CreateServiceRequest.clientToken).
    count = policy.Corrections.of((obj.get("status") or {}).get("drift")).count
    request["clientToken"] = str(uuid.uuid5(uuid.UUID(owner.uid), f"recreate/{time.time_ns()}/{count}"))
    created = (await gw.call("CreateService", **request))["service"]
    observed = service_logic.status_from(created)
    desired = service_logic.desired_revision(created, task_definition)
    if desired:
        observed["desiredTaskDefinition"] = desired
    return observed


# --- FargateCluster -------------------------------------------------------------------------------

_UPDATE_CLUSTER = ("settings", "configuration", "serviceConnectDefaults")
_CAPACITY = ("capacityProviders", "defaultCapacityProviderStrategy")


async def cluster(
    rt: Runtime, gw: EcsGateway, obj: dict[str, Any], found: dict[str, Any] | None, update: Update
) -> Update:
    """`update` with the drift verdict on the ECS cluster `found` (None: MISSING); corrects."""
    spec = dict(obj.get("spec") or {})
    try:
        diffs = cluster_differences(spec, found)
    except ValidationError as err:  # an answer not in botocore's shape: say so, judge nothing
        log.warning(
            "drift: %s/%s: ECS's answer does not parse: %s", obj["metadata"]["namespace"], obj["metadata"]["name"], err
        )
        return update

    async def correct(drifted: list[Difference]) -> dict[str, Any]:
        fields = {d.field for d in drifted}
        if STATUS in fields:
            name = cluster_logic.cluster_name(obj)
            created = await gw.call("CreateCluster", **cluster_logic.create_request(spec, name, Owner.of(obj)))
            return cluster_logic.status_from(created["cluster"])
        assert found is not None
        target = _ours(obj, found, "UpdateCluster", f"ECS cluster {found.get('clusterArn')}")
        for operation, params in cluster_logic.update_calls(spec, found["clusterArn"], found.get("tags")):
            if operation == "UpdateCluster":
                drifted_here = fields & set(_UPDATE_CLUSTER)
                params = {"cluster": params["cluster"]} | corrective(cluster_desired(spec), drifted_here, CLUSTER_RULES)
            elif operation == "PutClusterCapacityProviders":
                drifted_here = fields & set(_CAPACITY)
            else:  # TagResource / UntagResource
                drifted_here = fields & {TAGS}
            if drifted_here:
                await gw.write(operation, target, **params)
        return {}

    # A cluster ECS is still making or removing is left alone until it settles.
    settling = found is not None and found.get("status") in ("PROVISIONING", "DEPROVISIONING")
    return await _judge(rt, obj, update, diffs, correct, defer=settling)


# --- FargateTaskDefinition ------------------------------------------------------------------------


async def task_definitions(rt: Runtime, write: Any, where: Callable[[EcsGateway], bool] | None = None) -> None:
    """Is each FargateTaskDefinition's current revision still ACTIVE? Re-register (or report) if not.

    Revisions are immutable (model: RegisterTaskDefinition, each call makes revision N+1), so only
    their status can change behind the operator's back. One ListTaskDefinitions(status=ACTIVE)
    walk for all of them (100 ARNs a page), then one DescribeTaskDefinition per current revision
    the walk does not show, to tell a deregistered revision (INACTIVE) from a deleted one
    (DELETE_IN_PROGRESS, or no longer describable) and from one the list does not show yet (ECS
    is eventually consistent). `write(obj, update)` is the status loop's conditional patch (status/writer.py).
    `where`: only the gateways (accounts and regions) it accepts (None: all).
    """
    by_gateway: dict[EcsGateway, list[dict[str, Any]]] = {}
    for o in rt.watch_cache.items(TASK_DEFINITION):
        if (
            enabled(rt, o)
            and (o.get("status") or {}).get("taskDefinitionArn")
            and (gw := common.gateway_if_placed(rt, o))
        ):
            by_gateway.setdefault(gw, []).append(o)
    for gw, objs in by_gateway.items():
        if where is not None and not where(gw):
            continue
        try:
            await _task_definitions_of(rt, gw, objs, write)
        except EcsError as err:  # this account and region only: the others go on
            log.warning("drift: task definitions in %s: %s", gw.where, err)


async def _task_definitions_of(rt: Runtime, gw: EcsGateway, objs: list[dict[str, Any]], write: Any) -> None:
    ACTING_FOR.set(None)
    started = time.monotonic()
    active = set(await gw.list_all("ListTaskDefinitions", "taskDefinitionArns", status="ACTIVE"))
    # The same walk tells which families are taken: new FargateTaskDefinitions need not walk again (counted in
    # pages of families, as a ListTaskDefinitionFamilies walk would be).
    families = {tenancy_logic.family_of(a) for a in active}
    gw.families.note_walk(families, started, -(-len(families) // LIST_PAGE_SIZE) or 1)
    for obj in objs:
        current = obj["status"]["taskDefinitionArn"]
        if current in (obj["metadata"].get("annotations") or {}).get(DEREGISTER_ANNOTATION, ""):
            continue  # deregistered on request (the ECS API adapter): the handler says so, it is no drift
        acting_for(obj)
        state = "ACTIVE" if current in active else await _revision_state(gw, current)
        seen = f"{td_logic.family_revision(current)} {state}"
        diffs = [] if state == "ACTIVE" else [Difference(STATUS, "ACTIVE", seen)]

        async def correct(_: list[Difference], obj: dict[str, Any] = obj) -> dict[str, Any]:
            return await _reregister(rt, gw, obj)

        await write(obj, await _judge(rt, obj, Update(Source.LOOP), diffs, correct))


async def _revision_state(gw: EcsGateway, arn: str) -> str:
    try:
        resp = await gw.call("DescribeTaskDefinition", taskDefinition=arn)
    except EcsError as err:
        if err.code == "ClientException" and not err.transient:
            return "DELETED"  # ECS: "Unable to describe task definition."
        raise
    return str((resp.get("taskDefinition") or {}).get("status") or "DELETED")


async def _reregister(rt: Runtime, gw: EcsGateway, obj: dict[str, Any]) -> dict[str, Any]:
    """RegisterTaskDefinition from the spec (revision N+1), then roll the services that reference it."""
    spec, st = dict(obj.get("spec") or {}), obj.get("status") or {}
    if why := await family_taken(rt, gw, obj):
        # The family's latest ACTIVE revision is what a bare family runs: never make it this object's again.
        raise EcsError("RegisterTaskDefinition", "FamilyTaken", f"{why}: not registered again", 400)
    request, _digest = td_logic.register_request(spec, Owner.of(obj))
    registered = (await gw.call("RegisterTaskDefinition", **request))["taskDefinition"]
    gw.families.note_registered(spec["family"])
    arn, gone = registered["taskDefinitionArn"], st.get("taskDefinitionArn")
    kept = [r for r in st.get("retainedRevisions") or [] if r.get("taskDefinitionArn") != gone]
    await roll_dependents(rt, obj, arn)
    return {
        "revision": registered["revision"],
        "taskDefinitionArn": arn,
        "retainedRevisions": [
            {"revision": registered["revision"], "taskDefinitionArn": arn, "status": "ACTIVE"},
            *kept,
        ],
    }


__all__ = ["CLUSTER", "SERVICE", "cluster", "converged", "enabled", "service", "task_definitions"]
