"""Which RunTask failures a later attempt can overcome, and how a partial answer is told."""

from __future__ import annotations

import pytest

from fargate_operator.models.verdict import Verdict
from fargate_operator.reconcile import runtask

CAPACITY = "Capacity is unavailable at this time. Please try again later or in a different availability zone"


@pytest.mark.parametrize(
    ("reason", "retry"),
    [
        (CAPACITY, True),  # Fargate has no capacity now
        ("RESOURCE:MEMORY", True),  # EC2: no instance has room now
        ("RESOURCE:ENI", True),
        ("AGENT", True),  # the instance's agent is disconnected
        ("ATTRIBUTE", False),  # placement constraints nobody meets: the request
        ("MISSING", False),
        ("LOCATION", False),
        ("", False),
    ],
)
def test_which_runtask_failure_reasons_a_retry_can_overcome(reason: str, retry: bool) -> None:
    assert runtask.retryable({"reason": reason}) is retry


def test_failures_keep_the_ecs_shape_and_only_all_retryable_retries() -> None:
    answer = {"failures": [{"arn": "a", "reason": CAPACITY, "detail": None}, {"reason": "ATTRIBUTE", "extra": "x"}]}
    failures = runtask.failures_of(answer)
    assert failures == [{"arn": "a", "reason": CAPACITY}, {"reason": "ATTRIBUTE"}]
    assert not runtask.all_retryable(failures)
    assert runtask.all_retryable(failures[:1])
    assert not runtask.all_retryable([])  # no reason at all: nothing says a retry helps


def test_a_partial_runtask_answer_notes_how_many_tasks_did_not_start() -> None:
    failures = [{"reason": CAPACITY}, {"reason": CAPACITY}]
    assert runtask.not_started_note(failures, 3) == f"2 of 3 task(s) not started: {CAPACITY}"
    health = Verdict(True, False, False, "Running", "task running")
    assert health.noted("").message == "task running"
    assert health.noted("x").message == "task running; x"
