"""The emulator's tasks: a task's lifecycle, what its containers do, StopTask, and time-driven progress.

Each test names the ECS behaviour it checks; docs/ecs-emulator.md cites the ECS documentation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from fargate_devenv.ecs_emulator import EcsEmulator, Network
from support.emulator import (
    LIFECYCLE,
    UNPULLABLE,
    awsvpc,
    container,
    describe,
    register,
    run,
    running,
    stopped,
    wait_for,
    wait_task,
)

# The lifecycle test watches every state go by, so it uses an emulator of its own whose steps
# last long enough (2 s) that a poll every 50 ms cannot miss one, even on a loaded machine.
SLOW_STEP_SECONDS = 2.0


@pytest.fixture(scope="module")
def slow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EcsEmulator]:
    emu = EcsEmulator(log=tmp_path_factory.mktemp("ecs-sim-slow") / "log", step_seconds=SLOW_STEP_SECONDS).start()
    try:
        yield emu
    finally:
        emu.stop()


def _watch(ecs: Any, cluster: str, arn: str, seen: list[str], until: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        task = describe(ecs, cluster, arn)
        if not seen or seen[-1] != task["lastStatus"]:
            seen.append(task["lastStatus"])
        return task if task["lastStatus"] == until else None

    return wait_for(f"task {until}", probe, interval=0.05)


def test_task_walks_every_lifecycle_state_with_ecs_timestamps(slow: EcsEmulator) -> None:
    """RunTask answers PROVISIONING; the task passes through every documented state to RUNNING, and
    after StopTask through DEACTIVATING, STOPPING and DEPROVISIONING to STOPPED, stamping each time."""
    slow.reset()
    ecs = slow.client()
    network = slow.create_network()
    ecs.create_cluster(clusterName="life")
    td = register(ecs, "life")
    task = run(ecs, "life", td, network)
    assert task["lastStatus"] == "PROVISIONING" and task["desiredStatus"] == "RUNNING"
    assert task["containers"][0]["lastStatus"] == "PENDING" and "createdAt" in task
    assert re.fullmatch(r"arn:aws:ecs:us-east-1:\d{12}:task/life/[0-9a-f]{32}", task["taskArn"])
    seen = [task["lastStatus"]]
    up = _watch(ecs, "life", task["taskArn"], seen, "RUNNING")
    assert up["containers"][0]["lastStatus"] == "RUNNING"
    assert up["createdAt"] <= up["pullStartedAt"] <= up["pullStoppedAt"] <= up["startedAt"]
    assert up["connectivity"] == "CONNECTED" and up["cpu"] == "256" and up["memory"] == "512"
    answer = ecs.stop_task(cluster="life", task=task["taskArn"], reason="done for today")["task"]
    assert answer["desiredStatus"] == "STOPPED" and answer["lastStatus"] == "RUNNING"
    down = _watch(ecs, "life", task["taskArn"], seen, "STOPPED")
    assert seen == LIFECYCLE
    assert up["startedAt"] <= down["stoppingAt"] <= down["executionStoppedAt"] <= down["stoppedAt"]
    assert down["stopCode"] == "UserInitiated" and down["stoppedReason"] == "done for today"


def test_progress_is_driven_by_time_not_by_describe_calls(ecs: Any, cluster: str, network: Network) -> None:
    """Nobody calls DescribeTasks while the task starts: it is RUNNING the first time anyone looks.

    The wait reads DescribeClusters (ECS's runningTasksCount), which does not touch the task."""
    td = register(ecs, "timed")
    arn = run(ecs, cluster, td, network)["taskArn"]
    wait_for(
        "runningTasksCount 1",
        lambda: ecs.describe_clusters(clusters=[cluster])["clusters"][0]["runningTasksCount"] == 1,
    )
    assert describe(ecs, cluster, arn)["lastStatus"] == "RUNNING"


def test_fargate_task_without_container_memory_runs(ecs: Any, cluster: str, network: Network) -> None:
    """Task-level cpu/memory and no container memory is the usual Fargate shape (moto answered HTTP 500)."""
    td = register(ecs, "nomem", container("app"))
    arn = run(ecs, cluster, td, network)["taskArn"]
    task = wait_task(ecs, cluster, arn, running, "RUNNING")
    assert "memory" not in ecs.describe_task_definition(taskDefinition=td)["taskDefinition"]["containerDefinitions"][0]
    assert task["memory"] == "512"


@pytest.mark.parametrize("command", [["sh", "-c", "exit 3"], ["exit 3"], ["/bin/sh", "-c", "sleep 0.2; exit 3"]])
def test_exit_command_stops_the_task_with_its_exit_code(
    ecs: Any, cluster: str, network: Network, command: list[str]
) -> None:
    """An essential container that exits stops the task: EssentialContainerExited, ECS's wording."""
    td = register(ecs, "exit3", container("app", command=command))
    arn = run(ecs, cluster, td, network)["taskArn"]
    task = wait_task(ecs, cluster, arn, stopped, "STOPPED")
    assert task["stopCode"] == "EssentialContainerExited"
    assert task["stoppedReason"] == "Essential container in task exited"
    app = task["containers"][0]
    assert app["lastStatus"] == "STOPPED" and app["exitCode"] == 3
    assert task["startedAt"] <= task["stoppingAt"] <= task["executionStoppedAt"] <= task["stoppedAt"]


def test_sleep_runs_for_its_duration_then_exits_0(ecs: Any, cluster: str, network: Network) -> None:
    """`sleep 2` runs 2 s of wall time after the container starts (not scaled by the speed setting)."""
    td = register(ecs, "sleeper", container("app", command=["sleep", "2"]))
    arn = run(ecs, cluster, td, network)["taskArn"]
    assert wait_task(ecs, cluster, arn, running, "RUNNING")["containers"][0]["lastStatus"] == "RUNNING"
    task = wait_task(ecs, cluster, arn, stopped, "STOPPED")
    assert task["containers"][0]["exitCode"] == 0 and task["stopCode"] == "EssentialContainerExited"
    assert (task["executionStoppedAt"] - task["startedAt"]).total_seconds() >= 2  # emulator clock, not ours


def test_unpullable_image_fails_to_start(ecs: Any, cluster: str, network: Network) -> None:
    """An image on a registry that cannot exist: CannotPullContainerError, TaskFailedToStart, never started."""
    td = register(ecs, "nopull", container("app", image=UNPULLABLE))
    arn = run(ecs, cluster, td, network)["taskArn"]
    task = wait_task(ecs, cluster, arn, stopped, "STOPPED")
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith("CannotPullContainerError:")
    assert "registry.invalid" in task["stoppedReason"]
    app = task["containers"][0]
    assert app["lastStatus"] == "STOPPED" and app["reason"].startswith("CannotPullContainerError:")
    assert "exitCode" not in app and "startedAt" not in task and "pullStartedAt" in task


def test_stoptask_is_user_initiated_and_containers_exit_143(ecs: Any, cluster: str, network: Network) -> None:
    """StopTask: UserInitiated, stoppedReason is the reason given, the image's process exits on SIGTERM (143)."""
    td = register(ecs, "stoppable")
    arn = run(ecs, cluster, td, network)["taskArn"]
    wait_task(ecs, cluster, arn, running, "RUNNING")
    ecs.stop_task(cluster=cluster, task=arn, reason="Task stopped by the test")
    task = wait_task(ecs, cluster, arn, stopped, "STOPPED")
    assert task["stopCode"] == "UserInitiated" and task["stoppedReason"] == "Task stopped by the test"
    assert task["containers"][0]["exitCode"] == 143


def test_stoptask_before_running_never_starts_the_containers(ecs: Any, cluster: str, network: Network) -> None:
    td = register(ecs, "early")
    arn = run(ecs, cluster, td, network)["taskArn"]
    ecs.stop_task(cluster=cluster, task=arn)
    task = wait_task(ecs, cluster, arn, stopped, "STOPPED")
    assert task["stopCode"] == "UserInitiated" and "startedAt" not in task
    assert task["containers"][0]["lastStatus"] == "STOPPED" and "exitCode" not in task["containers"][0]


def test_shell_as_pid1_ignores_sigterm_and_is_killed_after_stop_timeout(
    ecs: Any, cluster: str, network: Network
) -> None:
    """`sleep` as PID 1 has no SIGTERM handler: docker stop waits stopTimeout, then SIGKILL (exit 137)."""
    td = register(ecs, "stubborn", container("app", command=["sleep", "3600"], stopTimeout=1))
    arn = run(ecs, cluster, td, network)["taskArn"]
    wait_task(ecs, cluster, arn, running, "RUNNING")
    ecs.stop_task(cluster=cluster, task=arn)
    task = wait_task(ecs, cluster, arn, stopped, "STOPPED")
    assert task["containers"][0]["exitCode"] == 137
    assert (task["executionStoppedAt"] - task["stoppingAt"]).total_seconds() >= 1


def test_init_process_forwards_sigterm(ecs: Any, cluster: str, network: Network) -> None:
    """With initProcessEnabled an init process forwards SIGTERM, so `sleep` dies of it (143)."""
    app = container("app", command=["sleep", "3600"], linuxParameters={"initProcessEnabled": True})
    arn = run(ecs, cluster, register(ecs, "tini", app), network)["taskArn"]
    wait_task(ecs, cluster, arn, running, "RUNNING")
    ecs.stop_task(cluster=cluster, task=arn)
    assert wait_task(ecs, cluster, arn, stopped, "STOPPED")["containers"][0]["exitCode"] == 143


def test_essential_exit_sends_sigterm_to_the_other_containers(ecs: Any, cluster: str, network: Network) -> None:
    app = container("app", command=["sh", "-c", "sleep 1; exit 4"])
    sidecar = container("log-router", essential=False)
    arn = run(ecs, cluster, register(ecs, "pair", app, sidecar), network)["taskArn"]
    task = wait_task(ecs, cluster, arn, stopped, "STOPPED")
    codes = {c["name"]: c["exitCode"] for c in task["containers"]}
    assert codes == {"app": 4, "log-router": 143} and task["stopCode"] == "EssentialContainerExited"


def test_non_essential_exit_leaves_the_task_running(ecs: Any, cluster: str, network: Network) -> None:
    app = container("app")
    init = container("init", command=["sh", "-c", "exit 2"], essential=False)
    arn = run(ecs, cluster, register(ecs, "sidecar", app, init), network)["taskArn"]

    def init_exited(t: dict[str, Any]) -> bool:
        return next(c for c in t["containers"] if c["name"] == "init").get("exitCode") == 2

    task = wait_task(ecs, cluster, arn, init_exited, "init container exit 2")
    assert task["lastStatus"] == "RUNNING" and task["desiredStatus"] == "RUNNING"
    assert next(c for c in task["containers"] if c["name"] == "app")["lastStatus"] == "RUNNING"


def test_runtask_overrides_decide_what_the_container_does(ecs: Any, cluster: str, network: Network) -> None:
    td = register(ecs, "override")
    overrides = {"containerOverrides": [{"name": "app", "command": ["sh", "-c", "exit 5"]}]}
    arn = run(ecs, cluster, td, network, overrides=overrides)["taskArn"]
    assert wait_task(ecs, cluster, arn, stopped, "STOPPED")["containers"][0]["exitCode"] == 5


def test_describe_tasks_reports_unknown_ids_as_missing(ecs: Any, cluster: str, network: Network) -> None:
    arn = run(ecs, cluster, register(ecs, "known"), network)["taskArn"]
    unknown = arn.rsplit("/", 1)[0] + "/0123456789abcdef0123456789abcdef"
    out = ecs.describe_tasks(cluster=cluster, tasks=[arn, unknown, "fedcba9876543210"])
    assert [t["taskArn"] for t in out["tasks"]] == [arn]
    assert sorted(f["reason"] for f in out["failures"]) == ["MISSING", "MISSING"]
    assert {f["arn"].rsplit("/", 1)[-1] for f in out["failures"]} == {
        "0123456789abcdef0123456789abcdef",
        "fedcba9876543210",
    }


def test_runtask_client_token_returns_the_same_tasks(ecs: Any, cluster: str, network: Network) -> None:
    """Same clientToken and same parameters: the original tasks, not new ones (ECS idempotency)."""
    td = register(ecs, "idem")

    def start() -> list[str]:
        out = ecs.run_task(
            cluster=cluster, taskDefinition=td, launchType="FARGATE", networkConfiguration=awsvpc(network),
            clientToken="token-1", count=2,
        )  # fmt: skip
        return sorted(t["taskArn"] for t in out["tasks"])

    first = start()
    assert len(first) == 2
    assert start() == first == sorted(ecs.list_tasks(cluster=cluster)["taskArns"])


def test_runtask_client_token_with_other_parameters_conflicts(ecs: Any, cluster: str, network: Network) -> None:
    """Same clientToken, different parameters: ConflictException naming the tasks the token already has."""
    td = register(ecs, "conflict")
    first = run(ecs, cluster, td, network, clientToken="token-2")
    with pytest.raises(ecs.exceptions.ConflictException) as err:
        run(ecs, cluster, td, network, clientToken="token-2", startedBy="someone-else")
    assert err.value.response["resourceIds"] == [first["taskArn"]]


def test_runtask_client_token_is_scoped_to_the_cluster(ecs: Any, cluster: str, network: Network) -> None:
    td = register(ecs, "scoped")
    ecs.create_cluster(clusterName="other")
    one = run(ecs, cluster, td, network, clientToken="token-3")["taskArn"]
    two = run(ecs, "other", td, network, clientToken="token-3")["taskArn"]
    assert one != two
