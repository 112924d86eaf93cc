"""The status loop's share of deployments: DescribeServiceDeployments for the services whose deployment is in flight.

Per cluster, after DescribeServices: one DescribeServiceDeployments per 20 deployments in flight
(reconcile/deployment.py `to_describe`: the deployment DescribeServices names, while status does not
record it as finished or a rollout is IN_PROGRESS); no call at all when every service is steady.
A failure (e.g. an IAM policy without ecs:DescribeServiceDeployments, throttling) is logged and the services'
status goes on without it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from fargate_operator.ecs.errors import EcsError
from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.reconcile import deployment as deployment_logic
from fargate_operator.reconcile import merge_patch

log = logging.getLogger(__name__)

Described = Mapping[str, dict[str, Any]]  # serviceDeploymentArn -> ServiceDeployment


async def in_flight(gw: EcsGateway, pairs: Iterable[tuple[dict[str, Any], dict[str, Any] | None]]) -> Described:
    """The ServiceDeployments in flight of these (object, described service) pairs, by ARN."""
    wanted = [
        arn
        for obj, svc in pairs
        if (arn := deployment_logic.to_describe(svc, (obj.get("status") or {}).get("deployment")))
    ]
    if not wanted:
        return {}
    try:
        found = await gw.describe_service_deployments(wanted)
    except EcsError as err:
        log.warning("DescribeServiceDeployments (%d deployments): %s", len(wanted), err)
        return {}
    return {sd["serviceDeploymentArn"]: sd for sd in found}


def observed(obj: Mapping[str, Any], svc: Mapping[str, Any] | None, described: Described) -> dict[str, Any] | None:
    """status.deployment as this cycle saw it (None: nothing new to record)."""
    known = (obj.get("status") or {}).get("deployment")
    sd = described.get(deployment_logic.to_describe(svc, known) or "")
    return deployment_logic.record(known, sd) if sd else None


def after(status: Mapping[str, Any], seen: dict[str, Any] | None) -> dict[str, Any] | None:
    """status.deployment as it stands once `seen` (a merge patch, see observed) is written: what the verdict reads."""
    known = status.get("deployment")
    if seen is None:
        return dict(known) if known else None
    stored: dict[str, Any] = merge_patch.applied(known or {}, seen)
    return stored
