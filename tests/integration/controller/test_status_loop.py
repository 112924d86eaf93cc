"""The status loop (handlers/refresh.py): one bad cluster does not stop the others; handler verdicts stand."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ecs_behaviours import RefuseCluster
from fargate_operator.devenv.ecs_emulator import Network
from fargate_operator.devenv.ecs_proxy import EcsProxy
from fargate_operator.devenv.world import World
from operator_support import Kube, OperatorProcess, awsvpc, manifest, task_definition_spec, task_manifest, wait_for


@pytest.fixture(scope="module")
def td(operator_process: OperatorProcess, kube: Kube) -> Iterator[str]:
    kube.apply(manifest("FargateTaskDefinition", "job", task_definition_spec(f"loop-{kube.namespace}")))
    yield wait_for("task definition", lambda: kube.status("fargatetaskdefinition", "job").get("taskDefinitionArn"))
    kube.delete("fargatetaskdefinition", "job", wait=True)


def _cluster(kube: Kube, name: str, ecs_name: str) -> str:
    kube.apply(manifest("FargateCluster", name, {"clusterName": ecs_name}))
    arn: str = wait_for(f"cluster {name}", lambda: kube.status("fargatecluster", name).get("clusterArn"))
    return arn


def test_item11_one_failing_cluster_does_not_stop_status_of_the_others(
    td: str, world: World, kube: Kube, ecs_proxy: EcsProxy, network: Network, unique: str
) -> None:
    """DescribeTasks on cluster A is refused (AccessDenied); tasks on cluster B still get their status."""
    net = awsvpc(network.subnet_id, network.security_group_id)
    denied, fine = f"denied-{unique}", f"fine-{unique}"
    _cluster(kube, "a", denied)
    _cluster(kube, "b", fine)
    world.ecs.set_task_transition({"progression": "time", "seconds": 3600})  # stays RUNNING
    refuse = RefuseCluster("DescribeTasks", denied)
    try:
        # Created first, so the loop meets cluster A before cluster B.
        kube.apply(task_manifest(f"ta-{unique}", net, cluster="a", td="job"))
        wait_for("task in A Running", lambda: kube.status("fargatetask", f"ta-{unique}").get("phase") == "Running")
        ecs_proxy.intercept("DescribeTasks", refuse)
        world.ecs.set_task_transition({"progression": "manual", "times": 1})  # each describe moves a step
        kube.apply(task_manifest(f"tb-{unique}", net, cluster="b", td="job"))
        wait_for(
            "task in B Succeeded through the status loop",
            lambda: kube.status("fargatetask", f"tb-{unique}").get("phase") == "Succeeded",
            timeout=30,
        )
        assert refuse.refused > 0, "cluster A was never refused: the test did not test anything"
        assert kube.status("fargatetask", f"ta-{unique}").get("phase") == "Running"
    finally:
        ecs_proxy.intercept("DescribeTasks", None)
        world.ecs.set_task_transition({"progression": "manual", "times": 1})
    for name in (f"ta-{unique}", f"tb-{unique}"):
        kube.delete("fargatetask", name, wait=True)
    kube.delete("fargatecluster", "a", wait=True)
    kube.delete("fargatecluster", "b", wait=True)
