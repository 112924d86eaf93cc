"""One DescribeClusters for many callers: reads that creations need, batched across objects.

A caller asks for one cluster; the first ask opens a batch that closes after WINDOW_SECONDS
(or at ECS's 100 names per call), and every ask in between rides in the same call. Under a
burst of creations that is one read per up-to-100 objects instead of one per object; a lone
creation waits the window once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fargate_operator.ecs.acting import ACTING_FOR

WINDOW_SECONDS = 0.25
BATCH_LIMIT = 100  # DescribeClusters: "A list of up to 100 cluster names or full cluster ARN entries"

Describe = Callable[[list[str]], Awaitable[list[dict[str, Any]]]]


@dataclass
class _Batch:
    answer: asyncio.Future[dict[str, dict[str, Any]]]
    full: asyncio.Event = field(default_factory=asyncio.Event)
    names: set[str] = field(default_factory=set)
    flusher: asyncio.Task[None] | None = None


class CoalescedClusters:
    def __init__(self, describe: Describe, window: float = WINDOW_SECONDS, limit: int = BATCH_LIMIT) -> None:
        self._describe, self._window, self._limit = describe, window, limit
        self._open: dict[int, _Batch] = {}  # per event loop (see families.py)

    async def describe(self, name: str) -> dict[str, Any] | None:
        """The live cluster `name` (a name or ARN) as DescribeClusters tells, or None; EcsError if the call failed.

        Of several clusters under one name (an INACTIVE one beside the new one), the ACTIVE or
        PROVISIONING one is answered.
        """
        loop = asyncio.get_running_loop()
        batch = self._open.get(id(loop))
        if batch is None:
            batch = _Batch(loop.create_future())
            self._open[id(loop)] = batch
            batch.flusher = loop.create_task(self._flush(id(loop), batch))
        batch.names.add(name)
        if len(batch.names) >= self._limit:
            self._open.pop(id(loop), None)
            batch.full.set()
        found = await asyncio.shield(batch.answer)
        return found.get(name)

    async def _flush(self, key: int, batch: _Batch) -> None:
        ACTING_FOR.set(None)  # made for every object in the batch: CloudTrail names none of them
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(batch.full.wait(), self._window)
        if self._open.get(key) is batch:
            del self._open[key]
        try:
            described = await self._describe(sorted(batch.names))
        except Exception as exc:
            batch.answer.set_exception(exc)
            batch.answer.exception()  # retrieved: every waiter re-raises it on its own
            return
        found: dict[str, dict[str, Any]] = {}
        for cluster in described:
            if cluster.get("status") not in ("ACTIVE", "PROVISIONING"):
                continue
            for key_ in (cluster.get("clusterName"), cluster.get("clusterArn")):
                if key_:
                    found[key_] = cluster
        batch.answer.set_result(found)
