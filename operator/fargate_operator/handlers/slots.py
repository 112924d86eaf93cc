"""How many handler bodies run at once: our own bound, held only while a handler works.

Kopf's `settings.queueing.worker_limit` bounds per-object *workers*, and a worker keeps its
slot while Kopf sleeps out a handler's retry delay (kopf 1.45: `_core/actions/application.py`
`apply()` sleeps inside the worker, which `_core/reactor/queueing.py` runs under its
`Scheduler(limit=worker_limit)`). Objects that wait for a long time (a missing reference,
DeletionBlocked, backoff up to 300 s) then hold every slot, and no other object of the kind
gets handlers, deletions or watch-cache updates. So Kopf's workers are unbounded (a sleeping
worker holds its event and Kopf's bookkeeping, but no slot) and this semaphore bounds the part
that costs most memory and all the calls: the handler bodies. It keeps most of what the worker
limit was introduced for (a burst of 1,000 creations ran 1,000 handlers side by side):
bench/create_to_running.py --count 1000 peaked at 157 MiB RSS with Kopf's limit, ~175 MiB with
this semaphore (the waiting workers' events and Kopf bookkeeping), 240 MiB with neither.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fargate_operator.ecs.acting import acting_for
from fargate_operator.runtime import runtime_of

T = TypeVar("T")


def bounded(handler: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """Run the handler body under the runtime's work slots (`--max-workers`); Kopf's retry waits stay outside.
    Its ECS calls name the object in their User-Agent (ecs/gateway.py ACTING_FOR)."""

    @functools.wraps(handler)  # the same name and qualname: Kopf's handler ids (and stored progress) stay
    async def run(*args: Any, **kwargs: Any) -> T:
        acting_for(kwargs["body"])  # this handler's task only
        async with runtime_of(kwargs["memo"]).work_slots:
            return await handler(*args, **kwargs)

    return run
