"""How many TokenReviews bearer tokens may cost: per client, in total, on a thread pool of their own.

Every distinct well-formed bearer token the cache does not know costs a TokenReview, asked before
anything says who is calling, so the bounds are the only thing between a flood of random tokens
and the API server (and the operator's own Kubernetes calls):
- per client (the TCP peer address; forwarded-for headers are the client's word, so not used): a
  token bucket of `rate` reviews a second, `burst` at once, and at most `client_pending` in progress;
- in total: at most `max_pending` reviews asked or waiting at once;
- on `workers` threads of their own: the operator's other blocking Kubernetes calls (status writes,
  SubjectAccessReviews, the HA fence's drain) share asyncio's default executor, and a queue of
  reviews there would stand in front of them.
Beyond a bound the review is not asked: ReviewRefused (ThrottlingException, HTTP 429). Tokens the
cache knows cost nothing and are never refused, so valid callers keep working through a flood.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from prometheus_client import Counter

from fargate_operator.service.errors import ApiError

REFUSED = Counter(
    "fargate_operator_token_reviews_refused_total", "TokenReviews not asked: a bound was reached", ["bound"]
)


def _env(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


class ReviewRefused(ApiError):
    """A review over a bound: the caller should slow down (botocore retries ThrottlingException)."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__("ThrottlingException", message, 429)
        self.retry_after = max(1, round(retry_after))


class ReviewBudget:
    def __init__(
        self,
        rate: float | None = None,
        burst: float | None = None,
        client_pending: int = 8,
        max_pending: int | None = None,
        workers: int = 4,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate if rate is not None else _env("FARGATE_OPERATOR_TOKEN_REVIEW_RATE", 10.0)
        self.burst = burst if burst is not None else _env("FARGATE_OPERATOR_TOKEN_REVIEW_BURST", 40.0)
        self.max_pending = max_pending or int(_env("FARGATE_OPERATOR_TOKEN_REVIEWS_IN_FLIGHT", 32))
        self.client_pending = client_pending
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, as of)
        self._pending: dict[str, int] = {}  # client -> reviews in progress
        self._total = 0
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tokenreview")

    @property
    def pending(self) -> int:
        return self._total

    def _take(self, client: str) -> bool:
        """One token from the client's bucket, if it has one (an unknown client starts full)."""
        now = self._clock()
        tokens, since = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - since) * self.rate)
        taken = tokens >= 1
        self._buckets[client] = (tokens - 1 if taken else tokens, now)  # most recent last
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)  # the longest idle: nearly full again anyway
        return taken

    @contextlib.contextmanager
    def admit(self, client: str) -> Iterator[None]:
        """Around one review for `client`; ReviewRefused instead when a bound is reached."""
        if self.pending >= self.max_pending:
            REFUSED.labels("total").inc()
            raise ReviewRefused("Rate exceeded: too many bearer tokens are being reviewed; retry later", 1.0)
        if self._pending.get(client, 0) >= self.client_pending or not self._take(client):
            REFUSED.labels("client").inc()
            raise ReviewRefused(
                f"Rate exceeded: too many new bearer tokens from this client (at most {self.rate:g} reviews "
                "a second); retry later",
                1 / self.rate if self.rate > 0 else 1.0,
            )
        self._pending[client] = self._pending.get(client, 0) + 1
        self._total += 1
        try:
            yield
        finally:
            self._total -= 1
            self._pending[client] -= 1
            if not self._pending[client]:
                del self._pending[client]
