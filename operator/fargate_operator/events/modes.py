"""Which mode keeps each account and region's status fresh: Events (its queue answers) or Polling.

One entry per queue of ECS's events (the operator's own, FARGATE_OPERATOR_EVENTS_QUEUE_URL, and
each FargateAccount's spec.eventQueues), keyed by where its events come from: the identity the
objects act as ("own", or the assumed role's account id: ecs/settings.py Where.identity) and the
region. A place whose queue answers is in Events mode; one without a queue, or whose queue does not
answer (deleted, access denied), is polled as before. Until a queue first answers its place is
polled: a queue never read is no source of news.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import Counter, Gauge

from fargate_operator.events.queue import QueueSource

EVENTS = "Events"
POLLING = "Polling"
RECEIVING = "Receiving"
UNREACHABLE = "Unreachable"

MODE = Gauge(
    "fargate_operator_events_mode",
    "Whether events keep an account and region's status fresh (1) or it is polled (0)",
    ["account", "region"],
)
RECEIVED = Counter(
    "fargate_operator_events_received_total",
    "ECS events read from the queues, by what became of them",
    ["outcome"],  # applied | duplicate | stale | unrouted
)
UNREACHABLE_TOTAL = Counter(
    "fargate_operator_events_queue_unreachable_total",
    "Times a queue of ECS's events stopped answering (its place falls back to polling)",
    ["account", "region"],
)

Place = tuple[str, str]  # (identity, region)


@dataclass
class QueueState:
    source: QueueSource
    state: str | None = None  # None until it first answers or fails
    last_received_at: datetime.datetime | None = None
    error: str | None = None


class Modes:
    def __init__(self) -> None:
        self._queues: dict[Place, QueueState] = {}

    def configure(self, sources: Iterable[QueueSource]) -> tuple[list[QueueSource], list[QueueSource]]:
        """The queues wanted now -> (added, removed). One queue per place: the first named wins."""
        wanted: dict[Place, QueueSource] = {}
        for source in sources:
            wanted.setdefault((source.identity, source.region), source)
        removed = [q.source for p, q in self._queues.items() if wanted.get(p) != q.source]
        for source in removed:
            del self._queues[(source.identity, source.region)]
            MODE.labels(source.identity, source.region).set(0)
        added = [s for p, s in wanted.items() if p not in self._queues]
        for source in added:
            self._queues[(source.identity, source.region)] = QueueState(source)
            MODE.labels(source.identity, source.region).set(0)
        return added, removed

    def sources(self) -> list[QueueSource]:
        return [q.source for q in self._queues.values()]

    def any_queue(self) -> bool:
        return bool(self._queues)

    def settled(self) -> bool:
        """Every queue has answered or failed once (its place's mode is known)."""
        return all(q.state is not None for q in self._queues.values())

    def freshness(self, identity: str, region: str | None) -> str:
        queue = self._queues.get((identity, region or ""))
        return EVENTS if queue is not None and queue.state == RECEIVING else POLLING

    def answered(self, source: QueueSource, messages: int, now: datetime.datetime) -> bool:
        """The queue answered (with `messages` messages); True when its place changed mode."""
        queue = self._queues.get((source.identity, source.region))
        if queue is None or queue.source != source:
            return False
        changed = queue.state != RECEIVING
        queue.state, queue.error = RECEIVING, None
        if messages:
            queue.last_received_at = now
        if changed:
            MODE.labels(source.identity, source.region).set(1)
        return changed

    def failed(self, source: QueueSource, error: str) -> bool:
        """The queue did not answer; True when its place changed mode (or the queue had not answered yet)."""
        queue = self._queues.get((source.identity, source.region))
        if queue is None or queue.source != source:
            return False
        changed = queue.state != UNREACHABLE
        queue.state, queue.error = UNREACHABLE, error
        if changed:
            MODE.labels(source.identity, source.region).set(0)
            UNREACHABLE_TOTAL.labels(source.identity, source.region).inc()
        return changed

    def account_status(self, account_name: str) -> list[dict[str, str | None]]:
        """A FargateAccount's status.eventQueues: its queues, whether they answer, when one last brought news
        (to the minute: a busy queue must not cost a status write every few seconds)."""
        out: list[dict[str, str | None]] = []
        for queue in self._queues.values():
            if queue.source.account_name != account_name or queue.state is None:
                continue  # not its queue, or not tried yet (a moment after start)
            at = queue.last_received_at
            out.append(
                {
                    "region": queue.source.region,
                    "queueUrl": queue.source.url,
                    "state": queue.state,
                    "lastReceivedAt": at.replace(second=0, microsecond=0).isoformat() if at else None,
                }
            )
        return sorted(out, key=lambda q: str(q["region"]))
