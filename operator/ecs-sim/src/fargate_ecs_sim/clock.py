"""The emulator's time: how long a lifecycle step lasts, and a timeline of work that falls due.

Scheduling uses the monotonic clock; the timestamps ECS reports (createdAt, startedAt, ...) use the
wall clock. A background thread (server.py) drains the timeline, so tasks progress with time and
not with how often someone calls DescribeTasks.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, TypeVar

T = TypeVar("T")
NEVER = math.inf
# One lock for moto's ECS state: request threads and the ticker thread take it.
LOCK = threading.RLock()


@dataclass
class Pace:
    """Seconds per lifecycle transition (PROVISIONING -> PENDING -> ...), the emulator's speed setting."""

    step_seconds: float = 0.2

    @property
    def tick_seconds(self) -> float:
        """How often the ticker looks: a fraction of a step, never slower than 0.1 s."""
        return max(0.01, min(0.1, self.step_seconds / 4))


PACE = Pace()


def mono() -> float:
    return time.monotonic()


def wall() -> datetime:
    return datetime.now(UTC)


@dataclass(order=True)
class _Entry(Generic[T]):
    at: float
    seq: int
    item: T = field(compare=False)


class Timeline(Generic[T]):
    """A heap of (time, item): `schedule` an item for a time, `due` pops what has come due."""

    def __init__(self) -> None:
        self._heap: list[_Entry[T]] = []
        self._seq = itertools.count()

    def schedule(self, item: T, at: float) -> None:
        if at < NEVER:
            heapq.heappush(self._heap, _Entry(at, next(self._seq), item))

    def due(self, now: float) -> list[T]:
        items: dict[int, T] = {}
        while self._heap and self._heap[0].at <= now:
            entry = heapq.heappop(self._heap)
            items[id(entry.item)] = entry.item
        return list(items.values())
