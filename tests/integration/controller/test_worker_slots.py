"""Objects that wait (a missing reference, backoff) must not keep other objects of their kind from being handled."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.ecs_proxy import EcsProxy
from fargate_devenv.world import World
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

MAX_WORKERS = 2


@pytest.fixture(scope="module")
def two_slots(
    world: World, ecs_proxy: EcsProxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[OperatorProcess, Kube]]:
    """An operator allowed MAX_WORKERS objects of a kind at once, in a namespace of its own."""
    ns = f"slots-{uuid.uuid4().hex[:8]}"
    world.control_plane.kubectl("create", "namespace", ns)
    op = OperatorProcess(
        world.control_plane,
        ecs_proxy.endpoint,
        ns,
        tmp_path_factory.mktemp("slots") / "operator.log",
        env={"FARGATE_OPERATOR_MAX_WORKERS": str(MAX_WORKERS)},
    ).start()
    yield op, Kube(world.control_plane, ns)
    op.stop()


def test_waiting_objects_do_not_hold_every_worker_slot(
    two_slots: tuple[OperatorProcess, Kube], world: World, network: Network, unique: str
) -> None:
    """Two FargateTasks wait for a cluster that does not exist, then a valid one must start."""
    _, kube = two_slots
    net = awsvpc(network.subnet_id, network.security_group_id)
    kube.apply(manifest("FargateCluster", "c", {"clusterName": f"slots-{unique}"}))
    kube.apply(manifest("FargateTaskDefinition", "td", task_definition_spec(f"slots-{unique}")))
    wait_for("cluster", lambda: kube.status("fargatecluster", "c").get("clusterArn"))
    wait_for("task definition", lambda: kube.status("fargatetaskdefinition", "td").get("taskDefinitionArn"))
    stuck = [f"stuck{i}-{unique}" for i in range(MAX_WORKERS)]
    for name in stuck:
        kube.apply(task_manifest(name, net, cluster="nope", td="td"))
    for name in stuck:
        wait_for(
            f"{name} waiting",
            lambda n=name: condition(kube.status("fargatetask", n), "Progressing").get("reason") == "Waiting",
        )
    kube.apply(task_manifest(f"valid-{unique}", net, cluster="c", td="td"))
    wait_for(
        "the valid FargateTask Running",
        lambda: kube.status("fargatetask", f"valid-{unique}").get("phase") == "Running",
        timeout=45,
    )
    for name in stuck:  # still waiting, still retried: nothing gave up on them
        assert condition(kube.status("fargatetask", name), "Progressing").get("reason") == "Waiting"
    for name in [*stuck, f"valid-{unique}"]:
        kube.delete("fargatetask", name, wait=True)
    kube.delete("fargatetaskdefinition", "td", wait=True)
    kube.delete("fargatecluster", "c", wait=True)
