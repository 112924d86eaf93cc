"""FargateCluster handlers: create or adopt, update, delete (blocked while services remain)."""

from __future__ import annotations

from typing import Any

import kopf

from fargate_operator import k8s
from fargate_operator.controllers.base import Verdict
from fargate_operator.ecs import owner_gate
from fargate_operator.ecs.errors import EcsError
from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.handlers import tenancy
from fargate_operator.handlers.common import (
    apply_health,
    creating,
    ecs_for_deletion,
    ecs_or_wait,
    fail,
    placed,
    set_conditions,
    up_to_date,
)
from fargate_operator.handlers.remembered import remembered
from fargate_operator.handlers.slots import bounded
from fargate_operator.models.kinds import GROUP, PLURALS, TENANCY_RECHECK_ANNOTATION, VERSION
from fargate_operator.reconcile import cluster as logic
from fargate_operator.reconcile.drift.policy import OBSERVE, management_policy
from fargate_operator.reconcile.ownership import OWNER_TAG_KEYS, AdoptionRefused, Owner
from fargate_operator.runtime import Runtime, runtime_of

PLURAL = PLURALS["FargateCluster"]
BLOCKING_CODES = {"ClusterContainsServicesException", "ClusterContainsTasksException", "UpdateInProgressException"}


def _live(clusters: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((c for c in clusters if c.get("status") in ("ACTIVE", "PROVISIONING")), None)


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
@kopf.on.update(GROUP, VERSION, PLURAL, field=("metadata", "annotations", TENANCY_RECHECK_ANNOTATION))
@bounded
async def reconcile_cluster(
    body: Any, spec: Any, status: Any, patch: kopf.Patch, retry: int, memo: Any, **_: Any
) -> None:
    rt = runtime_of(memo)
    owner, name = Owner.of(body), logic.cluster_name(body)
    gw = await ecs_or_wait(rt, body, patch, status, retry)
    if management_policy(spec) == OBSERVE:
        await _observe(rt, gw, body, name, status, patch, retry)
        return
    want = logic.desired_hash(spec)
    if status.get("specHash") == want and status.get("clusterArn"):
        up_to_date(body, patch, status)
        return
    try:
        if creating(body, spec, status, "clusterArn"):
            cluster = await _create(gw, body, spec, owner, name)  # one ECS call (its check is batched)
        else:
            cluster = await _describe_then_write(gw, body, spec, owner, name)
    except AdoptionRefused as err:
        await fail(body, patch, status, err, retry, permanent=True)
    except EcsError as err:
        await fail(body, patch, status, err, retry)
    patch.status.update(logic.status_from(cluster))
    placed(patch, cluster.get("clusterArn"), gw)
    patch.status["specHash"] = want
    active = cluster.get("status") == "ACTIVE"
    state = "Active" if active else "Provisioning"
    health = Verdict(active, not active, False, state, f"ECS cluster {cluster.get('status')}")
    apply_health(body, patch, status, health, drift_in_sync=rt.config.drift_detection)


async def _create(gw: EcsGateway, body: Any, spec: Any, owner: Owner, name: str) -> dict[str, Any]:
    """Look (batched), CreateCluster only when the name is free, then whose the cluster is (batched again).

    ECS's documentation does not say what CreateCluster does with its tags and settings when the
    name is already an ACTIVE cluster: it answers with that cluster, and whether it applies the
    request's tags is not written anywhere. Were it to, calling it first would let a namespace
    overwrite another's owner tags. So an existing cluster is judged from a DescribeClusters first
    and never receives a CreateCluster; the read rides in one batch with the other creations of
    the moment (ecs/coalesce.py), so the create path stays at one ECS write per object. After the
    create, a second batched read says whose the cluster is (a racing creation may have made it
    meanwhile, and the answer may carry the request's tags rather than the cluster's).
    """
    adoption = spec.get("adoptionPolicy", "CreateOnly")
    existing = await gw.cluster_batch.describe(name)
    if existing is not None:
        await _claim_existing(gw, body, owner, existing, adoption, name)
        return existing
    return await _create_absent(gw, body, spec, owner, name)


async def _create_absent(gw: EcsGateway, body: Any, spec: Any, owner: Owner, name: str) -> dict[str, Any]:
    """CreateCluster on a name a read just found free, then whose the cluster is."""
    adoption = spec.get("adoptionPolicy", "CreateOnly")
    created = (await gw.call("CreateCluster", **logic.create_request(dict(spec), name, owner)))["cluster"]
    described = await gw.cluster_batch.describe(name) or created
    if owner_gate.owned(owner, described) is None:  # a racing creation made it meanwhile
        await _claim_existing(gw, body, owner, described, adoption, name)
        return described
    await k8s.post_event(body, "Created", f"CreateCluster {created['clusterArn']}")
    return described


async def _claim_existing(
    gw: EcsGateway, body: Any, owner: Owner, cluster: dict[str, Any], adoption: str, name: str
) -> owner_gate.Owned:
    """A cluster that was there before this object's create: ours, adopted, or refused (AdoptionRefused)."""
    target = owner_gate.claimed(owner, cluster, adoption, f"ECS cluster {name}")
    if target.adopting:
        await gw.write("TagResource", target, tags=owner.tags())
        await k8s.post_event(body, "Adopted", f"adopted ECS cluster {cluster['clusterArn']}")
    return target


async def _describe_then_write(gw: EcsGateway, body: Any, spec: Any, owner: Owner, name: str) -> dict[str, Any]:
    """Updates and adoption: look first, adopt if asked, bring the cluster to spec (or create it)."""
    adoption = spec.get("adoptionPolicy", "CreateOnly")
    existing = _live(await gw.describe_clusters([name]))
    if existing is None:
        if adoption == "Adopt":
            raise AdoptionRefused(f"ECS cluster {name} does not exist and spec.adoptionPolicy is Adopt")
        return await _create_absent(gw, body, spec, owner, name)
    target = await _claim_existing(gw, body, owner, existing, adoption, name)
    calls = logic.update_calls(dict(spec), existing["clusterArn"], existing.get("tags"))
    for operation, params in calls:
        await gw.write(operation, target, **params)
    if calls:
        await k8s.post_event(body, "Updated", f"{', '.join(op for op, _ in calls)} on {existing['clusterArn']}")
        return _live(await gw.describe_clusters([name])) or existing
    return existing


async def _observe(
    rt: Runtime, gw: EcsGateway, body: Any, name: str, status: Any, patch: kopf.Patch, retry: int
) -> None:
    """managementPolicy Observe: never a write to ECS; the status loop mirrors the cluster by name.

    The namespace must be allowed to use the cluster (owned through one of its FargateClusters, or
    shared by the tenancy config): observing is reading, and another team's cluster is not ours
    to read. An observe-only object never makes a cluster usable for the namespace's services.
    """
    try:
        await tenancy.require_cluster(rt, gw, body["metadata"]["namespace"], name)
    except (tenancy.TenancyRefused, tenancy.NotYetAccepted) as err:
        await fail(body, patch, status, err, retry, permanent=True)
    except EcsError as err:
        await fail(body, patch, status, err, retry)
    if status.get("conditions") and status.get("clusterName") == name:
        up_to_date(body, patch, status)
        return
    patch.status["clusterName"] = name
    message = f"observing ECS cluster {name}; the operator writes nothing to ECS"
    set_conditions(
        patch,
        status,
        body["metadata"].get("generation"),
        ready=False,
        progressing=True,
        degraded=False,
        reason="Observing",
        message=message,
    )


@kopf.on.delete(GROUP, VERSION, PLURAL)
@bounded
@remembered
async def delete_cluster(body: Any, spec: Any, status: Any, patch: kopf.Patch, retry: int, memo: Any, **_: Any) -> None:
    rt = runtime_of(memo)
    if management_policy(spec) == OBSERVE:
        return  # never created, never changed: nothing to remove
    gw = await ecs_for_deletion(rt, body, patch, status, retry)
    if gw is None:
        return
    arn = status.get("clusterArn")
    try:
        # Ours by its owner tags, or nothing to do: never delete (or untag) another object's cluster,
        # even one this object recorded before ownership was checked on create.
        found = _live(await gw.describe_clusters([arn or logic.cluster_name(body)]))
        target = owner_gate.owned(Owner.of(body), found) if found else None
        if target is None:
            return
        arn = target.arn
        if spec.get("deletionPolicy") == "Retain":
            await gw.write("UntagResource", target, tagKeys=list(OWNER_TAG_KEYS))
            await k8s.post_event(body, "Retained", f"left ECS cluster {arn} in place (deletionPolicy Retain)")
            return
        listed = await gw.list_all("ListServices", "serviceArns", cluster=arn)
        # Only services that still exist block deletion (moto also lists INACTIVE ones).
        services = [
            s["serviceArn"]
            for s in await gw.describe_services(arn, listed)
            if s.get("status") in ("ACTIVE", "DRAINING")
        ]
        if services:
            names = ", ".join(s.rsplit("/", 1)[-1] for s in services[:10])
            raise EcsError(
                "DeleteCluster", "ClusterContainsServicesException", f"{len(services)} services remain: {names}", 400
            )
        await gw.write("DeleteCluster", target)
        await k8s.post_event(body, "Deleted", f"DeleteCluster {arn}")
    except EcsError as err:
        if err.code == "ClusterNotFoundException":
            return
        if err.code in BLOCKING_CODES:
            message = f"deletion blocked: {err.message}"
            apply_health(body, patch, status, (False, True, True, "DeletionBlocked", message))
            await k8s.post_event(body, "DeletionBlocked", message, warning=True)
            raise kopf.TemporaryError(message, delay=15) from err
        await fail(body, patch, status, err, retry, permanent=False)  # never give up: no orphans
