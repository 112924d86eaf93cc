"""FargateCluster: look first, then create, adopt or update; delete only an owned cluster with no services left.

The handler (handlers/cluster.py) records status; this module decides and makes the ECS calls.
Every write on an existing cluster names it by the `Owned` the owner check of what was seen gave.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fargate_operator.controllers.base import Ecs, Verdict
from fargate_operator.controllers.events import Say
from fargate_operator.ecs import owner_gate
from fargate_operator.ecs.errors import EcsError
from fargate_operator.models.ownership import OWNER_TAG_KEYS, AdoptionRefused, Owner
from fargate_operator.reconcile import cluster as logic
from fargate_operator.reconcile.cluster import Call

LIVE = ("ACTIVE", "PROVISIONING")
# What keeps a cluster from being deleted for now: the deletion retries until they are gone.
BLOCKING_CODES = frozenset(
    {"ClusterContainsServicesException", "ClusterContainsTasksException", "UpdateInProgressException"}
)
BLOCKED_NAMES_SHOWN = 10
BLOCKED_RETRY_SECONDS = 15.0
TASKS_STOPPING_RETRY_SECONDS = 5.0

Look = Callable[[str], Awaitable[dict[str, Any] | None]]  # one live cluster by name (the gateway batches these)


@dataclass(frozen=True)
class Desired:
    spec: Mapping[str, Any]
    owner: Owner
    name: str  # spec.clusterName, else the object's name (reconcile/cluster.py cluster_name)

    @property
    def adoption(self) -> str:
        return str(self.spec.get("adoptionPolicy", "CreateOnly"))


@dataclass(frozen=True)
class Plan:
    """Either a CreateCluster request, or the writes (in order) on the cluster `target` names."""

    create: dict[str, Any] | None = None
    target: owner_gate.Owned | None = None
    writes: list[Call] = field(default_factory=list)
    seen: dict[str, Any] | None = None  # the cluster as observed, when there is one


def live(clusters: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The cluster in use of several answered (an INACTIVE one of the same name is history)."""
    return next((c for c in clusters if c.get("status") in LIVE), None)


async def observe(ecs: Ecs, key: str) -> dict[str, Any] | None:
    """The live ECS cluster named `key` (a name or ARN), with its tags; None if there is none."""
    return live(await ecs.describe_clusters([key]))


def claim(desired: Desired, existing: dict[str, Any]) -> owner_gate.Owned:
    """A cluster that is there: ours, adopted (tag it first), or AdoptionRefused."""
    return owner_gate.claimed(desired.owner, existing, desired.adoption, f"ECS cluster {desired.name}")


def plan(desired: Desired, observed: dict[str, Any] | None) -> Plan:
    """Create when no live cluster has the name; else claim it and bring it to spec."""
    if observed is None:
        if desired.adoption == "Adopt":
            raise AdoptionRefused(f"ECS cluster {desired.name} does not exist and spec.adoptionPolicy is Adopt")
        return Plan(create=logic.create_request(dict(desired.spec), desired.name, desired.owner))
    target = claim(desired, observed)
    adopt: list[Call] = [("TagResource", {"tags": desired.owner.tags()})] if target.adopting else []
    updates = logic.update_calls(dict(desired.spec), target.arn, observed.get("tags"))
    return Plan(target=target, writes=adopt + updates, seen=observed)


async def _adopt_if_asked(ecs: Ecs, target: owner_gate.Owned, desired: Desired, say: Say) -> None:
    if target.adopting:
        await ecs.write("TagResource", target, tags=desired.owner.tags())
        await say("Adopted", f"adopted ECS cluster {target.arn}")


async def _create(ecs: Ecs, desired: Desired, request: dict[str, Any], say: Say, look: Look) -> dict[str, Any]:
    """CreateCluster on a name a read just found free, then whose the cluster is: a racing creation may
    have made it meanwhile, and the answer may carry the request's tags rather than the cluster's."""
    created = (await ecs.call("CreateCluster", **request))["cluster"]
    described = await look(desired.name) or created
    if owner_gate.owned(desired.owner, described) is None:  # a racing creation made it meanwhile
        await _adopt_if_asked(ecs, claim(desired, described), desired, say)
        return described
    await say("Created", f"CreateCluster {created['clusterArn']}")
    return described


async def act(ecs: Ecs, desired: Desired, planned: Plan, say: Say, look: Look) -> dict[str, Any]:
    """Make the planned calls; the cluster as ECS last described it."""
    if planned.target is None:
        return await _create(ecs, desired, planned.create or {}, say, look)
    writes = planned.writes
    if planned.target.adopting:  # the TagResource that makes it ours comes first
        writes = writes[1:]
        await _adopt_if_asked(ecs, planned.target, desired, say)
    for operation, params in writes:
        await ecs.write(operation, planned.target, **params)
    seen = planned.seen or {}
    if not writes:
        return seen
    await say("Updated", f"{', '.join(op for op, _ in writes)} on {planned.target.arn}")
    return await observe(ecs, desired.name) or seen


async def ensure(ecs: Ecs, desired: Desired, say: Say, *, first: bool, look: Look | None = None) -> dict[str, Any]:
    """Bring ECS to `desired`, always looking before a CreateCluster.

    ECS's documentation does not say what CreateCluster does with its tags and settings when the
    name is already an ACTIVE cluster: it answers with that cluster, and whether it applies the
    request's tags is not written anywhere. Were it to, calling it first would let a namespace
    overwrite another's owner tags. So an existing cluster is judged from a DescribeClusters first
    and never receives a CreateCluster. `first` (nothing recorded, CreateOnly, first generation):
    the read is `look` (the gateway batches it with the other creations of the moment, ecs/coalesce.py,
    so the create path stays at one ECS write per object), and a cluster found is only claimed.
    Otherwise (updates, adoption) the cluster is described, claimed and brought to spec.
    """
    look = look or (lambda name: observe(ecs, name))
    if first:
        existing = await look(desired.name)
        if existing is None:
            return await _create(ecs, desired, plan(desired, None).create or {}, say, look)
        await _adopt_if_asked(ecs, claim(desired, existing), desired, say)
        return existing
    return await act(ecs, desired, plan(desired, await observe(ecs, desired.name)), say, look)


def verdict(cluster: dict[str, Any]) -> Verdict:
    """Ready when ECS says ACTIVE; Progressing in any other state."""
    active = cluster.get("status") == "ACTIVE"
    state = "Active" if active else str(cluster.get("status")).title()
    return Verdict(active, not active, False, state, f"ECS cluster {cluster.get('status')}")


def made_verdict(cluster: dict[str, Any]) -> Verdict:
    """The verdict right after a create or update: anything but ACTIVE is still provisioning."""
    active = cluster.get("status") == "ACTIVE"
    reason = "Active" if active else "Provisioning"
    return Verdict(active, not active, False, reason, f"ECS cluster {cluster.get('status')}")


async def delete(ecs: Ecs, owner: Owner, key: str, say: Say, *, retain: bool = False) -> None:
    """Delete the object's cluster `key` (its recorded ARN, else its name) once no service is left in it
    (EcsError ClusterContainsServicesException until then); `retain` only takes the owner tags off.

    Never deletes (or untags) a cluster that is not the object's by its owner tags, even one it recorded
    before ownership was checked on create. One already gone is done.
    """
    try:
        found = await observe(ecs, key)
        target = owner_gate.owned(owner, found) if found else None
        if target is None:
            return
        if retain:
            await ecs.write("UntagResource", target, tagKeys=list(OWNER_TAG_KEYS))
            await say("Retained", f"left ECS cluster {target.arn} in place (deletionPolicy Retain)")
            return
        listed = await ecs.list_all("ListServices", "serviceArns", cluster=target.arn)
        # Only services that still exist block deletion (moto also lists INACTIVE ones).
        described = await ecs.describe_services(target.arn, listed)
        services = [s["serviceArn"] for s in described if s.get("status") in ("ACTIVE", "DRAINING")]
        if services:
            names = ", ".join(s.rsplit("/", 1)[-1] for s in services[:BLOCKED_NAMES_SHOWN])
            raise EcsError(
                "DeleteCluster", "ClusterContainsServicesException", f"{len(services)} services remain: {names}", 400
            )
        await ecs.write("DeleteCluster", target)
        await say("Deleted", f"DeleteCluster {target.arn}")
    except EcsError as err:
        if err.code != "ClusterNotFoundException":
            raise


def blocked(err: EcsError) -> bool:
    """Whether a deletion failed only because something still runs in the cluster (retried, not a failure)."""
    return err.code in BLOCKING_CODES


def blocked_retry_delay(err: EcsError) -> float:
    """When to try a blocked deletion again: soon when only tasks remain, since ECS stops those on its own
    (a deleted service's or a stopped FargateTask's, within their stop timeout); later while services
    remain, which wait for someone to delete them."""
    return TASKS_STOPPING_RETRY_SECONDS if err.code == "ClusterContainsTasksException" else BLOCKED_RETRY_SECONDS
