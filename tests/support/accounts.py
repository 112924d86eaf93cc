"""Many AWS accounts in the test world: account and role names, FargateAccount manifests, networks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.ecs_proxy import EcsProxy
from fargate_devenv.world import World
from support.operator_process import Kube, OperatorProcess, awsvpc


def role_in(account: str, name: str = "fargate-operator") -> str:
    return f"arn:aws:iam::{account}:role/{name}"


ACCOUNT_A, ACCOUNT_B = "111111111111", "222222222222"
ROLE_A, ROLE_B = role_in(ACCOUNT_A), role_in(ACCOUNT_B)
DEFAULT_ACCOUNT = "123456789012"  # the emulator's, for the operator's own (static) credentials
REGION_B = "us-west-2"
OTHER_REGION = "eu-west-1"  # namespace A may use it besides its own


@dataclass
class Accounts:
    """The three namespaces of the module, their networks, the proxy and the operator."""

    a: str  # mapped to ACCOUNT_A by name, region us-east-1 (and eu-west-1 allowed)
    b: str  # mapped to ACCOUNT_B by label selector, region us-west-2
    unmapped: str
    c: str  # for tests that map it themselves (conflicts, a role that refuses)
    suffix: str
    nets: dict[tuple[str, str], dict[str, Any]]  # (account, region) -> awsvpc network configuration
    proxy: EcsProxy
    operator: OperatorProcess

    def kube(self, world: World, namespace: str) -> Kube:
        return Kube(world.control_plane, namespace)


def network_in(world: World, role: str | None, region: str) -> dict[str, Any]:
    ec2 = world.ecs.client_as(role, "ec2", region) if role else world.ecs.client("ec2", region)
    net: Network = world.ecs.create_network(ec2=ec2)
    return awsvpc(net.subnet_id, net.security_group_id)
