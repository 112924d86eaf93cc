"""Deletion handlers leave a record of what they deleted, for the front doors to answer as ECS does after."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fargate_operator.models.kinds import CLUSTER, SERVICE, TASK, TASK_DEFINITION
from fargate_operator.reconcile.drift.policy import OBSERVE, management_policy
from fargate_operator.runtime import runtime_of
from fargate_operator.store import deleted

T = TypeVar("T")


def existed_in_ecs(kind: str, status: dict[str, Any]) -> bool:
    """Whether the object recorded an ECS resource of its own (else ECS never knew it: nothing to answer)."""
    if kind == CLUSTER:
        return bool(status.get("clusterArn"))
    if kind == SERVICE:
        return bool(status.get("serviceArn"))
    if kind == TASK:
        return bool(status.get("tasks"))
    if kind == TASK_DEFINITION:
        return bool(status.get("taskDefinitionArn") or status.get("retainedRevisions"))
    return False


def remembered(handler: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """Once the deletion handler is done (Kopf removes the finalizer next), record the object as deleted.

    Not when the ECS resource stays (deletionPolicy Retain, managementPolicy Observe): ECS still
    answers it as it is, it is just no longer this namespace's.
    """

    @functools.wraps(handler)  # the same name and qualname: Kopf's handler ids stay
    async def run(*args: Any, **kwargs: Any) -> T:
        result = await handler(*args, **kwargs)
        body, spec = kwargs["body"], kwargs["spec"]
        status = dict(body.get("status") or {})
        kept = management_policy(dict(spec)) == OBSERVE or spec.get("deletionPolicy") == "Retain"
        if not kept and existed_in_ecs(body["kind"], status):
            ns = body["metadata"]["namespace"]
            cached = runtime_of(kwargs["memo"]).watch_cache.get(deleted.CONFIGMAP, ns, deleted.NAME)
            await deleted.remember(body, cached)
        return result

    return run
