"""FargateCluster handlers: create or adopt, update, delete (blocked while services remain).

The algorithms are controllers/cluster.py's; these record status and conditions.
"""

from __future__ import annotations

from typing import Any

import kopf

from fargate_operator.controllers import cluster as controller
from fargate_operator.controllers.base import Verdict
from fargate_operator.ecs.errors import EcsError
from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.handlers import tenancy
from fargate_operator.handlers.common import (
    apply_health,
    creating,
    ecs_or_wait,
    fail,
    freshness,
    up_to_date,
)
from fargate_operator.handlers.skeleton import (
    conditions_on_failure,
    deletes,
    deletion_gateway,
    events_of,
    reconciles,
    record,
)
from fargate_operator.models.kinds import PLURALS
from fargate_operator.models.ownership import Owner
from fargate_operator.reconcile import cluster as logic
from fargate_operator.reconcile import conditions
from fargate_operator.reconcile.drift.policy import OBSERVE, management_policy
from fargate_operator.runtime import Runtime, runtime_of
from fargate_operator.status import writer

PLURAL = PLURALS["FargateCluster"]
# The Observe check's refusals stand until the spec or the config changes; that includes a cluster the
# namespace's FargateCluster was not accepted for yet (as the handler always treated it).
OBSERVE_REFUSALS = (tenancy.TenancyRefused, tenancy.NotYetAccepted)


@reconciles(PLURAL)
async def reconcile_cluster(
    body: Any, spec: Any, status: Any, patch: kopf.Patch, retry: int, memo: Any, **_: Any
) -> None:
    rt = runtime_of(memo)
    name = logic.cluster_name(body)
    gw = await ecs_or_wait(rt, body, patch, status, retry)
    if management_policy(spec) == OBSERVE:
        await _observe(rt, gw, body, name, status, patch, retry)
        return
    want = logic.desired_hash(spec)
    if status.get("specHash") == want and status.get("clusterArn"):
        up_to_date(body, patch, status)
        return
    desired = controller.Desired(dict(spec), Owner.of(body), name)
    first = creating(body, spec, status, "clusterArn")
    async with conditions_on_failure(body, patch, status, retry):
        cluster = await controller.ensure(gw, desired, events_of(body), first=first, look=gw.cluster_batch.describe)
    observed = logic.status_from(cluster)
    verdict = controller.made_verdict(cluster)
    fresh = freshness(rt, gw)
    arn = cluster.get("clusterArn")
    record(body, patch, status, gw, observed, arn, want, verdict, rt.config.drift_detection, fresh=fresh)


async def _observe(
    rt: Runtime, gw: EcsGateway, body: Any, name: str, status: Any, patch: kopf.Patch, retry: int
) -> None:
    """managementPolicy Observe: never a write to ECS; the status loop mirrors the cluster by name.

    The namespace must be allowed to use the cluster (owned through one of its FargateClusters, or
    shared by the tenancy config): observing is reading, and another team's cluster is not ours
    to read. An observe-only object never makes a cluster usable for the namespace's services.
    """
    async with conditions_on_failure(body, patch, status, retry, refusals=OBSERVE_REFUSALS):
        await tenancy.require_cluster(rt, gw, body["metadata"]["namespace"], name)
    if status.get("conditions") and status.get("clusterName") == name:
        up_to_date(body, patch, status)
        return
    patch.status["clusterName"] = name
    message = f"observing ECS cluster {name}; the operator writes nothing to ECS"
    apply_health(body, patch, status, Verdict(False, True, False, "Observing", message))


@deletes(PLURAL)
async def delete_cluster(body: Any, spec: Any, status: Any, patch: kopf.Patch, retry: int, memo: Any, **_: Any) -> None:
    placed_in = await deletion_gateway(body, spec, status, patch, retry, memo)
    if placed_in is None:
        return
    _rt, gw = placed_in
    key = status.get("clusterArn") or logic.cluster_name(body)
    try:
        await controller.delete(gw, Owner.of(body), key, events_of(body), retain=spec.get("deletionPolicy") == "Retain")
    except EcsError as err:
        if controller.blocked(err):
            message = f"deletion blocked: {err.message}"
            said = conditions.find(status.get("conditions"), conditions.DEGRADED)
            apply_health(body, patch, status, Verdict(False, True, True, "DeletionBlocked", message))
            if (said.get("reason"), said.get("message")) != ("DeletionBlocked", message):
                await writer.event(body, "DeletionBlocked", message, warning=True)  # once, not every retry
            raise kopf.TemporaryError(message, delay=controller.blocked_retry_delay(err)) from err
        await fail(body, patch, status, err, retry, permanent=False)  # never give up: no orphans
