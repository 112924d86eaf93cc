"""The API server and etcd go away mid-run and come back: the operator reconnects and everything converges."""

from __future__ import annotations

import uuid
from typing import Any

from fargate_devenv.ecs_emulator import Network
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


def test_operator_survives_a_control_plane_restart(world: World, network: Network, tmp_path: Any) -> None:
    ns = f"restart-{uuid.uuid4().hex[:8]}"
    cp = world.control_plane
    cp.kubectl("create", "namespace", ns)
    kube = Kube(cp, ns)
    op = OperatorProcess(cp, world.ecs.endpoint, ns, tmp_path / "operator.log").start()
    net = awsvpc(network.subnet_id, network.security_group_id)
    cluster = f"restart-{ns}"
    try:
        kube.apply(manifest("FargateCluster", "c", {"clusterName": cluster}))
        kube.apply(manifest("FargateTaskDefinition", "td", task_definition_spec(f"restart-{ns}")))
        wait_for(
            "revision 1 before the outage", lambda: kube.status("fargatetaskdefinition", "td").get("revision") == 1
        )
        wait_for("cluster Ready before the outage", lambda: kube.status("fargatecluster", "c").get("clusterArn"))
        for i in range(10):
            kube.apply(task_manifest(f"before-{i}", net))
        cp.restart(downtime=5)  # mid-run: the "before" tasks are being started
        for i in range(10):
            kube.apply(task_manifest(f"after-{i}", net))
        kube.apply(
            manifest("FargateTaskDefinition", "td", {**task_definition_spec(f"restart-{ns}", image="busybox:2")})
        )
        names = [f"{p}-{i}" for p in ("before", "after") for i in range(10)]
        wait_for(
            "every task Running after the restart",
            lambda: all(kube.status("fargatetask", n).get("phase") == "Running" for n in names),
            timeout=180,
            interval=1,
        )
        wait_for(
            "the change made after the restart registered",
            lambda: kube.status("fargatetaskdefinition", "td").get("revision") == 2,
            timeout=60,
        )
        assert condition(kube.status("fargatecluster", "c"), "Ready").get("status") == "True"
        ecs: Any = world.ecs.client()
        for n in names:
            uid = kube.get("fargatetask", n)["metadata"]["uid"]  # type: ignore[index]
            assert len(ecs.list_tasks(cluster=cluster, startedBy=started_by(uid))["taskArns"]) == 1, n
        assert op.proc is not None and op.proc.poll() is None, "the operator kept running through the outage"
    finally:
        for n in [f"{p}-{i}" for p in ("before", "after") for i in range(10)]:
            kube.delete("fargatetask", n)
        op.stop()
