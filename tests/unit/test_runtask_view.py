"""RunTask's answer through the adapters (service/tasks.py run_task_answer): HTTP 200 with `failures`, as ECS.

Unit test of the view over a FargateTask object; the integration test
(test_front_door_regressions.py::test_runtask_answers_failures_with_200_as_ecs_does) needs the
operator side (status.failures) and is marked xfail until it lands.
"""

from __future__ import annotations

from typing import Any

import pytest

from fargate_operator.service.tasks import run_task_answer

TASK = "arn:aws:ecs:us-east-1:123456789012:task/c/0b1c2d3e"
CAPACITY = {
    "arn": "arn:aws:ecs:us-east-1:123456789012:cluster/c",
    "reason": "Capacity is unavailable at this time. Please try again later or in a different availability zone",
}
ATTRIBUTE = {"arn": "arn:aws:ecs:us-east-1:123456789012:cluster/c", "reason": "ATTRIBUTE", "detail": "no match"}


def task_object(**status: Any) -> dict[str, Any]:
    return {
        "kind": "FargateTask",
        "metadata": {"name": "t", "namespace": "ns", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"launchType": "FARGATE", "count": 2},
        "status": status,
    }


@pytest.mark.parametrize(
    ("status", "tasks", "failures"),
    [
        ({"phase": "Running", "tasks": [{"taskArn": TASK, "lastStatus": "RUNNING"}]}, [TASK], []),
        (  # count 2, one placed: both lists, as ECS answers a partial RunTask
            {"phase": "Running", "tasks": [{"taskArn": TASK}], "failures": [CAPACITY]},
            [TASK],
            [CAPACITY],
        ),
        ({"phase": "Failed", "failures": [ATTRIBUTE]}, [], [ATTRIBUTE]),  # nothing placed, permanent
    ],
)
def test_runtask_answer_carries_tasks_and_failures(
    status: dict[str, Any], tasks: list[str], failures: list[dict[str, str]]
) -> None:
    answer = run_task_answer(task_object(**status))
    assert answer is not None
    assert [t["taskArn"] for t in answer["tasks"]] == tasks
    assert answer["failures"] == failures


@pytest.mark.parametrize(
    "status",
    [
        {},  # not run yet
        {"phase": "Pending", "failures": [CAPACITY]},  # ECS lacked capacity: the operator retries
        {"phase": "Failed"},  # an ECS error, not a failures list: the adapter answers that error instead
    ],
)
def test_a_task_without_a_runtask_outcome_has_no_answer_yet(status: dict[str, Any]) -> None:
    assert run_task_answer(task_object(**status)) is None
