"""The glue of the deployment steering handlers (handlers/service.py): the object's facts in, Events out.

The algorithm is controllers/deployment_steering.py; here: the gateway of the object's account and
region, whether the operator may write to its service at all (not an observed one), and Kopf's retry
of a transient ECS error. No conditions: steering a deployment leaves the service's health to judge
to the status loop.
"""

from __future__ import annotations

from typing import Any

import kopf

from fargate_operator.controllers import deployment_steering as steering
from fargate_operator.ecs.errors import EcsError
from fargate_operator.handlers.common import Waiting, backoff, ecs_of
from fargate_operator.models.ownership import Owner
from fargate_operator.reconcile.accounts import PlacementRefused
from fargate_operator.reconcile.drift.policy import OBSERVE, management_policy
from fargate_operator.runtime import runtime_of
from fargate_operator.status import writer

SHOWN = 200  # characters of an annotation value an Event repeats


async def steered(operation: str, key: str, body: Any, spec: Any, status: Any, new: Any, retry: int, memo: Any) -> None:
    """The request annotation `key` now holds (`new`), steered by the controller; its Events are the record,
    and only a transient ECS error (or an account not placed yet) retries."""
    request = steering.parse(operation, new)
    if request is None:
        if new:
            await writer.event(
                body, "DeploymentNotSteered", f"{key}={str(new)[:SHOWN]!r} names no service deployment", warning=True
            )
        return
    try:
        gw = await ecs_of(runtime_of(memo), body)
    except Waiting as why:
        raise kopf.TemporaryError(str(why), delay=5) from None
    except PlacementRefused as err:
        await writer.event(body, "DeploymentNotSteered", str(err), warning=True)
        return
    observe = management_policy(spec) == OBSERVE  # the operator writes nothing to an observed service
    target = steering.Target(Owner.of(body), status.get("clusterArn"), None if observe else status.get("serviceArn"))

    async def tell(reason: str, message: str, warning: bool) -> None:
        await writer.event(body, reason, message, warning=warning)

    try:
        await steering.steer(gw, tell, target, request, f"annotation {key} seen")
    except EcsError as err:
        raise kopf.TemporaryError(
            f"{operation}: {err.code}: {err.message}", delay=backoff(retry, err.retry_delay)
        ) from err
