"""The steps every kind's handler repeats around its controller: Events, the deletion prologue, verdicts.

The controllers (controllers/) decide and call ECS; a handler resolves references, calls one, and
records what it returns. What is the same for every kind lives here once.
"""

from __future__ import annotations

from typing import Any

import kopf

from fargate_operator import k8s
from fargate_operator.controllers.events import Say
from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.handlers.common import ecs_for_deletion
from fargate_operator.reconcile.drift.policy import OBSERVE, management_policy
from fargate_operator.runtime import Runtime, runtime_of


def events_of(body: Any) -> Say:
    """A controller's account of what it did, as Events on the object."""

    async def say(reason: str, message: str) -> None:
        await k8s.post_event(body, reason, message)

    return say


async def deletion_gateway(
    body: Any, spec: Any, status: Any, patch: kopf.Patch, retry: int, memo: Any, *, maybe_made: bool = False
) -> tuple[Runtime, EcsGateway] | None:
    """The runtime and gateway a deletion acts through; None when it has nothing to remove: an observe-only
    object never created or changed anything, and one refused a placement recorded nothing (common.py
    ecs_for_deletion, which also keeps retrying while something may exist)."""
    if management_policy(spec) == OBSERVE:
        return None
    rt = runtime_of(memo)
    gw = await ecs_for_deletion(rt, body, patch, status, retry, maybe_made=maybe_made)
    return None if gw is None else (rt, gw)
