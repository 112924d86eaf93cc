"""A follower's service-task index: refreshed when a front door reads it, not on a timer.

On the leader the status loop (or, in Events mode, the events) keeps Runtime.service_tasks current.
A follower runs neither, yet its front doors answer ListTasks and DescribeTasks for services' tasks
from the same index. Polling it for the whole fleet every status interval cost a follower one
ListTasks per cluster and a DescribeTasks per 100 tasks, all the time, whoever asked: in Events mode
that alone was many times the account's read budget the events save. Refreshed on demand, a follower
nobody asks makes no ECS call, and one that is asked reads only the FargateServices the answer
needs, at most once per `max_age` seconds each (the status interval: as fresh as polling was).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Collection

from fargate_operator.handlers.refresh import Key, refresh_service_tasks
from fargate_operator.runtime import Runtime


class OnDemandServiceTasks:
    """Runtime.service_tasks_for on a follower (handlers/leadership.py sets it while following)."""

    def __init__(self, rt: Runtime, max_age: float) -> None:
        self.rt = rt
        self.max_age = max_age
        self._at: dict[Key, float] = {}  # when each FargateService's tasks were last read from ECS
        self._lock = asyncio.Lock()  # concurrent requests for the same services read ECS once

    def _stale(self, keys: Collection[Key], now: float) -> set[Key]:
        return {k for k in keys if now - self._at.get(k, -math.inf) >= self.max_age}

    async def __call__(self, keys: Collection[Key]) -> None:
        if not self._stale(keys, time.monotonic()):
            return
        async with self._lock:
            started = time.monotonic()
            stale = self._stale(keys, started)
            if not stale:
                return  # another request read them while this one waited
            # A task of its own: the refresh sets ACTING_FOR (the operator's own identity), which must not
            # leak into the caller's request; shielded, so a caller that hangs up does not cancel it half-way.
            await asyncio.shield(asyncio.create_task(refresh_service_tasks(self.rt, keys=stale)))
            # Only what is still fresh is kept (a key not here is stale anyway): the map stays as small as
            # what callers asked for lately, whatever services came and went.
            self._at = {k: at for k, at in self._at.items() if started - at < self.max_age}
            self._at.update(dict.fromkeys(stale, started))
