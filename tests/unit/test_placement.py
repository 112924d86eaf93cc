"""An unplaced RunTask / CreateService goes to Fargate; a cluster's default strategy stays ECS's to apply."""

from __future__ import annotations

from typing import Any

import pytest

from fargate_operator.models.ownership import Owner
from fargate_operator.reconcile import service as service_logic
from fargate_operator.reconcile import task as task_logic
from fargate_operator.reconcile.placement import launch_default

OWNER = Owner("FargateTask", "ns", "t", "0b1d1c5e-6f0f-4c55-9a52-0c1b3a0f2d11")
SPOT = [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]


@pytest.mark.parametrize(
    ("spec", "cluster_default", "expected"),
    [
        ({}, False, {"launchType": "FARGATE"}),  # ECS would place it on EC2: nothing could start
        ({}, True, {}),  # the cluster's default strategy (e.g. FARGATE + FARGATE_SPOT) decides
        ({"launchType": "FARGATE"}, False, {}),
        ({"capacityProviderStrategy": SPOT}, False, {}),  # launchType would make ECS refuse the pair
    ],
)
def test_launch_default(spec: dict[str, Any], cluster_default: bool, expected: dict[str, str]) -> None:
    assert launch_default(spec, cluster_default) == expected


def test_requests_carry_the_default() -> None:
    assert task_logic.run_request({}, OWNER, "c", "td:1")["launchType"] == "FARGATE"
    assert "launchType" not in task_logic.run_request({}, OWNER, "c", "td:1", cluster_has_default_strategy=True)
    created = service_logic.create_request({"serviceName": "web", "capacityProviderStrategy": SPOT}, OWNER, "c", "td:1")
    assert "launchType" not in created and created["capacityProviderStrategy"] == SPOT
    # UpdateService cannot change the launch type, so the desired hash never includes the default.
    assert "launchType" not in service_logic.update_request({"serviceName": "web"}, "c", "td:1")


def test_failed_task_note_names_stop_code_reason_and_exit_codes() -> None:
    rev2 = "arn:aws:ecs:us-east-1:1:task-definition/web:2"
    tasks: list[dict[str, Any]] = [
        {"taskArn": "arn:aws:ecs:r:1:task/c/old", "taskDefinitionArn": rev2.replace(":2", ":1"), "stoppedAt": "2"},
        {
            "taskArn": "arn:aws:ecs:r:1:task/c/abc",
            "taskDefinitionArn": rev2,
            "stoppedAt": "1",
            "stopCode": "EssentialContainerExited",
            "stoppedReason": "Essential container in task exited",
            "containers": [{"name": "app", "exitCode": 1}, {"name": "log", "exitCode": 0}],
        },
    ]
    assert service_logic.failed_task_note(tasks, rev2) == (
        "last failed task abc: EssentialContainerExited: Essential container in task exited: container app exited 1"
    )
    assert service_logic.failed_task_note(tasks, "web:3") == ""
    pull = {**tasks[1], "stopCode": "TaskFailedToStart", "stoppedReason": "CannotPullContainerError: pull image"}
    pull["containers"] = [{"name": "app", "reason": "CannotPullContainerError: pull image"}]
    assert service_logic.failed_task_note([pull], rev2) == (
        "last failed task abc: TaskFailedToStart: CannotPullContainerError: pull image"  # said once, not twice
    )
