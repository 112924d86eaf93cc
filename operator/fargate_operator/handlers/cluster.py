"""FargateCluster handlers: create or adopt, update, delete (blocked while services remain)."""

from __future__ import annotations

from typing import Any

import kopf

from fargate_operator import k8s
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
from fargate_operator.models.kinds import GROUP, PLURALS, VERSION
from fargate_operator.reconcile import cluster as logic
from fargate_operator.reconcile.drift.policy import OBSERVE, management_policy
from fargate_operator.reconcile.ownership import OWNER_TAG_KEYS, AdoptionRefused, Claim, Owner, check_claim, claim
from fargate_operator.runtime import Runtime, runtime_of

PLURAL = PLURALS["FargateCluster"]
BLOCKING_CODES = {"ClusterContainsServicesException", "ClusterContainsTasksException", "UpdateInProgressException"}


def _live(clusters: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((c for c in clusters if c.get("status") in ("ACTIVE", "PROVISIONING")), None)


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
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
    set_conditions(
        patch,
        status,
        body["metadata"].get("generation"),
        ready=active,
        progressing=not active,
        degraded=False,
        reason="Active" if active else "Provisioning",
        message=f"ECS cluster {cluster.get('status')}",
    )


async def _create(gw: EcsGateway, body: Any, spec: Any, owner: Owner, name: str) -> dict[str, Any]:
    """CreateCluster, then whose the cluster is, from a DescribeClusters shared with other creations.

    ECS answers CreateCluster on a name that exists with that cluster, unchanged, not with an
    error -- so calling it first changes nothing that is not ours. Whether the cluster is ours is
    read from its tags as DescribeClusters reports them (the answer may carry the request's tags
    rather than the cluster's); that read rides in one batch with the other creations of the
    moment (ecs/coalesce.py). Not ours and not adoptable: refused, as before.
    """
    adoption = spec.get("adoptionPolicy", "CreateOnly")
    created = (await gw.call("CreateCluster", **logic.create_request(dict(spec), name, owner)))["cluster"]
    described = await gw.cluster_batch.describe(name) or created
    if check_claim(owner, described.get("tags"), adoption, f"ECS cluster {name}"):
        await gw.call("TagResource", resourceArn=described["clusterArn"], tags=owner.tags())
        await k8s.post_event(body, "Adopted", f"adopted ECS cluster {described['clusterArn']}")
    else:
        await k8s.post_event(body, "Created", f"CreateCluster {created['clusterArn']}")
    return described


async def _describe_then_write(gw: EcsGateway, body: Any, spec: Any, owner: Owner, name: str) -> dict[str, Any]:
    """Updates and adoption: look first, adopt if asked, bring the cluster to spec (or create it)."""
    adoption = spec.get("adoptionPolicy", "CreateOnly")
    existing = _live(await gw.describe_clusters([name]))
    if existing is None:
        if adoption == "Adopt":
            raise AdoptionRefused(f"ECS cluster {name} does not exist and spec.adoptionPolicy is Adopt")
        return await _create(gw, body, spec, owner, name)
    if check_claim(owner, existing.get("tags"), adoption, f"ECS cluster {name}"):
        await gw.call("TagResource", resourceArn=existing["clusterArn"], tags=owner.tags())
        await k8s.post_event(body, "Adopted", f"adopted ECS cluster {existing['clusterArn']}")
    calls = logic.update_calls(dict(spec), existing["clusterArn"], existing.get("tags"))
    for operation, params in calls:
        await gw.call(operation, **params)
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
        if found is None or claim(Owner.of(body), found.get("tags")) is not Claim.OURS:
            return
        arn = found["clusterArn"]
        if spec.get("deletionPolicy") == "Retain":
            await gw.call("UntagResource", resourceArn=arn, tagKeys=list(OWNER_TAG_KEYS))
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
        await gw.call("DeleteCluster", cluster=arn)
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
