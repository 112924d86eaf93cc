"""ECS misbehaving (30% throttling, 5% server errors): everything converges, nothing starts twice, backoff shows.

Faults are injected by the proxy before requests reach the emulator. (A fault
*after* ECS acted is covered for RunTask by the SIGKILL test, and otherwise by
clientToken, which moto ignores.) Bounded: 20 tasks, 3 services, 120 s.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.ecs_proxy import EcsProxy, Faults
from fargate_devenv.world import World
from fargate_operator.reconcile.task import started_by
from support.operator_process import (
    Kube,
    OperatorProcess,
    awsvpc,
    manifest,
    service_manifest,
    task_definition_spec,
    task_manifest,
    wait_for,
)

TASKS, SERVICES = 20, 3


@pytest.fixture(scope="module")
def faulty(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[OperatorProcess, EcsProxy, Kube]]:
    import uuid

    ns = f"chaos-{uuid.uuid4().hex[:8]}"
    world.control_plane.kubectl("create", "namespace", ns)
    proxy = EcsProxy(world.ecs.endpoint, seed=11).start()
    proxy.faults = Faults(throttle=0.30, server_error=0.05)
    op = OperatorProcess(
        world.control_plane, proxy.endpoint, ns, tmp_path_factory.mktemp("chaos") / "operator.log"
    ).start()
    yield op, proxy, Kube(world.control_plane, ns)
    op.stop()
    proxy.stop()


def test_throttling_and_server_errors_converge_without_duplicates(
    world: World, faulty: tuple[OperatorProcess, EcsProxy, Kube], network: Network, unique: str
) -> None:
    op, proxy, kube = faulty
    try:
        cluster = f"chaos-{unique}"
        kube.apply(manifest("FargateCluster", "c", {"clusterName": cluster}))
        kube.apply(manifest("FargateTaskDefinition", "td", task_definition_spec(f"chaos-{unique}")))
        net = awsvpc(network.subnet_id, network.security_group_id)
        for i in range(SERVICES):
            kube.apply(service_manifest(f"s{i}", net, service=f"s{i}-{unique}"))
        for i in range(TASKS):
            kube.apply(task_manifest(f"t{i}", net))

        def converged() -> bool:
            tasks = [kube.status("fargatetask", f"t{i}").get("phase") for i in range(TASKS)]
            services = [kube.status("fargateservice", f"s{i}").get("serviceArn") for i in range(SERVICES)]
            return all(p == "Running" for p in tasks) and all(services)

        wait_for("everything converged under faults", converged, timeout=120, interval=1)
        ecs: Any = world.ecs.client()
        for i in range(TASKS):
            uid = kube.get("fargatetask", f"t{i}")["metadata"]["uid"]  # type: ignore[index]
            assert len(ecs.list_tasks(cluster=cluster, startedBy=started_by(uid))["taskArns"]) == 1, f"t{i}"
        assert len(ecs.list_services(cluster=cluster)["serviceArns"]) == SERVICES
        assert proxy.injected["throttle"] > 0 and proxy.injected["server_error"] > 0, proxy.injected
        metrics = urllib.request.urlopen(f"{op.rest_endpoint}/metrics", timeout=5).read().decode()
        retries = sum(
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("fargate_operator_ecs_retries_total{")
        )
        assert retries > 0, "botocore's backoff shows in the metrics"
        print(
            f"faults injected: {dict(proxy.injected)}; ECS calls: {sum(proxy.calls.values())}; retries: {retries:.0f}"
        )
    finally:
        proxy.faults = Faults()
        for i in range(TASKS):
            kube.delete("fargatetask", f"t{i}")
        for i in range(SERVICES):
            kube.delete("fargateservice", f"s{i}")
