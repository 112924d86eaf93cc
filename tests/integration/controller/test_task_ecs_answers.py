"""FargateTask against ECS answers moto does not give: MISSING right after RunTask, RunTask failures, ListTasks rules.

The proxy's interceptors (tests/ecs_behaviours.py) play the documented ECS behaviour.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from ecs_behaviours import MissingAfterRunTask
from fargate_operator.devenv.ecs_emulator import Network
from fargate_operator.devenv.ecs_proxy import EcsProxy
from fargate_operator.devenv.world import World
from operator_support import Kube, OperatorProcess, awsvpc, manifest, task_definition_spec, task_manifest, wait_for


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


@pytest.fixture
def long_running(world: World) -> Iterator[None]:
    """Tasks stay RUNNING (moto otherwise moves a task one step per DescribeTasks)."""
    world.ecs.set_task_transition({"progression": "time", "seconds": 3600})
    yield
    world.ecs.set_task_transition({"progression": "manual", "times": 1})


def _task(name: str, network: Network, **extra: Any) -> dict[str, Any]:
    return task_manifest(name, awsvpc(network.subnet_id, network.security_group_id), cluster="c", td="td", **extra)


def test_item4_transient_missing_after_runtask_is_not_a_failure(
    cluster: str, long_running: None, kube: Kube, ecs_client: Any, ecs_proxy: EcsProxy, network: Network, unique: str
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
        time.sleep(10)  # past the MISSING window, plus TTL and a few status cycles
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
