"""At-least-once delivery made idempotent: an event seen before, or older than what was seen, does nothing.

SQS (standard) delivers each message at least once and in no particular order; EventBridge may
deliver an event twice too. Two checks, both in bounded memory (the oldest entries go first):
- the event id: a second delivery of the same event is a duplicate;
- a Task State Change's `version` (ECS counts a task's changes): one not newer than the newest
  seen for that task is stale (its task was refreshed already on the newer news); without a
  version, its time (detail.updatedAt) decides, when it is older than the newest seen.
"""

from __future__ import annotations

import datetime
import enum
from collections import OrderedDict

from fargate_operator.events.route import Routed

MAX_EVENT_IDS = 100_000  # ~10 MB: hours of a busy account's events
MAX_TASKS = 50_000


class Outcome(enum.Enum):
    FRESH = "fresh"
    DUPLICATE = "duplicate"
    STALE = "stale"


class _Bounded(OrderedDict[str, tuple[int | None, datetime.datetime | None]]):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def put(self, key: str, value: tuple[int | None, datetime.datetime | None]) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


class Dedupe:
    def __init__(self, max_ids: int = MAX_EVENT_IDS, max_tasks: int = MAX_TASKS) -> None:
        self._ids = _Bounded(max_ids)
        self._tasks = _Bounded(max_tasks)

    def judge(self, event: Routed) -> Outcome:
        """FRESH (and remembered), DUPLICATE or STALE."""
        if event.event_id:
            if event.event_id in self._ids:
                return Outcome.DUPLICATE
            self._ids.put(event.event_id, (None, None))
        if event.task_arn is None:
            return Outcome.FRESH
        seen = self._tasks.get(event.task_arn)
        if seen is not None and not _newer((event.version, event.time), seen):
            return Outcome.STALE
        self._tasks.put(event.task_arn, _newest((event.version, event.time), seen))
        return Outcome.FRESH


def _newer(
    event: tuple[int | None, datetime.datetime | None], seen: tuple[int | None, datetime.datetime | None]
) -> bool:
    (version, at), (seen_version, seen_at) = event, seen
    if version is not None and seen_version is not None:
        return version > seen_version
    if at is not None and seen_at is not None:
        return at >= seen_at  # to the millisecond: a tie is let through (a describe is never wrong, only spent)
    return True  # nothing to compare by: let it through (a describe is never wrong, only spent)


def _newest(
    event: tuple[int | None, datetime.datetime | None], seen: tuple[int | None, datetime.datetime | None] | None
) -> tuple[int | None, datetime.datetime | None]:
    if seen is None:
        return event
    version = max((v for v in (event[0], seen[0]) if v is not None), default=None)
    at = max((t for t in (event[1], seen[1]) if t is not None), default=None)
    return version, at
