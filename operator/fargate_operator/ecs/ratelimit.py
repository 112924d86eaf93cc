"""Client-side token buckets shaped like ECS's own throttling.

ECS throttles each account and region with token buckets per group of actions
(a burst, then a sustained refill rate). The operator's background reads (the
status loop's batched describes and lists) take a token from their group's bucket
before each call, so a thousand services or ten thousand tasks spread their reads
over time instead of spending the account's whole budget at once and starving the
writes (and other tools) that share it. botocore's adaptive retry mode still backs
off on any ThrottlingException that gets through.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    capacity: float
    refill_per_second: float
    clock: Callable[[], float] = time.monotonic
    tokens: float = field(init=False)
    updated: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.capacity
        self.updated = self.clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.refill_per_second)
        self.updated = now

    def delay(self) -> float:
        """Take one token; the seconds to wait before using it (0 when one was there)."""
        self._refill()
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.refill_per_second

    async def take(self) -> None:
        wait = self.delay()
        if wait > 0:
            await asyncio.sleep(wait)


# Action groups and their buckets (burst, per second), in the shape of ECS's throttling (a
# burst of 50 for cluster reads, per ../shared/notes/ecs-facts.md); the refill is kept at 20/s
# so a status cycle over 10,000 tasks (100 DescribeTasks) spreads over ~3 s.
READ_GROUPS: dict[str, tuple[float, float]] = {
    "cluster-reads": (50, 20),  # DescribeClusters, ListClusters
    "service-reads": (50, 20),  # DescribeServices, ListServices
    "task-reads": (50, 20),  # DescribeTasks, ListTasks
    "task-definition-reads": (50, 20),  # DescribeTaskDefinition, ListTaskDefinitions, ListTaskDefinitionFamilies
}


def group_of(operation: str) -> str | None:
    """The read group an operation belongs to (None: not paced here)."""
    if not operation.startswith(("Describe", "List")):
        return None
    for word, group in (
        ("TaskDefinition", "task-definition-reads"),
        ("Task", "task-reads"),
        ("Service", "service-reads"),
        ("Cluster", "cluster-reads"),
    ):
        if word in operation:
            return group
    return None


class ReadPacer:
    """One bucket per read group."""

    def __init__(self, groups: dict[str, tuple[float, float]] | None = None) -> None:
        self.buckets = {name: TokenBucket(*shape) for name, shape in (groups or READ_GROUPS).items()}

    async def before(self, operation: str) -> None:
        group = group_of(operation)
        if group is not None:
            await self.buckets[group].take()
