"""A FargateTask's phase from ECS's lastStatus, stopCode and the essential containers.

Unit tests of pure logic: today's emulator (moto 5.2.5) has one container per task, sets no
stopCode and reports exit code 0 for every container, so it cannot show a sidecar's exit,
a stop code or an exit code (tests/integration/controller/test_task.py shows the stopping
states, which it can). ECS facts, from botocore's ECS model:
- ContainerDefinition.essential: "If the essential parameter of a container is marked as
  false, its failure doesn't affect the rest of the containers in a task. If this parameter
  is omitted, a container is assumed to be essential."
- TaskStopCode: TaskFailedToStart | EssentialContainerExited | UserInitiated |
  ServiceSchedulerInitiated | SpotInterruption | TerminationNotice (Task.stopCode links
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html).
- Task.startedAt: "the time when the task transitioned from the PENDING state to the RUNNING state".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from fargate_operator.config import OperatorConfig
from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.ecs.settings import GatewaySettings
from fargate_operator.reconcile import task as logic

STARTED = "2026-01-01T00:00:00+00:00"
RUNNING_READY = (True, False, False)
PENDING_READY = (False, True, False)
SUCCEEDED_READY = (True, False, False)
FAILED_READY = (False, False, True)
STOPPED_READY = (False, False, False)


@dataclass(frozen=True)
class Row:
    id: str
    last_status: str
    phase: str
    verdict: tuple[bool, bool, bool]  # Ready, Progressing, Degraded
    stop_code: str | None = None
    exits: dict[str, int | None] = field(default_factory=lambda: {"app": None})
    essential: tuple[str, ...] | None = ("app",)
    started: bool = True
    previous: str | None = None
    reasons: dict[str, str] = field(default_factory=dict)
    message_has: tuple[str, ...] = ()


SIDECAR = ("app",)  # "app" essential, "envoy" not

ROWS = [
    Row("provisioning", "PROVISIONING", "Pending", PENDING_READY, started=False),
    Row("pending", "PENDING", "Pending", PENDING_READY, started=False),
    Row("activating", "ACTIVATING", "Pending", PENDING_READY, started=False),
    Row("running", "RUNNING", "Running", RUNNING_READY),
    Row("deactivating-after-running", "DEACTIVATING", "Running", RUNNING_READY, stop_code="EssentialContainerExited"),
    Row("stopping-after-running", "STOPPING", "Running", RUNNING_READY, stop_code="EssentialContainerExited"),
    Row("deprovisioning-after-running", "DEPROVISIONING", "Running", RUNNING_READY, exits={"app": 0}),
    # ECS gave no startedAt (an emulator, an old answer): the phase never moves back from Running.
    Row("deactivating-no-timestamps", "DEACTIVATING", "Running", RUNNING_READY, started=False, previous="Running"),
    Row(
        "deprovisioning-never-ran",
        "DEPROVISIONING",
        "Pending",
        PENDING_READY,
        stop_code="TaskFailedToStart",
        started=False,
        previous="Pending",
    ),
    Row("essential-exit-0", "STOPPED", "Succeeded", SUCCEEDED_READY, "EssentialContainerExited", {"app": 0}),
    Row(
        "essential-exit-3",
        "STOPPED",
        "Failed",
        FAILED_READY,
        "EssentialContainerExited",
        {"app": 3},
        message_has=("app", "3"),
    ),
    Row(
        "sidecar-sigkill-137-after-essential-0",
        "STOPPED",
        "Succeeded",
        SUCCEEDED_READY,
        "EssentialContainerExited",
        {"app": 0, "envoy": 137},
        SIDECAR,
    ),
    Row(
        "sidecar-sigterm-143-after-essential-0",
        "STOPPED",
        "Succeeded",
        SUCCEEDED_READY,
        "EssentialContainerExited",
        {"app": 0, "envoy": 143},
        SIDECAR,
    ),
    Row(
        "non-essential-exit-1-essential-0",
        "STOPPED",
        "Succeeded",
        SUCCEEDED_READY,
        "EssentialContainerExited",
        {"app": 0, "envoy": 1},
        SIDECAR,
    ),
    # Two essential containers (a log router is essential unless marked otherwise): the one that
    # exited on its own decides, not the one ECS then stopped with SIGKILL.
    Row(
        "second-essential-stopped-by-ecs-137",
        "STOPPED",
        "Succeeded",
        SUCCEEDED_READY,
        "EssentialContainerExited",
        {"app": 0, "log-router": 137},
        ("app", "log-router"),
    ),
    Row(
        "second-essential-exit-3",
        "STOPPED",
        "Failed",
        FAILED_READY,
        "EssentialContainerExited",
        {"app": 143, "worker": 3},
        ("app", "worker"),
        message_has=("worker", "3"),
    ),
    Row(
        "essential-unknown-sidecar-137",
        "STOPPED",
        "Succeeded",
        SUCCEEDED_READY,
        "EssentialContainerExited",
        {"app": 0, "envoy": 137},
        None,
    ),
    Row(
        "essential-unknown-exit-3-sidecar-143",
        "STOPPED",
        "Failed",
        FAILED_READY,
        "EssentialContainerExited",
        {"app": 3, "envoy": 143},
        None,
        message_has=("app", "3"),
    ),
    Row(
        "essential-unknown-oom-137",
        "STOPPED",
        "Failed",
        FAILED_READY,
        "EssentialContainerExited",
        {"app": 137},
        None,
        reasons={"app": "OutOfMemoryError: Container killed due to memory usage"},
        message_has=("OutOfMemoryError",),
    ),
    Row(
        "failed-to-start",
        "STOPPED",
        "Failed",
        FAILED_READY,
        "TaskFailedToStart",
        started=False,
        reasons={"app": "CannotPullContainerError: pull access denied"},
        message_has=("TaskFailedToStart", "CannotPullContainerError"),
    ),
    Row("user-stop-exit-0", "STOPPED", "Stopped", STOPPED_READY, "UserInitiated", {"app": 0}, message_has=("by hand",)),
    Row("user-stop-sigterm-143", "STOPPED", "Stopped", STOPPED_READY, "UserInitiated", {"app": 143}),
    Row(
        "user-stop-before-start",
        "STOPPED",
        "Stopped",
        STOPPED_READY,
        "UserInitiated",
        started=False,
    ),
    Row(
        "spot-interruption-exit-0",
        "STOPPED",
        "Failed",
        FAILED_READY,
        "SpotInterruption",
        {"app": 0},
        message_has=("SpotInterruption",),
    ),
    Row(
        "termination-notice-exit-0",
        "STOPPED",
        "Failed",
        FAILED_READY,
        "TerminationNotice",
        {"app": 0},
        message_has=("TerminationNotice",),
    ),
    Row(
        "service-scheduler-exit-0",
        "STOPPED",
        "Failed",
        FAILED_READY,
        "ServiceSchedulerInitiated",
        {"app": 0},
    ),
    Row("no-stop-code-exit-0", "STOPPED", "Succeeded", SUCCEEDED_READY, None, {"app": 0}),
    Row("no-stop-code-exit-2", "STOPPED", "Failed", FAILED_READY, None, {"app": 2}),
]


def _task(row: Row) -> dict[str, Any]:
    task: dict[str, Any] = {
        "taskArn": "arn:aws:ecs:us-east-1:1:task/c/1",
        "lastStatus": row.last_status,
        "containers": [
            {"name": n, "exitCode": code, **({"reason": row.reasons[n]} if n in row.reasons else {})}
            for n, code in row.exits.items()
        ],
    }
    if row.stop_code:
        task["stopCode"] = row.stop_code
        task["stoppedReason"] = "stopped by hand" if row.stop_code == "UserInitiated" else "Task stopped"
    if row.started:
        task["startedAt"] = STARTED
    return task


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_each_ecs_task_state_maps_to_its_phase_and_health_verdict(row: Row) -> None:
    essential = list(row.essential) if row.essential is not None else None
    status, health = logic.observe([_task(row)], 1, essential, row.previous)
    assert status["phase"] == row.phase
    assert (health.ready, health.progressing, health.degraded) == row.verdict, health
    for text in row.message_has:
        assert text in health.message, health
    assert logic.phase_of([_task(row)], 1, essential, row.previous) == row.phase


@pytest.mark.parametrize(
    ("outcomes", "phase"),
    [
        (["essential-exit-0", "essential-exit-0"], "Succeeded"),
        (["essential-exit-0", "user-stop-exit-0"], "Stopped"),
        (["user-stop-exit-0", "essential-exit-3"], "Failed"),
        (["essential-exit-0", "running"], "Running"),
        (["essential-exit-0", "deactivating-after-running"], "Running"),
    ],
)
def test_the_phase_of_several_tasks_of_one_runtask_combines_their_outcomes(outcomes: list[str], phase: str) -> None:
    rows = {r.id: r for r in ROWS}
    tasks = [{**_task(rows[o]), "taskArn": f"arn:aws:ecs:us-east-1:1:task/c/{i}"} for i, o in enumerate(outcomes)]
    assert logic.phase_of(tasks, 2, ["app"]) == phase


def test_stopped_is_terminal_everywhere() -> None:
    assert logic.STOPPED == "Stopped" and logic.STOPPED in logic.TERMINAL
    assert logic.TERMINAL == frozenset({"Succeeded", "Failed", "Stopped"})


def test_a_stopped_task_no_longer_holds_its_revision() -> None:
    """runtime.task_definitions_in_use: a finished FargateTask (Stopped included) does not pin a revision."""
    from fargate_operator.runtime import Runtime
    from fargate_operator.store.watch_cache import WatchCache

    registry = WatchCache()
    for name, phase in (("done", "Stopped"), ("live", "Running")):
        registry.upsert(
            {
                "kind": "FargateTask",
                "metadata": {"name": name, "namespace": "ns"},
                "spec": {},
                "status": {"phase": phase, "taskDefinitionArn": f"arn:aws:ecs:r:1:task-definition/{name}:1"},
            }
        )
    rt = Runtime(OperatorConfig(), EcsGateway(GatewaySettings(region="us-east-1")), registry)
    assert rt.task_definitions_in_use() == {"arn:aws:ecs:r:1:task-definition/live:1"}


TD_ARN = "arn:aws:ecs:us-east-1:1:task-definition/job:3"


def _ftd(spec: dict[str, Any], arn: str = TD_ARN) -> dict[str, Any]:
    from fargate_operator.reconcile import task_definition as td_logic

    return {"spec": spec, "status": {"taskDefinitionArn": arn, "specHash": td_logic.content_hash(spec)}}


def test_essential_containers_default_to_essential() -> None:
    from fargate_operator.reconcile import task_definition as td_logic

    defs: list[dict[str, Any]] = [{"name": "a"}, {"name": "b", "essential": False}, {"name": "c", "essential": True}]
    assert td_logic.essential_containers(defs) == ["a", "c"]


def test_essentials_come_only_from_the_revision_the_task_runs() -> None:
    """Read from the FargateTaskDefinition in the watch cache: no ECS call per task."""
    from fargate_operator.reconcile import task_definition as td_logic

    spec = {"family": "job", "containerDefinitions": [{"name": "app"}, {"name": "envoy", "essential": False}]}
    ftd = _ftd(spec)
    assert td_logic.registered_essentials(ftd, TD_ARN) == ["app"]
    assert td_logic.registered_essentials(ftd, "job:3") == ["app"]  # RunTask's family:revision form
    assert td_logic.registered_essentials(ftd, TD_ARN.replace(":3", ":2")) is None  # another revision
    changed = {**ftd, "spec": {**spec, "containerDefinitions": [{"name": "app", "essential": False}]}}
    assert td_logic.registered_essentials(changed, TD_ARN) is None  # spec moved on, not registered yet
