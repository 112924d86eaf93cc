"""A task DescribeTasks answers MISSING for is "not yet" within the grace window, "gone" after it.

The integration test (tests/integration/controller/test_task_ecs_answers.py) shows the transient
case against the emulator; the end of the 5-minute window is shown here, where time is a parameter.
"""

from __future__ import annotations

from fargate_operator.reconcile import missing
from fargate_operator.reconcile import task as task_logic

ARN = "arn:aws:ecs:us-east-1:123456789012:task/c/0123"
CREATED = "2026-01-01T00:00:00+00:00"
T0 = 1767225600.0  # CREATED as epoch seconds


def entry(**extra: object) -> dict[str, object]:
    return {"taskArn": ARN, "lastStatus": "RUNNING", "desiredStatus": "RUNNING", "containers": [], **extra}


def test_missing_within_the_window_waits_and_records_nothing() -> None:
    assert missing.merge([entry(createdAt=CREATED)], {}, None, T0 + 10) is None
    assert missing.merge([entry(createdAt=CREATED)], {}, None, T0 + missing.MISSING_GRACE_SECONDS - 1) is None


def test_missing_after_the_window_is_gone_and_failed() -> None:
    tasks = missing.merge([entry(createdAt=CREATED)], {}, None, T0 + missing.MISSING_GRACE_SECONDS + 1)
    assert tasks is not None and tasks[0]["lastStatus"] == "STOPPED" and missing.any_gone(tasks)
    assert task_logic.status_from(tasks, 1)["stoppedReason"] == missing.GONE_REASON


def test_window_counts_from_createdat_then_the_mark_then_the_object() -> None:
    # No createdAt (moto gives none): the RunTask mark's time (epoch), else creationTimestamp (ISO).
    assert missing.still_expected(entry(), T0, T0 + 60)
    assert not missing.still_expected(entry(), T0, T0 + 600)
    assert missing.still_expected(entry(), "2026-01-01T00:00:00Z", T0 + 60)
    assert missing.still_expected(entry(createdAt=CREATED), T0 - 3600, T0 + 60)  # createdAt first
    assert not missing.still_expected(entry(), None, T0)  # nothing to count from: gone


def test_one_missing_task_keeps_its_last_state_while_the_others_are_described() -> None:
    other = "arn:aws:ecs:us-east-1:123456789012:task/c/4567"
    described = {other: {"taskArn": other, "lastStatus": "RUNNING"}}
    tasks = missing.merge([entry(createdAt=CREATED), {"taskArn": other}], described, None, T0 + 5)
    assert tasks == [entry(createdAt=CREATED), described[other]]
