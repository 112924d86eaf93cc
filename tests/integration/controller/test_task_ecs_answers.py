"""FargateTask against ECS answers moto does not give: MISSING right after RunTask, RunTask failures, ListTasks rules.

The proxy's interceptors (tests/ecs_behaviours.py) play the documented ECS behaviour.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.ecs_proxy import EcsProxy
from fargate_operator.reconcile.task import started_by
from support.ecs_behaviours import (
    CAPACITY_UNAVAILABLE,
    HoldOnce,
    MissingAfterRunTask,
    PartialRunTask,
    RunTaskFailures,
    StartedByAlone,
)
from support.operator_process import (
    Kube,
    OperatorProcess,
    awsvpc,
    condition,
    manifest,
    task_definition_spec,
    task_manifest,
    wait_for,
)


@pytest.fixture(scope="module")
def cluster(operator_process: OperatorProcess, kube: Kube) -> Iterator[str]:
    """One cluster ("c") and one task definition ("td") for the module; yields the ECS cluster name."""
    name = f"answers-{kube.namespace}"
    kube.apply(manifest("FargateCluster", "c", {"clusterName": name}))
    kube.apply(manifest("FargateTaskDefinition", "td", task_definition_spec(f"answers-{kube.namespace}")))
    wait_for("task definition", lambda: kube.status("fargatetaskdefinition", "td").get("taskDefinitionArn"))
    wait_for("cluster", lambda: kube.status("fargatecluster", "c").get("clusterArn"))
    yield name
    kube.delete("fargatetaskdefinition", "td", wait=True)
    kube.delete("fargatecluster", "c", wait=True)


def _task(name: str, network: Network, **extra: Any) -> dict[str, Any]:
    return task_manifest(name, awsvpc(network.subnet_id, network.security_group_id), cluster="c", td="td", **extra)


def test_transient_missing_after_runtask_is_not_a_failure(
    cluster: str,
    operator_process: OperatorProcess,
    kube: Kube,
    ecs_client: Any,
    ecs_proxy: EcsProxy,
    network: Network,
    unique: str,
) -> None:
    """DescribeTasks answers MISSING for 8 s after RunTask; the task stays Running, TTL never fires, ECS's task runs."""
    missing = MissingAfterRunTask(seconds=8)
    ecs_proxy.intercept("RunTask", missing)
    ecs_proxy.intercept("DescribeTasks", missing)
    name = f"missing-{unique}"
    try:
        kube.apply(_task(name, network, ttlSecondsAfterFinished=1))
        arn = wait_for(
            "RunTask answered",
            lambda: (s := kube.status("fargatetask", name)).get("tasks") and s["tasks"][0]["taskArn"],
        )
        wait_for("ECS answered MISSING", lambda: missing.answered_missing >= 1, timeout=20)
        wait_for("the MISSING window over", missing.over, timeout=30)
        # A whole cycle describes the task as ECS shows it now; a Failed written in the window would be
        # past its 1 s TTL by the next one's sweep (a cycle sleeps the 1 s status interval first).
        operator_process.wait_cycles(2)
        obj = kube.get("fargatetask", name)
        assert obj is not None, "a transient MISSING made the task Failed and its TTL deleted the object"
        assert obj["status"]["phase"] == "Running", obj["status"]
        assert "Failed" not in [e["reason"] for e in kube.events(name)]
        task = ecs_client.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
        assert task["desiredStatus"] == "RUNNING", "the running task was stopped"
    finally:
        ecs_proxy.intercept("RunTask", None)
        ecs_proxy.intercept("DescribeTasks", None)
    kube.delete("fargatetask", name, wait=True)


def _ecs_tasks(ecs: Any, cluster: str, uid: str) -> list[str]:
    arns: list[str] = []
    for desired in ("RUNNING", "STOPPED"):
        arns += ecs.list_tasks(cluster=cluster, startedBy=started_by(uid), desiredStatus=desired)["taskArns"]
    return sorted(set(arns))


def test_adoption_after_sigkill_lists_by_startedby_alone(
    cluster: str,
    operator_process: OperatorProcess,
    kube: Kube,
    ecs_client: Any,
    ecs_proxy: EcsProxy,
    network: Network,
    unique: str,
) -> None:
    """The SIGKILL scenario of test_task.py with ListTasks as ECS specifies it: startedBy is the only filter."""
    rule, hold = StartedByAlone(), HoldOnce("RunTask", before=False)
    ecs_proxy.intercept("ListTasks", rule)
    ecs_proxy.intercept("RunTask", hold)
    name = f"alone-{unique}"
    try:
        kube.apply(_task(name, network))
        assert hold.held.wait(60), "RunTask never reached ECS"
        operator_process.kill()  # ECS started the task; the operator never heard
        hold.release()
        uid = kube.get("fargatetask", name)["metadata"]["uid"]  # type: ignore[index]
        assert len(_ecs_tasks(ecs_client, cluster, uid)) == 1
        operator_process.start()
        status = wait_for(
            "adopted after restart", lambda: (s := kube.status("fargatetask", name)).get("tasks") and s, timeout=90
        )
        # Kopf is done with the object (nothing scheduled); two whole cycles for any other wrong RunTask.
        wait_for("Kopf done with the object", lambda: kube.handled("fargatetask", name))
        operator_process.wait_cycles(2)
        assert [t["taskArn"] for t in status["tasks"]] == _ecs_tasks(ecs_client, cluster, uid)
        assert "Adopted" in [e["reason"] for e in kube.events(name)]
        assert rule.refused == 0 and rule.alone >= 1, (rule.refused, rule.alone)
    finally:
        hold.release()
        ecs_proxy.intercept("ListTasks", None)
        ecs_proxy.intercept("RunTask", None)
    kube.delete("fargatetask", name, wait=True)


def test_capacity_unavailable_keeps_the_task_pending_and_retries_exactly_once(
    cluster: str,
    operator_process: OperatorProcess,
    kube: Kube,
    ecs_client: Any,
    ecs_proxy: EcsProxy,
    network: Network,
    unique: str,
) -> None:
    """Two RunTask answers with only a capacity failure: Pending with status.failures, then Running, one task."""
    capacity = RunTaskFailures(times=2, failure={"reason": CAPACITY_UNAVAILABLE})
    ecs_proxy.intercept("RunTask", capacity)
    name = f"capacity-{unique}"
    try:
        kube.apply(_task(name, network))
        pending = wait_for("failures recorded", lambda: (s := kube.status("fargatetask", name)).get("failures") and s)
        assert pending["phase"] == "Pending", pending
        assert pending["failures"] == [{"reason": CAPACITY_UNAVAILABLE}]
        assert condition(pending, "Progressing")["status"] == "True"
        assert CAPACITY_UNAVAILABLE in condition(pending, "Progressing")["message"]
        assert condition(pending, "Degraded")["status"] == "False"
        running = wait_for(
            "Running after the retries",
            lambda: (s := kube.status("fargatetask", name)).get("phase") == "Running" and s,
            timeout=90,
            interval=1,
        )
        # Kopf is done with the object (no retry scheduled); two whole cycles for any other wrong RunTask.
        wait_for("Kopf done with the object", lambda: kube.handled("fargatetask", name))
        operator_process.wait_cycles(2)
        assert capacity.failed == 2 and capacity.forwarded == 1, (capacity.failed, capacity.forwarded)
        uid = kube.get("fargatetask", name)["metadata"]["uid"]  # type: ignore[index]
        assert [t["taskArn"] for t in running["tasks"]] == _ecs_tasks(ecs_client, cluster, uid)
        assert len(running["tasks"]) == 1
    finally:
        ecs_proxy.intercept("RunTask", None)
    kube.delete("fargatetask", name, wait=True)


def test_a_permanent_runtask_failure_is_failed_with_its_failures_recorded(
    cluster: str, operator_process: OperatorProcess, kube: Kube, ecs_proxy: EcsProxy, network: Network, unique: str
) -> None:
    """A placement failure that describes the request (ATTRIBUTE) is Failed at once, recorded, not retried."""
    failure = {"arn": "arn:aws:ecs:us-east-1:123456789012:container-instance/c/1", "reason": "ATTRIBUTE"}
    refuse = RunTaskFailures(times=100, failure=failure)
    ecs_proxy.intercept("RunTask", refuse)
    name = f"attribute-{unique}"
    try:
        kube.apply(_task(name, network))
        status = wait_for("Failed", lambda: (s := kube.status("fargatetask", name)).get("phase") == "Failed" and s)
        # A retry would stay in Kopf's progress (delayed) until it ran: none is scheduled, and two
        # whole status-loop cycles later nothing else has called RunTask either.
        wait_for("Kopf done with the object", lambda: kube.handled("fargatetask", name))
        operator_process.wait_cycles(2)
        assert refuse.failed == 1, "a permanent failure must not be retried"
        assert kube.status("fargatetask", name)["failures"] == [failure]
        assert (
            condition(status, "Degraded")["status"] == "True"
            and "ATTRIBUTE" in condition(status, "Degraded")["message"]
        )
    finally:
        ecs_proxy.intercept("RunTask", None)
    kube.delete("fargatetask", name, wait=True)


def test_partial_runtask_failure_is_surfaced(
    cluster: str, operator_process: OperatorProcess, kube: Kube, ecs_proxy: EcsProxy, network: Network, unique: str
) -> None:
    """count 2, one task started and one capacity failure: the task runs; the failure is in status, condition, Event."""
    ecs_proxy.intercept("RunTask", PartialRunTask({"reason": CAPACITY_UNAVAILABLE}))
    name = f"partial-{unique}"
    try:
        kube.apply(_task(name, network, count=2))
        status = wait_for("Running", lambda: (s := kube.status("fargatetask", name)).get("phase") == "Running" and s)
        assert len(status["tasks"]) == 1 and status.get("failures") == [{"reason": CAPACITY_UNAVAILABLE}], status
        assert "1 of 2 task(s) not started" in condition(status, "Ready")["message"]
        events = {e["reason"]: e for e in kube.events(name)}
        assert (
            events["PartialFailure"]["type"] == "Warning"
            and CAPACITY_UNAVAILABLE in events["PartialFailure"]["message"]
        )
        operator_process.wait_cycles(2)  # the status loop keeps the note
        assert "1 of 2 task(s) not started" in condition(kube.status("fargatetask", name), "Ready")["message"]
    finally:
        ecs_proxy.intercept("RunTask", None)
    kube.delete("fargatetask", name, wait=True)
