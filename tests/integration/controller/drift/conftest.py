"""The drift modules' world: an operator with a short status interval, the example network, and one
cluster and task definition ("drift", "app") their services run in. Module-scoped: each drift module
starts its own operator (tests/integration/controller/conftest.py gives it its namespace and proxy).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.ecs_proxy import EcsProxy
from fargate_devenv.world import World
from support.drift_checks import INTERVAL, cluster_emptied, td_spec
from support.operator_process import Kube, OperatorProcess, manifest, wait_for


@pytest.fixture(scope="module")
def operator_process(
    world: World, ecs_proxy: EcsProxy, namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    op = OperatorProcess(
        world.control_plane,
        ecs_proxy.endpoint,
        namespace,
        tmp_path_factory.mktemp("operator") / "operator.log",
        status_interval=INTERVAL,
    ).start()
    op.wait_ready()
    yield op
    op.stop()


@pytest.fixture(scope="module")
def example_network(world: World) -> tuple[Network, str, str]:
    """The network examples/ names, plus a second subnet and security group in its VPC."""
    net = world.ecs.create_example_network()
    ec2 = world.ecs.client("ec2")
    subnet = ec2.create_subnet(VpcId=net.vpc_id, CidrBlock="10.42.7.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"drift-{uuid.uuid4().hex[:6]}", Description="drift", VpcId=net.vpc_id)
    return net, subnet, group["GroupId"]


@pytest.fixture(scope="module")
def cluster(operator_process: OperatorProcess, kube: Kube, ecs_client: Any) -> Iterator[str]:
    spec = {"clusterName": f"drift-{kube.namespace}", "capacityProviders": ["FARGATE", "FARGATE_SPOT"]}
    kube.apply(manifest("FargateCluster", "drift", spec))
    arn: str = wait_for("cluster", lambda: kube.status("fargatecluster", "drift").get("clusterArn"))
    yield arn
    # A module's last test deletes its service just before this, and ECS refuses DeleteCluster until
    # that service's tasks have stopped (a second or two); the operator retries a deletion refused for
    # tasks every TASKS_STOPPING_RETRY_SECONDS (5 s), so the teardown would wait 5 s or a multiple of it.
    # Waiting for ECS to show the cluster empty first lets the operator's first DeleteCluster succeed.
    try:
        wait_for("drift cluster empty in ECS", lambda: cluster_emptied(ecs_client, arn), timeout=60)
    finally:
        kube.delete("fargatecluster", "drift", wait=True)


@pytest.fixture(scope="module")
def task_definition(operator_process: OperatorProcess, kube: Kube) -> Iterator[str]:
    family = f"drift-{kube.namespace}"
    spec = td_spec(family)
    kube.apply(manifest("FargateTaskDefinition", "app", spec))
    wait_for("revision", lambda: kube.status("fargatetaskdefinition", "app").get("taskDefinitionArn"))
    yield family
    kube.delete("fargatetaskdefinition", "app")
