"""Tenancy checks the handlers make before an ECS write, and the re-check when the config changes.

Facts come, where they can, from objects the operator accepted (no ECS call): a
FargateCluster / FargateTaskDefinition of the same namespace with its status ARN set is
the namespace's own. That covers clusterRef / taskDefinitionRef and the names the REST and
MCP adapters write. Anything else named in spec is looked up in ECS (ecs/owners.py, kept
briefly). The verdicts are reconcile/tenancy.py's.

A refusal (TenancyRefused: Degraded condition + Event) is permanent until the spec changes,
or the config does: then `watch_config` annotates each refused object with the new config's
digest (TENANCY_RECHECK_ANNOTATION) and its handler runs again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any, NoReturn

from fargate_operator import k8s
from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.models.kinds import CLUSTER, SERVICE, TASK, TASK_DEFINITION, TENANCY_RECHECK_ANNOTATION
from fargate_operator.models.ownership import Owner
from fargate_operator.reconcile import task_definition as td_logic
from fargate_operator.reconcile import tenancy as logic
from fargate_operator.reconcile.cluster import cluster_name
from fargate_operator.reconcile.drift.policy import MANAGE, management_policy
from fargate_operator.runtime import Runtime

log = logging.getLogger(__name__)
POLL_SECONDS = 2.0
# After a config change (or the start), refused objects are looked for this long: a handler
# that read the old config may still be writing its refusal.
RECHECK_WINDOW_SECONDS = 60.0
_NO_OWNER = Owner("", "", "", "")


class TenancyRefused(Exception):
    """The namespace may not use what the spec names; the message says what, whose, and why."""


class NotYetAccepted(Exception):
    """The name belongs to an object of this namespace the operator has not reconciled yet."""


def _refuse(rt: Runtime, message: str) -> NoReturn:
    raise TenancyRefused(logic.stamp(message, rt.tenancy.policy))


def _objects(rt: Runtime, kind: str, namespace: str) -> Iterator[dict[str, Any]]:
    return (o for o in rt.watch_cache.items(kind) if o["metadata"]["namespace"] == namespace)


def _pending(obj: dict[str, Any]) -> bool:
    """Not reconciled yet and not refused: its ARN may come."""
    conds = obj.get("status", {}).get("conditions") or []
    return not any(c.get("type") == "Degraded" and c.get("status") == "True" for c in conds)


async def require_cluster(rt: Runtime, gw: EcsGateway, namespace: str, ref: str, *, implicit: bool = False) -> None:
    """Refuse unless `namespace` may use the cluster `ref` (a name or ARN; `implicit`: spec named none),
    looked up, when it must be, in the account and region of `gw`."""
    policy = rt.tenancy.policy
    name = logic.cluster_short_name(ref)
    # Objects that manage the cluster: an observe-only one mirrors any cluster it may read, and
    # makes none usable (reconcile/drift/policy.py).
    claims = [
        logic.ClusterClaim(o["metadata"]["name"], o.get("status", {}).get("clusterArn"), _pending(o))
        for o in _objects(rt, CLUSTER, namespace)
        if cluster_name(o) == name and management_policy(o.get("spec") or {}) == MANAGE
    ]
    if logic.cluster_known_usable(policy, namespace, ref, claims):
        return  # no ECS call
    decision = logic.cluster_decision(policy, namespace, ref, claims, await gw.owners.cluster(ref), implicit=implicit)
    if isinstance(decision, logic.NotYet):
        raise NotYetAccepted(decision.message)
    if decision:
        _refuse(rt, decision)


def _names_revision(ref: str, family: str, arn: str) -> bool:
    """Whether `ref` (family:revision or ARN) names the revision `arn` of `family`.

    Never a bare family: that means the latest ACTIVE revision (RunTask, CreateService: "If a
    revision isn't specified, the latest ACTIVE revision is used"), which may be another
    object's by the time ECS runs it -- the cache cannot tell.
    """
    return ref == arn or (ref.startswith(f"{family}:") and arn.endswith(f"/{ref}"))


async def require_task_definition(rt: Runtime, gw: EcsGateway, namespace: str, ref: str) -> str:
    """Refuse unless `namespace` may run the task definition `ref` (family, family:revision or ARN); returns
    what to send ECS: `ref`, or for a bare family not shared with the namespace, the very revision checked
    (the current one of the namespace's FargateTaskDefinition of that family, else the latest ACTIVE one as
    ECS described it) -- so what runs is what passed the check, whoever registers into the family later."""
    policy = rt.tenancy.policy
    family = logic.family_of(ref)
    if logic.family_shared(policy, namespace, family):
        return ref
    bare = ref == family
    claimed = [o for o in _objects(rt, TASK_DEFINITION, namespace) if (o.get("spec") or {}).get("family") == family]
    for obj in claimed:
        accepted = obj.get("status", {}).get("taskDefinitionArn")
        if accepted and (_names_revision(ref, family, accepted) or (bare and _current(obj))):
            await require_revision_roles(rt, gw, namespace, obj)
            return str(accepted)
    facts = await gw.owners.task_definition(ref)
    if facts is None and any(_pending(o) for o in claimed):
        name = claimed[0]["metadata"]["name"]
        raise NotYetAccepted(f"FargateTaskDefinition {namespace}/{name} has no registered revision yet")
    if message := logic.task_definition_refusal(policy, namespace, ref, facts):
        _refuse(rt, message)
    return facts.arn if bare and facts is not None else ref


def _current(obj: dict[str, Any]) -> bool:
    """Whether the object's current revision is still ACTIVE (not deregistered through the ECS API adapter)."""
    status = obj.get("status") or {}
    current = status.get("taskDefinitionArn")
    return not any(
        r.get("taskDefinitionArn") == current and r.get("status") == "INACTIVE"
        for r in status.get("retainedRevisions") or []
    )


async def require_revision_roles(rt: Runtime, gw: EcsGateway, namespace: str, obj: dict[str, Any]) -> None:
    """Refuse a FargateTaskDefinition's current revision if it passes roles the config no longer allows.

    Its roles are its spec's when the spec is what was registered (status.specHash), else
    (a newer spec not registered) ECS's for that revision.
    """
    arn: str = obj["status"]["taskDefinitionArn"]
    roles = _registered_roles(obj)
    if roles is None:
        facts = await gw.owners.task_definition(arn)
        roles = facts.roles if facts else ()
    problems = logic.role_refusals(rt.tenancy.policy, namespace, [(f"its {m}", r) for m, r in roles])
    if problems:
        who = f"FargateTaskDefinition {namespace}/{obj['metadata']['name']}"
        _refuse(rt, f"task definition {arn} ({who}) may not be used from namespace {namespace}: " + "; ".join(problems))


# (uid, generation, status.specHash) -> the roles of the registered revision, or None when the
# spec is not what was registered; a generation's spec never changes, so hashing it once will do.
_REGISTERED_ROLES: dict[tuple[str, int, str], tuple[tuple[str, str], ...] | None] = {}


def _registered_roles(obj: dict[str, Any]) -> tuple[tuple[str, str], ...] | None:
    meta, spec = obj["metadata"], obj.get("spec") or {}
    key = (meta.get("uid", ""), meta.get("generation") or 0, str(obj["status"].get("specHash")))
    if key not in _REGISTERED_ROLES:
        if len(_REGISTERED_ROLES) >= 4096:
            _REGISTERED_ROLES.clear()
        registered = obj["status"].get("specHash") == td_logic.register_request(dict(spec), _NO_OWNER)[1]
        roles = logic.roles_in(spec, ["RegisterTaskDefinition"]) if registered else None
        _REGISTERED_ROLES[key] = tuple((p.removeprefix("spec."), r) for p, r in roles) if roles is not None else None
    return _REGISTERED_ROLES[key]


def require_references(rt: Runtime, namespace: str, spec: Any, operations: Iterable[str]) -> None:
    """Refuse a spec that passes IAM roles or network and traffic references (subnets, security groups,
    load balancer and VPC Lattice targets, Cloud Map services, Service Connect namespaces) the
    namespace may not use. The front doors check the same before they write (service/lookups.py)."""
    if message := logic.reference_refusal(rt.tenancy.policy, namespace, dict(spec), operations):
        raise TenancyRefused(message)


# -- re-checks when the config changes ---------------------------------------------------------


def _in_unshared_cluster(rt: Runtime, obj: dict[str, Any], policy: logic.Policy) -> bool:
    """An admitted FargateService, or an observing FargateCluster, whose cluster the namespace manages through
    no FargateCluster and `policy` does not share (any more): its handler checks it again, so a revoked share
    does not stay usable through a clusterRef the object resolved under the old config."""
    meta, status = obj["metadata"], obj.get("status") or {}
    if (
        meta.get("deletionTimestamp")
        or (meta.get("annotations") or {}).get(TENANCY_RECHECK_ANNOTATION) == policy.digest
    ):
        return False
    if logic.refusal_of(obj) is not None:
        return False  # a refusal is looked at again by needs_recheck
    observing = management_policy(obj.get("spec") or {}) != MANAGE
    if obj.get("kind") == CLUSTER and not observing:
        return False
    ref = status.get("clusterArn")  # a FargateService's: the cluster as resolved, a name when spec named one
    if not ref:
        return False
    namespace, name = meta["namespace"], logic.cluster_short_name(ref)
    arn = ref if ref.startswith("arn:") else None
    for cluster in _objects(rt, CLUSTER, namespace):
        accepted = cluster.get("status", {}).get("clusterArn")
        managed = management_policy(cluster.get("spec") or {}) == MANAGE
        if managed and accepted and (arn == accepted or (arn is None and cluster_name(cluster) == name)):
            return False
    return not logic.cluster_shared(policy, namespace, name, arn)


async def recheck_refusals(rt: Runtime) -> int:
    """Annotate every object a changed config should look at again; returns how many."""
    policy = rt.tenancy.policy
    asked = 0
    for kind in (TASK_DEFINITION, SERVICE, TASK, CLUSTER):
        for obj in rt.watch_cache.items(kind):
            if logic.needs_recheck(obj, policy) or (
                kind in (SERVICE, CLUSTER) and _in_unshared_cluster(rt, obj, policy)
            ):
                meta = obj["metadata"]
                await k8s.patch_annotations(
                    kind, meta["namespace"], meta["name"], {TENANCY_RECHECK_ANNOTATION: policy.digest}
                )
                asked += 1
    if asked:
        log.info("tenancy config %s: %d object(s) checked again", policy.digest, asked)
    return asked


async def watch_config(rt: Runtime, poll: float = POLL_SECONDS) -> None:
    """Re-read the config every `poll` seconds; after a change (and after the start) re-check refusals."""
    window_end: float | None = None  # None: open a window once the watch cache is synced
    while True:
        try:
            if rt.tenancy.reload():
                window_end = None
            if rt.watch_cache.synced():
                now = time.monotonic()
                if window_end is None:
                    window_end = now + RECHECK_WINDOW_SECONDS
                if now < window_end:
                    await recheck_refusals(rt)
        except Exception:
            log.exception("tenancy config check failed")
        await asyncio.sleep(poll)
