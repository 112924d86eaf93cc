"""A small async cache for authentication and authorization answers: short-lived, bounded, one call per key.

TokenReview and SubjectAccessReview answers are asked of the API server once per key and kept for
a few seconds, so a burst of reads by one caller costs one review, while a revoked token or a
changed RoleBinding takes effect within that time. Concurrent lookups of a key that is not cached
share one call (a burst of the first requests must not send a review each). Failures are never
kept: the next lookup asks again. Answers `apart` says are negative (a token nobody knows) are kept
in a bounded space of their own: anyone can make as many of those as they like, and in one space
with the valid callers' answers they would push those out.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from prometheus_client import Counter

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# outcome: hit (answered from the cache), miss (computed: asked the API server, unless a TokenReview was refused
# over its bounds, which fargate_operator_token_reviews_refused_total counts), joined (shared a call in flight)
AUTH_CACHE = Counter(
    "fargate_operator_auth_cache_total", "TokenReview and SubjectAccessReview cache lookups", ["cache", "outcome"]
)


class TtlCache(Generic[K, V]):
    def __init__(
        self,
        name: str,
        ttl: float,
        limit: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        *,
        apart: Callable[[V], bool] | None = None,
        apart_limit: int = 10_000,
    ) -> None:
        self.name = name
        self.ttl = ttl
        self.limit = limit
        self.apart = apart
        self.apart_limit = apart_limit
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()  # key -> (expires at, value)
        self._apart: OrderedDict[K, tuple[float, V]] = OrderedDict()  # the same, for values `apart` picks
        self._inflight: dict[K, asyncio.Future[V]] = {}

    def __len__(self) -> int:
        return len(self._entries) + len(self._apart)

    def _space(self, value: V) -> tuple[OrderedDict[K, tuple[float, V]], int]:
        if self.apart is not None and self.apart(value):
            return self._apart, self.apart_limit
        return self._entries, self.limit

    async def get(self, key: K, compute: Callable[[], Awaitable[tuple[V, float | None]]]) -> V:
        """The cached value of `key`, or compute() -> (value, seconds to keep it at most, or None for `ttl`)."""
        now = self._clock()
        for space in (self._entries, self._apart):
            entry = space.get(key)
            if entry is not None:
                if entry[0] > now:
                    AUTH_CACHE.labels(self.name, "hit").inc()
                    return entry[1]
                del space[key]
        if (pending := self._inflight.get(key)) is not None:
            AUTH_CACHE.labels(self.name, "joined").inc()
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if pending.cancelled() and task is not None and not task.cancelling():
                    return await self.get(key, compute)  # the lookup we joined was cancelled, not us: ask again
                raise
        AUTH_CACHE.labels(self.name, "miss").inc()
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value, keep = await compute()
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody joined
            raise
        except BaseException:
            future.cancel()
            raise
        finally:
            del self._inflight[key]
        future.set_result(value)
        keep = self.ttl if keep is None else min(keep, self.ttl)
        if keep > 0:
            space, limit = self._space(value)
            space[key] = (self._clock() + keep, value)
            while len(space) > limit:
                space.popitem(last=False)  # the oldest entry first
        return value
