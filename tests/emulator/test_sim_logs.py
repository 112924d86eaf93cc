"""The emulator's awslogs: what a container prints lands in CloudWatch Logs where ECS puts it.

ECS developer guide, "Send Amazon ECS logs to CloudWatch" (docs/ecs-emulator.md cites it).
"""

from __future__ import annotations

from typing import Any

from fargate_devenv.ecs_emulator import EcsEmulator, Network
from support.emulator import container, register, run, stopped, wait_task


def _awslogs(group: str, *, create: bool, prefix: str = "app") -> dict[str, Any]:
    options = {"awslogs-group": group, "awslogs-region": "us-east-1", "awslogs-stream-prefix": prefix}
    if create:
        options["awslogs-create-group"] = "true"
    return {"logDriver": "awslogs", "options": options}


def test_what_a_container_prints_is_in_its_awslogs_stream(
    emulator: EcsEmulator, ecs: Any, cluster: str, network: Network
) -> None:
    """Stream `prefix/container/task-id` in `awslogs-group`, created with awslogs-create-group; in print order."""
    script = "echo starting; sleep 0.3; echo 'done: 42 rows'; exit 2"
    app = container("app", command=["sh", "-c", script], logConfiguration=_awslogs("/ecs/printer", create=True))
    td = register(ecs, "printer", app)
    arn = run(ecs, cluster, td, network)["taskArn"]
    task = wait_task(ecs, cluster, arn, stopped, "STOPPED")
    assert task["containers"][0]["exitCode"] == 2
    task_id = arn.rsplit("/", 1)[1]
    logs = emulator.client("logs")
    events = logs.get_log_events(logGroupName="/ecs/printer", logStreamName=f"app/app/{task_id}", startFromHead=True)
    assert [e["message"] for e in events["events"]] == ["starting", "done: 42 rows"]
    first, second = (e["timestamp"] for e in events["events"])
    assert second - first >= 300  # printed after the sleep, as the script says


def test_a_missing_log_group_without_create_group_fails_the_task_to_start(
    emulator: EcsEmulator, ecs: Any, cluster: str, network: Network
) -> None:
    """Without awslogs-create-group the group must exist: TaskFailedToStart with the driver's error."""
    app = container("app", command=["sh", "-c", "echo hi"], logConfiguration=_awslogs("/ecs/absent", create=False))
    arn = run(ecs, cluster, register(ecs, "nogroup", app), network)["taskArn"]
    task = wait_task(ecs, cluster, arn, stopped, "STOPPED")
    assert task["stopCode"] == "TaskFailedToStart"
    assert "The specified log group does not exist" in task["stoppedReason"]
    assert "exitCode" not in task["containers"][0]
    logs = emulator.client("logs")
    assert logs.describe_log_groups(logGroupNamePrefix="/ecs/absent")["logGroups"] == []


def test_an_existing_log_group_is_used_without_create_group(
    emulator: EcsEmulator, ecs: Any, cluster: str, network: Network
) -> None:
    logs = emulator.client("logs")
    logs.create_log_group(logGroupName="/ecs/made")
    app = container("app", command=["echo", "made it"], logConfiguration=_awslogs("/ecs/made", create=False))
    arn = run(ecs, cluster, register(ecs, "made", app), network)["taskArn"]
    task = wait_task(ecs, cluster, arn, stopped, "STOPPED")
    assert task["containers"][0]["exitCode"] == 0
    stream = f"app/app/{arn.rsplit('/', 1)[1]}"
    events = logs.get_log_events(logGroupName="/ecs/made", logStreamName=stream, startFromHead=True)["events"]
    assert [e["message"] for e in events] == ["made it"]
