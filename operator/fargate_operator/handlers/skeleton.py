"""The steps every kind's handler repeats around its controller: Events, the deletion prologue, verdicts.

The controllers (controllers/) decide and call ECS; a handler resolves references, calls one, and
records what it returns. What is the same for every kind lives here once.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import kopf

from fargate_operator.controllers.base import Verdict
from fargate_operator.controllers.events import Say
from fargate_operator.ecs.errors import EcsError
from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.handlers import tenancy
from fargate_operator.handlers.common import Waiting, apply_health, ecs_for_deletion, fail, placed, wait
from fargate_operator.handlers.remembered import remembered
from fargate_operator.handlers.slots import bounded
from fargate_operator.models.kinds import GROUP, TENANCY_RECHECK_ANNOTATION, VERSION
from fargate_operator.models.ownership import AdoptionRefused
from fargate_operator.reconcile.drift.policy import OBSERVE, management_policy
from fargate_operator.runtime import Runtime, runtime_of
from fargate_operator.status import writer

Handler = Callable[..., Awaitable[Any]]


def reconciles(plural: str) -> Callable[[Handler], Handler]:
    """A kind's reconcile with a mutable spec: on resume, create, a spec change and a tenancy recheck
    (handlers/tenancy.py), within the handler slots (slots.py). Registered in the order a stack of Kopf
    decorators would, so handler ids and their recorded progress stay the same."""

    def register(handler: Handler) -> Handler:
        fn = bounded(handler)
        kopf.on.update(GROUP, VERSION, plural, field=("metadata", "annotations", TENANCY_RECHECK_ANNOTATION))(fn)
        kopf.on.update(GROUP, VERSION, plural, field="spec")(fn)
        kopf.on.create(GROUP, VERSION, plural)(fn)
        kopf.on.resume(GROUP, VERSION, plural)(fn)
        return fn

    return register


def deletes(plural: str, **filters: Any) -> Callable[[Handler], Handler]:
    """A kind's deletion handler: within the handler slots, and remembered (remembered.py) so a retry after
    a restart knows what the object was. `filters`: Kopf's (annotations=...), for a kind that needs none
    of its finalizer on objects that never reached ECS."""

    def register(handler: Handler) -> Handler:
        fn = bounded(remembered(handler))
        kopf.on.delete(GROUP, VERSION, plural, **filters)(fn)
        return fn

    return register


def requested(plural: str, annotation: str) -> Callable[[Handler], Handler]:
    """An ECS API adapter request carried as an annotation (StopTask, DeregisterTaskDefinition): runs when
    the annotation is set or changes, within the handler slots."""

    def register(handler: Handler) -> Handler:
        fn = bounded(handler)
        kopf.on.update(GROUP, VERSION, plural, field="metadata.annotations", annotations={annotation: kopf.PRESENT})(fn)
        return fn

    return register


def steers(plural: str, annotation: str) -> Callable[[Handler], Handler]:
    """A request carried by one annotation alone (deployment steering): runs when that annotation is set or
    changes -- no other annotation's change -- within the handler slots; `old`/`new` are its values."""

    def register(handler: Handler) -> Handler:
        fn = bounded(handler)
        kopf.on.update(GROUP, VERSION, plural, field=("metadata", "annotations", annotation))(fn)
        return fn

    return register


def events_of(body: Any) -> Say:
    """A controller's account of what it did, as Events on the object."""

    async def say(reason: str, message: str) -> None:
        await writer.event(body, reason, message)

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


REFUSALS: tuple[type[Exception], ...] = (tenancy.TenancyRefused, AdoptionRefused)


@contextlib.asynccontextmanager
async def conditions_on_failure(
    body: Any, patch: kopf.Patch, status: Any, retry: int, *, refusals: tuple[type[Exception], ...] = REFUSALS
) -> AsyncIterator[None]:
    """What a reconcile step raises, as the object's conditions and Kopf's next move: a reference not ready
    yet waits (Progressing), a refusal stands until the spec or config changes (Degraded, permanent), an ECS
    error retries with backoff unless ECS said the request is invalid (common.py fail)."""
    try:
        yield
    except Waiting as why:
        await wait(body, patch, status, why)
    except refusals as err:
        await fail(body, patch, status, err, retry, permanent=True)
    except EcsError as err:
        await fail(body, patch, status, err, retry)


def record(
    body: Any,
    patch: kopf.Patch,
    status: Any,
    gw: EcsGateway,
    observed: Mapping[str, Any],
    arn: str | None,
    spec_hash: str | None,
    verdict: Verdict,
    drift_in_sync: bool = False,
    *,
    fresh: str | None = None,
) -> None:
    """What a create or update leaves in status: ECS's answer, where the resource is (common.py placed),
    the spec hash it answers to (a reconcile of the same hash has nothing to do; None for an immutable
    spec), and the verdict -- with drift's first verdict when drift is judged (`drift_in_sync`:
    rt.config.drift_detection), since ECS was just brought to the spec (status/writer.py).
    `fresh`: status.freshness (handlers/refresh.py), in this write so the status loop need not make one
    of its own just to say it."""
    patch.status.update(observed)
    if fresh is not None:
        patch.status["freshness"] = fresh
    placed(patch, arn, gw)
    if spec_hash is not None:
        patch.status["specHash"] = spec_hash
    apply_health(body, patch, status, verdict, drift_in_sync=drift_in_sync)
