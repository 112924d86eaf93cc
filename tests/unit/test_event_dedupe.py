"""At-least-once delivery judged (events/dedupe.py): duplicates by id, stale task changes by version or time."""

from __future__ import annotations

import datetime

from fargate_operator.events.dedupe import Dedupe, Outcome
from fargate_operator.events.route import Routed, Task

ARN = "arn:aws:ecs:us-east-1:123456789012:task/prod/abc"
T0 = datetime.datetime(2026, 12, 7, 5, 0, tzinfo=datetime.UTC)


def _change(event_id: str, version: int | None, seconds: float = 0.0) -> Routed:
    at = T0 + datetime.timedelta(seconds=seconds)
    return Routed(event_id, (Task(ARN),), task_arn=ARN, version=version, time=at)


def test_the_same_event_delivered_twice_is_a_duplicate() -> None:
    dedupe = Dedupe()
    assert dedupe.judge(_change("a", 1)) is Outcome.FRESH
    assert dedupe.judge(_change("a", 1)) is Outcome.DUPLICATE


def test_a_task_change_older_than_one_seen_is_stale() -> None:
    dedupe = Dedupe()
    assert dedupe.judge(_change("b", 3)) is Outcome.FRESH
    assert dedupe.judge(_change("a", 2)) is Outcome.STALE
    assert dedupe.judge(_change("c", 3)) is Outcome.STALE  # the same version again, another id
    assert dedupe.judge(_change("d", 4)) is Outcome.FRESH


def test_without_versions_the_time_decides_and_a_tie_goes_through() -> None:
    dedupe = Dedupe()
    assert dedupe.judge(_change("b", None, 2.0)) is Outcome.FRESH
    assert dedupe.judge(_change("a", None, 1.0)) is Outcome.STALE
    assert dedupe.judge(_change("c", None, 2.0)) is Outcome.FRESH


def test_events_about_no_task_are_judged_by_id_only() -> None:
    dedupe = Dedupe()
    assert dedupe.judge(Routed("s1")) is Outcome.FRESH
    assert dedupe.judge(Routed("s2")) is Outcome.FRESH
    assert dedupe.judge(Routed("s1")) is Outcome.DUPLICATE


def test_memory_stays_bounded_forgetting_the_oldest_first() -> None:
    dedupe = Dedupe(max_ids=2, max_tasks=2)
    for event_id in ("a", "b", "c"):
        assert dedupe.judge(Routed(event_id)) is Outcome.FRESH
    assert dedupe.judge(Routed("c")) is Outcome.DUPLICATE
    assert dedupe.judge(Routed("a")) is Outcome.FRESH  # forgotten: a describe too many, never a wrong status
