"""FargateTask's controller in-process: RunTask exactly once through every crash window, StopTask on deletion.

ECS is played by `Tasks` on top of FakeEcs (our gateway interface): RunTask is idempotent per
clientToken as ECS documents it, and ListTasks lists only tasks whose desired status is RUNNING.
A crash is the controller's call ending early; the retry is a new `run` with what Kubernetes kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from fargate_operator.controllers import task as controller
from fargate_operator.ecs.errors import EcsError
from fargate_operator.ecs.settings import Where
from fargate_operator.models.kinds import RUN_MARK
from fargate_operator.models.ownership import Owner
from fargate_operator.reconcile import task as logic
from support.fake_ecs import FakeEcs

OWNER = Owner("FargateTask", "team-a", "job", "uid-1")
OTHER = Owner("FargateTask", "team-b", "job", "uid-2")
CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/c"
TD = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"
HERE = Where("us-east-1")
CAPACITY = "Capacity is unavailable at this time. Please try again later or in a different availability zone"


class Crash(Exception):
    """The operator process dies here."""


@dataclass
class Tasks:
    """ECS's tasks as the controller may see them, answering through a FakeEcs."""

    ecs: FakeEcs = field(default_factory=FakeEcs)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_token: dict[str, list[str]] = field(default_factory=dict)
    listed_lag: bool = False  # ListTasks does not see new tasks yet (eventual consistency)
    numbers: itertools.count[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.ecs.on("RunTask", self._run).on("ListTasks", self._list).on("DescribeTasks", self._describe)
        self.ecs.on("StopTask", self._stop)

    def started(self) -> int:
        """How many tasks ECS ever started."""
        return len(self.tasks)

    def add(self, owner: Owner, last: str = "RUNNING") -> str:
        arn = f"{CLUSTER.replace(':cluster/', ':task/')}/{next(self.numbers)}"
        desired = "STOPPED" if last == "STOPPED" else "RUNNING"
        self.tasks[arn] = {
            "taskArn": arn,
            "clusterArn": CLUSTER,
            "lastStatus": last,
            "desiredStatus": desired,
            "startedBy": logic.started_by(owner.uid),
            "tags": owner.tags(),
            "containers": [{"name": "app", "exitCode": 0}] if last == "STOPPED" else [],
            "stopCode": "EssentialContainerExited" if last == "STOPPED" else None,
        }
        return arn

    def _run(self, p: dict[str, Any]) -> dict[str, Any]:
        token = p["clientToken"]
        if token not in self.by_token:  # ECS: the same token returns the original request's tasks
            owner = Owner("FargateTask", "team-a", "job", token)
            self.by_token[token] = [self.add(owner, "PROVISIONING") for _ in range(p.get("count", 1))]
        return {"tasks": [self.tasks[a] for a in self.by_token[token]], "failures": []}

    def _list(self, p: dict[str, Any]) -> dict[str, Any]:
        if self.listed_lag:
            return {"taskArns": []}
        running = [t for t in self.tasks.values() if t["desiredStatus"] == "RUNNING"]
        return {"taskArns": [t["taskArn"] for t in running if t["startedBy"] == p["startedBy"]]}

    def _describe(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"tasks": [self.tasks[a] for a in p["tasks"] if a in self.tasks]}

    def _stop(self, p: dict[str, Any]) -> dict[str, Any]:
        task = self.tasks[p["task"]]
        task["desiredStatus"] = "STOPPED"
        return {"task": task}

    def stop_all(self) -> None:
        """The tasks ran to the end (ListTasks no longer lists them)."""
        for t in self.tasks.values():
            t.update(lastStatus="STOPPED", desiredStatus="STOPPED", containers=[{"name": "app", "exitCode": 0}])
            t["stopCode"] = "EssentialContainerExited"


@dataclass
class Kube:
    """controller.Kube over what Kubernetes keeps between attempts: the mark (`saved`); and the Events posted."""

    saved: dict[str, Any] | None = None
    events: list[str] = field(default_factory=list)
    log: list[str] | None = None  # shared with the ECS side to check the order of writes
    crash_after_mark: bool = False

    async def mark(self, mark: dict[str, Any]) -> None:
        self.saved = json.loads(json.dumps(mark))  # as the annotation keeps it
        if self.log is not None:
            self.log.append("mark")
        if self.crash_after_mark:
            self.crash_after_mark = False
            raise Crash

    async def event(self, reason: str, message: str, warning: bool = False) -> None:
        self.events.append(reason)


admitted: list[tuple[str, str, bool]] = []


async def admit(cluster: str, task_definition: str, marked: bool) -> str:
    admitted.append((cluster, task_definition, marked))
    return task_definition


def desired(count: int = 1, owner: Owner = OWNER) -> controller.Desired:
    return controller.Desired(owner, {"count": count, "taskDefinition": TD}, CLUSTER, TD)


def run(world: Tasks, kube: Kube, now: float = 1000.0, count: int = 1) -> controller.Started:
    return asyncio.run(controller.run(world.ecs, kube, admit, desired(count), kube.saved, HERE, now=lambda: now))


def ops(world: Tasks) -> list[str]:
    return [op for op, _ in world.ecs.calls]


def test_a_new_task_costs_one_ecs_call_and_is_marked_before_runtask() -> None:
    world, log = Tasks(), []

    def logged(p: dict[str, Any]) -> dict[str, Any]:
        log.append("RunTask")
        return world._run(p)

    world.ecs.on("RunTask", logged)
    kube = Kube(log=log)
    started = run(world, kube)
    assert ops(world) == ["RunTask"]
    assert log == ["mark", "RunTask"]
    assert kube.saved is not None and kube.saved["cluster"] == CLUSTER and kube.saved["taskDefinition"] == TD
    assert kube.saved["account"] == "own" and kube.saved["region"] == "us-east-1"
    request = world.ecs.made("RunTask")[0]
    assert request["clientToken"] == OWNER.uid and request["startedBy"] == "fargate-operator/uid-1"
    assert len(started.tasks) == 1 and not started.adopted
    assert kube.events == ["Started"]


def test_a_crash_after_the_mark_before_runtask_runs_once_on_the_retry() -> None:
    world, kube = Tasks(), Kube(crash_after_mark=True)
    with pytest.raises(Crash):
        run(world, kube, now=1000.0)
    assert world.started() == 0 and kube.saved is not None
    with pytest.raises(controller.Again):  # within the settle window: ListTasks may lag, nothing runs
        run(world, kube, now=1005.0)
    assert world.ecs.made("RunTask") == []
    started = run(world, kube, now=1000.0 + controller.LIST_SETTLE_SECONDS + 1)
    assert world.started() == 1 and len(world.ecs.made("RunTask")) == 1
    assert ops(world) == ["ListTasks", "ListTasks", "RunTask"]
    assert started.tasks[0]["taskArn"] in world.tasks


def test_a_crash_after_runtask_before_status_adopts_the_task_instead_of_running_again() -> None:
    world, kube = Tasks(), Kube()
    first = run(world, kube)  # RunTask answered; the status patch never happened
    again = run(world, kube, now=2000.0)
    assert world.started() == 1 and len(world.ecs.made("RunTask")) == 1
    assert again.adopted and [t["taskArn"] for t in again.tasks] == [t["taskArn"] for t in first.tasks]
    assert ops(world)[1:] == ["ListTasks", "DescribeTasks"]
    assert kube.events[-1] == "Adopted"


def test_a_marked_object_with_nothing_listed_within_the_settle_window_looks_again_without_running() -> None:
    world, kube = Tasks(), Kube()
    run(world, kube, now=1000.0)
    world.listed_lag = True  # ECS has the task, ListTasks does not show it yet
    with pytest.raises(controller.Again):
        run(world, kube, now=1000.0 + controller.LIST_SETTLE_SECONDS - 1)
    assert len(world.ecs.made("RunTask")) == 1 and world.started() == 1


def test_a_task_that_already_stopped_is_found_through_the_client_token_not_started_again() -> None:
    world, kube = Tasks(), Kube()
    run(world, kube, now=1000.0)
    world.stop_all()  # it ran to the end before any status was written: ListTasks no longer lists it
    started = run(world, kube, now=5000.0)
    assert world.started() == 1  # the second RunTask carried the same clientToken: ECS returned the first task
    assert [p["clientToken"] for p in world.ecs.made("RunTask")] == [OWNER.uid, OWNER.uid]
    status, verdict = controller.status_of(started, desired(), None, {})
    assert status["phase"] == logic.SUCCEEDED and verdict.ready


@pytest.mark.parametrize("crash_at", ["after the mark", "after RunTask", "before the status patch"])
def test_every_crash_window_ends_with_exactly_one_started_task(crash_at: str) -> None:
    world, kube = Tasks(), Kube(crash_after_mark=crash_at == "after the mark")
    if crash_at == "after RunTask":  # ECS started it, the answer was lost with the process

        def lost(p: dict[str, Any]) -> dict[str, Any]:
            world._run(p)
            raise Crash

        world.ecs.on("RunTask", lost)
    with contextlib.nullcontext() if crash_at == "before the status patch" else pytest.raises(Crash):
        run(world, kube, now=1000.0)  # before the status patch: the answer came back, status was never written
    world.ecs.on("RunTask", world._run)
    started = run(world, kube, now=1000.0 + controller.LIST_SETTLE_SECONDS + 1)
    assert len(started.tasks) == 1 and world.started() == 1
    assert started.adopted is (crash_at != "after the mark")


def test_a_listed_task_not_yet_described_is_looked_at_again() -> None:
    world, kube = Tasks(), Kube()
    run(world, kube)
    world.ecs.on("DescribeTasks", lambda p: {"tasks": []})
    with pytest.raises(controller.Again):
        run(world, kube, now=3000.0)
    assert len(world.ecs.made("RunTask")) == 1


def test_a_marked_retry_passes_the_tenancy_checks_and_a_refusal_runs_nothing() -> None:
    admitted.clear()
    world, kube = Tasks(), Kube(saved={"cluster": CLUSTER, "taskDefinition": TD, "at": 0})

    async def refuse(cluster: str, task_definition: str, marked: bool) -> str:
        raise PermissionError(f"{cluster} not shared")

    with pytest.raises(PermissionError):
        asyncio.run(controller.run(world.ecs, kube, refuse, desired(), kube.saved, HERE))
    assert (
        world.ecs.made("RunTask") == [] and kube.saved is not None and kube.saved["at"] == 0
    )  # not marked again either
    run(world, kube, now=5000.0)
    assert admitted == [(CLUSTER, TD, True)]


def test_runtask_with_failures_only_says_whether_a_retry_can_help() -> None:
    world, kube = Tasks(), Kube()
    world.ecs.on("RunTask", lambda p: {"tasks": [], "failures": [{"reason": CAPACITY}]})
    with pytest.raises(controller.NothingStarted) as none:
        run(world, kube)
    assert none.value.retryable and none.value.failures == [{"reason": CAPACITY}]
    world.ecs.on("RunTask", lambda p: {"tasks": [], "failures": [{"reason": "ATTRIBUTE"}]})
    with pytest.raises(controller.NothingStarted) as none:
        run(world, kube, now=9000.0)
    assert not none.value.retryable


def test_a_partial_runtask_records_its_failures_and_says_so_in_the_verdict() -> None:
    world, kube = Tasks(), Kube()
    world.ecs.on("RunTask", lambda p: {"tasks": [world.tasks[world.add(OWNER)]], "failures": [{"reason": CAPACITY}]})
    started = run(world, kube, count=2)
    status, verdict = controller.status_of(started, desired(2), ["app"], {})
    assert status["failures"] == [{"reason": CAPACITY}] and status["essentialContainers"] == ["app"]
    assert "1 of 2 task(s) not started" in verdict.message
    assert kube.events == ["Started", "PartialFailure"]
    cleared, _ = controller.status_of(controller.Started(started.tasks, TD), desired(2), None, status)
    assert cleared["failures"] is None  # a retry that started everything clears the record


def test_a_retry_never_acts_in_another_account_or_region_than_the_mark_names() -> None:
    mark = controller.new_mark(CLUSTER, TD, HERE, 1.0)
    assert controller.moved(mark, HERE) is None
    assert controller.moved(mark, Where("eu-west-1")) is not None
    assert controller.moved(mark, Where("us-east-1", "111111111111", "arn:aws:iam::111111111111:role/r")) is not None


def test_the_mark_is_read_back_as_written_and_a_garbled_one_counts_as_old() -> None:
    mark = controller.new_mark(CLUSTER, TD, HERE, 12.5)
    assert controller.read_mark({"annotations": {RUN_MARK: json.dumps(mark)}}) == mark
    assert controller.read_mark({"annotations": {RUN_MARK: "{"}}) == {"at": 0}
    assert controller.read_mark({}) is None


def stop(world: Tasks, kube: Kube, recorded: list[dict[str, Any]], mark: dict[str, Any] | None) -> list[str]:
    return asyncio.run(controller.stop(world.ecs, kube, OWNER, CLUSTER, recorded, mark, "deleted"))


def test_deletion_stops_only_the_objects_own_tasks() -> None:
    world, kube = Tasks(), Kube()
    mine, theirs, done = world.add(OWNER), world.add(OTHER), world.add(OWNER, "STOPPED")
    recorded = [{"taskArn": a, "lastStatus": world.tasks[a]["lastStatus"]} for a in (mine, theirs, done)]
    assert stop(world, kube, recorded, None) == [mine]
    assert [p["task"] for p in world.ecs.made("StopTask")] == [mine]
    assert kube.events == ["Stopped"]


def test_deletion_of_a_marked_object_without_recorded_tasks_looks_for_them_first() -> None:
    world, kube = Tasks(), Kube()
    started = run(world, kube)  # RunTask ran, its result never reached status
    assert stop(world, kube, [], kube.saved) == [started.tasks[0]["taskArn"]]
    assert ops(world)[1:] == ["ListTasks", "DescribeTasks", "StopTask"]


def test_deletion_treats_a_gone_cluster_or_task_as_stopped_and_retries_anything_else() -> None:
    world, kube = Tasks(), Kube()
    arn = world.add(OWNER)
    recorded = [{"taskArn": arn, "lastStatus": "RUNNING"}]
    world.ecs.fail("StopTask", "InvalidParameterException", "The referenced task was not found.")
    assert stop(world, kube, recorded, None) == []
    world.ecs.fail("DescribeTasks", "ClusterNotFoundException")
    assert stop(world, kube, recorded, None) == []
    world.ecs.fail("DescribeTasks", "ThrottlingException", http_status=400)
    with pytest.raises(EcsError):
        stop(world, kube, recorded, None)


def test_a_stop_through_the_adapter_stops_exactly_the_named_own_tasks() -> None:
    world, kube = Tasks(), Kube()
    mine, other_mine, theirs = world.add(OWNER), world.add(OWNER), world.add(OTHER)
    todo = {mine: "asked", theirs: "asked too"}
    asyncio.run(controller.stop_named(world.ecs, kube, OWNER, CLUSTER, todo))
    assert world.ecs.made("StopTask") == [{"reason": "asked", "task": mine, "cluster": CLUSTER}]
    assert world.tasks[other_mine]["desiredStatus"] == "RUNNING"
