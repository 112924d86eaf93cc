"""The status loop (handlers/refresh.py): one bad cluster does not stop the others; handler verdicts stand."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.ecs_proxy import EcsProxy
from fargate_devenv.world import World
from support.ecs_behaviours import HoldOnce, RefuseCluster, Reject
from support.operator_process import (
    Kube,
    OperatorProcess,
    awsvpc,
    condition,
    manifest,
    service_manifest,
    task_definition_spec,
    task_manifest,
    wait_for,
)


@pytest.fixture(scope="module")
def td(operator_process: OperatorProcess, kube: Kube) -> Iterator[str]:
    kube.apply(manifest("FargateTaskDefinition", "job", task_definition_spec(f"loop-{kube.namespace}")))
    yield wait_for("task definition", lambda: kube.status("fargatetaskdefinition", "job").get("taskDefinitionArn"))
    kube.delete("fargatetaskdefinition", "job", wait=True)


def _cluster(kube: Kube, name: str, ecs_name: str) -> str:
    kube.apply(manifest("FargateCluster", name, {"clusterName": ecs_name}))
    arn: str = wait_for(f"cluster {name}", lambda: kube.status("fargatecluster", name).get("clusterArn"))
    return arn


def test_one_failing_cluster_does_not_stop_status_of_the_others(
    td: str, world: World, kube: Kube, ecs_proxy: EcsProxy, network: Network, unique: str
) -> None:
    """DescribeTasks on cluster A is refused (AccessDenied); tasks on cluster B still get their status."""
    net = awsvpc(network.subnet_id, network.security_group_id)
    denied, fine = f"denied-{unique}", f"fine-{unique}"
    _cluster(kube, "a", denied)
    _cluster(kube, "b", fine)
    refuse = RefuseCluster("DescribeTasks", denied)
    try:
        # Created first, so the loop meets cluster A before cluster B.
        kube.apply(task_manifest(f"ta-{unique}", net, cluster="a", td="job"))
        wait_for("task in A Running", lambda: kube.status("fargatetask", f"ta-{unique}").get("phase") == "Running")
        ecs_proxy.intercept("DescribeTasks", refuse)
        done = {"containerOverrides": [{"name": "app", "command": ["true"]}]}  # exits 0 at once
        kube.apply(task_manifest(f"tb-{unique}", net, cluster="b", td="job", overrides=done))
        wait_for(
            "task in B Succeeded through the status loop",
            lambda: kube.status("fargatetask", f"tb-{unique}").get("phase") == "Succeeded",
            timeout=30,
        )
        assert refuse.refused > 0, "cluster A was never refused: the test did not test anything"
        assert kube.status("fargatetask", f"ta-{unique}").get("phase") == "Running"
    finally:
        ecs_proxy.intercept("DescribeTasks", None)
    for name in (f"ta-{unique}", f"tb-{unique}"):
        kube.delete("fargatetask", name, wait=True)
    kube.delete("fargatecluster", "a", wait=True)
    kube.delete("fargatecluster", "b", wait=True)


def test_status_loop_never_overwrites_a_handler_verdict_from_a_stale_snapshot(
    td: str,
    operator_process: OperatorProcess,
    kube: Kube,
    ecs_client: Any,
    ecs_proxy: EcsProxy,
    network: Network,
    unique: str,
) -> None:
    """The loop's DescribeServices is held while a spec change makes the handler write Degraded.

    Meanwhile ECS changes (desiredCount set behind the operator's back, as Application Auto
    Scaling does), so the loop has news to write once its answer arrives; computed from the
    snapshot it took before the describe, that write must not replace the handler's Degraded.
    """
    ecs_name = f"verdict-{unique}"
    cluster = _cluster(kube, f"c-{unique}", f"svc-{unique}")
    svc = service_manifest(
        f"s-{unique}",
        awsvpc(network.subnet_id, network.security_group_id),
        cluster=f"c-{unique}",
        td="job",
        service=ecs_name,
    )
    kube.apply(svc)
    wait_for("service created", lambda: kube.status("fargateservice", f"s-{unique}").get("serviceArn"))
    hold, reject = HoldOnce("DescribeServices", before=True), Reject(message="injected: desiredCount refused")
    ecs_proxy.intercept("DescribeServices", hold)
    try:
        assert hold.held.wait(30), "the status loop never described the service"
        ecs_proxy.intercept("UpdateService", reject)
        svc["spec"]["desiredCount"] = 2
        kube.apply(svc)
        degraded = wait_for(
            "the handler's Degraded",
            lambda: (
                (c := condition(kube.status("fargateservice", f"s-{unique}"), "Degraded")).get("status") == "True" and c
            ),
        )
        assert degraded["reason"] == "InvalidParameterException" and degraded["observedGeneration"] == 2
        ecs_proxy.intercept("UpdateService", None)
        ecs_client.update_service(cluster=cluster, service=ecs_name, desiredCount=3)
    finally:
        hold.release()
        ecs_proxy.intercept("UpdateService", None)
    wait_for("the loop saw ECS's change", lambda: kube.status("fargateservice", f"s-{unique}").get("desiredCount") == 3)
    operator_process.wait_cycles(2)  # a few more loop cycles
    status = kube.status("fargateservice", f"s-{unique}")
    assert condition(status, "Degraded").get("status") == "True", status["conditions"]
    assert condition(status, "Degraded")["reason"] == "InvalidParameterException"
    ecs_proxy.intercept("DescribeServices", None)
    kube.delete("fargateservice", f"s-{unique}", wait=True)
    kube.delete("fargatecluster", f"c-{unique}", wait=True)
