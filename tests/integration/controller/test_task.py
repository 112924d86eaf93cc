"""FargateTask: RunTask exactly once (even across SIGKILL), phases, StopTask on delete, ECS errors, TTL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.ecs_proxy import EcsProxy
from fargate_devenv.world import World
from fargate_operator.reconcile.task import started_by
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
def td_arn(operator_process: OperatorProcess, kube: Kube) -> Iterator[str]:
    """A cluster named "default"-free setup: one cluster and one task definition for the module."""
    kube.apply(manifest("FargateCluster", "tasks", {"clusterName": f"tasks-{kube.namespace}"}))
    kube.apply(manifest("FargateTaskDefinition", "job", task_definition_spec(f"job-{kube.namespace}")))
    arn = wait_for("task definition", lambda: kube.status("fargatetaskdefinition", "job").get("taskDefinitionArn"))
    wait_for("cluster", lambda: kube.status("fargatecluster", "tasks").get("clusterArn"))
    yield arn
    kube.delete("fargatetaskdefinition", "job", wait=True)
    kube.delete("fargatecluster", "tasks", wait=True)


def _task(name: str, network: Network, **extra: Any) -> dict[str, Any]:
    return task_manifest(name, awsvpc(network.subnet_id, network.security_group_id), cluster="tasks", td="job", **extra)


def _ecs_tasks(ecs: Any, cluster: str, uid: str) -> list[str]:
    arns: list[str] = []
    for desired in ("RUNNING", "STOPPED"):
        arns += ecs.list_tasks(cluster=cluster, startedBy=started_by(uid), desiredStatus=desired)["taskArns"]
    return sorted(set(arns))


def test_run_to_completion(
    td_arn: str, kube: Kube, ecs_client: Any, ecs_proxy: EcsProxy, network: Network, unique: str
) -> None:
    name = f"once-{unique}"
    before = ecs_proxy.count("RunTask")
    kube.apply(_task(name, network, overrides={"containerOverrides": [{"name": "app", "command": ["true"]}]}))
    status = wait_for("Succeeded", lambda: (s := kube.status("fargatetask", name)).get("phase") == "Succeeded" and s)
    assert status["tasks"][0]["taskArn"].startswith("arn:aws:ecs:")
    assert status["taskDefinitionArn"] == td_arn and status["startedBy"] == started_by(
        (kube.get("fargatetask", name) or {})["metadata"]["uid"]
    )
    assert condition(status, "Ready")["status"] == "True"
    assert ecs_proxy.count("RunTask") == before + 1
    reasons = [e["reason"] for e in kube.events(name)]
    assert "Started" in reasons and "Succeeded" in reasons
    kube.delete("fargatetask", name, wait=True)


def test_delete_stops_a_running_task(
    td_arn: str, world: World, kube: Kube, ecs_client: Any, network: Network, unique: str
) -> None:
    name = f"stop-{unique}"
    kube.apply(_task(name, network))
    arn = wait_for(
        "Running",
        lambda: (s := kube.status("fargatetask", name)).get("phase") == "Running" and s["tasks"][0]["taskArn"],
    )
    kube.delete("fargatetask", name, wait=True)
    cluster = f"tasks-{kube.namespace}"
    task = ecs_client.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
    assert task["desiredStatus"] == "STOPPED"
    assert "deleted" in task.get("stoppedReason", "")


def test_sigkill_after_runtask_never_starts_a_second_task(
    td_arn: str,
    world: World,
    operator_process: OperatorProcess,
    kube: Kube,
    ecs_client: Any,
    ecs_proxy: EcsProxy,
    network: Network,
    unique: str,
) -> None:
    """ECS has started the task, the operator has not heard back, and is SIGKILLed; then restarted."""
    name = f"crash-{unique}"
    ecs_proxy.hold_response("RunTask")
    try:
        kube.apply(_task(name, network))
        assert ecs_proxy.held.wait(60), "RunTask never reached ECS"
        operator_process.kill()
    finally:
        ecs_proxy.release()
    uid = kube.get("fargatetask", name)["metadata"]["uid"]  # type: ignore[index]
    cluster = f"tasks-{kube.namespace}"
    assert len(_ecs_tasks(ecs_client, cluster, uid)) == 1
    assert not kube.status("fargatetask", name).get("tasks"), "status was written before the kill"

    operator_process.start()
    status = wait_for(
        "status after restart", lambda: (s := kube.status("fargatetask", name)).get("tasks") and s, timeout=90
    )
    # The handler's result and Kopf's bookkeeping land in one write: it is done, nothing is scheduled;
    # two whole status-loop cycles give any other wrong RunTask (a stale event, a resume) time to show.
    assert kube.handled("fargatetask", name), kube.status("fargatetask", name).get("kopf")
    operator_process.wait_cycles(2)
    ecs_tasks = _ecs_tasks(ecs_client, cluster, uid)
    assert len(ecs_tasks) == 1, ecs_tasks
    assert [t["taskArn"] for t in status["tasks"]] == ecs_tasks
    assert "Adopted" in [e["reason"] for e in kube.events(name)]
    kube.delete("fargatetask", name, wait=True)


def test_ecs_rejection_is_permanent_without_hot_loop(
    td_arn: str, operator_process: OperatorProcess, kube: Kube, ecs_proxy: EcsProxy, network: Network, unique: str
) -> None:
    name = f"badnet-{unique}"
    before = ecs_proxy.count("RunTask")
    bad = _task(name, network)
    bad["spec"]["networkConfiguration"]["awsvpcConfiguration"]["subnets"] = ["subnet-doesnotexist"]
    kube.apply(bad)
    status = wait_for("Failed", lambda: (s := kube.status("fargatetask", name)).get("phase") == "Failed" and s)
    degraded = condition(status, "Degraded")
    assert degraded["status"] == "True" and "subnet-doesnotexist" in degraded["message"]
    assert "InvalidSubnetID.NotFound" in degraded["message"]
    # A retry would be in Kopf's progress (delayed) until it ran: Kopf is done with the object,
    # and two whole status-loop cycles later nothing else has called RunTask either.
    wait_for("Kopf done with the object", lambda: kube.handled("fargatetask", name))
    operator_process.wait_cycles(2)
    assert ecs_proxy.count("RunTask") == before + 1, "a permanent ECS error must not be retried"
    assert any(e["type"] == "Warning" for e in kube.events(name))
    kube.delete("fargatetask", name, wait=True)


def test_ttl_after_finished_deletes_the_object(td_arn: str, kube: Kube, network: Network, unique: str) -> None:
    name = f"ttl-{unique}"
    done = {"containerOverrides": [{"name": "app", "command": ["true"]}]}  # exits 0 at once
    kube.apply(_task(name, network, ttlSecondsAfterFinished=1, overrides=done))
    wait_for("object deleted after its TTL", lambda: kube.get("fargatetask", name) is None, timeout=60)


def test_argocd_health_of_live_objects(td_arn: str, kube: Kube, network: Network, unique: str) -> None:
    """deploy/argocd's Lua health check (gopher-lua as Argo CD runs it, and lupa) on live objects."""
    from support.argocd_health import health

    cluster = kube.get("fargatecluster", "tasks")
    assert cluster is not None and health(cluster)[0] == "Healthy"
    bad = _task(f"argo-{unique}", network)
    bad["spec"]["networkConfiguration"]["awsvpcConfiguration"]["subnets"] = ["subnet-missing"]
    kube.apply(bad)
    failed = wait_for(
        "Failed",
        lambda: (o := kube.get("fargatetask", f"argo-{unique}")) and o.get("status", {}).get("phase") == "Failed" and o,
    )
    status, message = health(failed)
    assert status == "Degraded" and "subnet-missing" in message
    kube.delete("fargatetask", f"argo-{unique}", wait=True)


STOPPING_STATES = ("DEACTIVATING", "STOPPING", "DEPROVISIONING")


def test_a_stopping_task_stays_running_until_it_stopped(td_arn: str, kube: Kube, network: Network, unique: str) -> None:
    """DEACTIVATING / STOPPING / DEPROVISIONING are the way down, not Pending.

    ECS's task lifecycle (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html)
    goes RUNNING -> DEACTIVATING -> STOPPING -> DEPROVISIONING -> STOPPED. Here the essential
    container exits after 2 s; its sidecar, `sleep` as PID 1, ignores SIGTERM, so the task stays
    STOPPING for the sidecar's stopTimeout (6 s) until SIGKILL -- long enough for the status loop
    (every second) to see it. Each observed stopping state must keep phase Running and Ready True.
    """
    name, family = f"down-{unique}", f"down-{unique}"
    spec = task_definition_spec(family)
    spec["containerDefinitions"] = [
        {**spec["containerDefinitions"][0], "command": ["sh", "-c", "sleep 2"]},
        {"name": "sidecar", "image": "busybox", "essential": False, "command": ["sleep", "600"], "stopTimeout": 6},
    ]
    kube.apply(manifest("FargateTaskDefinition", family, spec))
    wait_for("revision", lambda: kube.status("fargatetaskdefinition", family).get("taskDefinitionArn"))
    seen: list[tuple[str | None, str | None, str | None]] = []

    def finished() -> bool:
        s = kube.status("fargatetask", name)
        seen.append((s.get("lastStatus"), s.get("phase"), condition(s, "Ready").get("status")))
        return s.get("phase") in ("Succeeded", "Failed", "Stopped")

    kube.apply(task_manifest(name, awsvpc(network.subnet_id, network.security_group_id), cluster="tasks", td=family))
    wait_for("task finished", finished, timeout=90, interval=0.2)
    stopping = [s for s in seen if s[0] in STOPPING_STATES]
    assert "STOPPING" in {s[0] for s in stopping}, seen
    assert all(phase == "Running" and ready == "True" for _, phase, ready in stopping), stopping
    assert seen[-1][1] == "Succeeded", seen[-1]
    # Read from the FargateTaskDefinition at RunTask, kept by the CRD's status schema.
    assert kube.status("fargatetask", name).get("essentialContainers") == ["app"]
    kube.delete("fargatetask", name, wait=True)
    kube.delete("fargatetaskdefinition", family, wait=True)
