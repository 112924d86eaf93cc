"""A Task State Change's task, as the service-task index keeps DescribeTasks' answers (events/task_shape.py)."""

from __future__ import annotations

import datetime

from fargate_operator.events.task_shape import indexed_task


def test_timestamps_become_epoch_seconds_at_any_depth_and_the_rest_is_kept() -> None:
    detail = {
        "taskArn": "arn:aws:ecs:us-east-1:123456789012:task/prod/abc",
        "createdAt": "2026-12-07T05:00:00.250Z",
        "stoppedAt": "2026-12-07T05:01:00.000Z",
        "updatedAt": "2026-12-07T05:01:00.000Z",
        "version": 5,
        "containers": [{"name": "app", "managedAgents": [{"lastStartedAt": "2026-12-07T05:00:30.000Z"}]}],
    }
    task = indexed_task(detail)
    at = datetime.datetime(2026, 12, 7, 5, 0, tzinfo=datetime.UTC).timestamp()
    assert task["createdAt"] == at + 0.25 and task["stoppedAt"] == at + 60
    assert task["containers"][0]["managedAgents"][0]["lastStartedAt"] == at + 30
    assert task["version"] == 5 and task["taskArn"] == detail["taskArn"] and "updatedAt" not in task
    assert detail["createdAt"] == "2026-12-07T05:00:00.250Z", "the event itself is left as it was"
