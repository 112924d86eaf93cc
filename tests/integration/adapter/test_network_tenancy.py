"""Network and traffic references at the front doors: the REST adapter and MCP refuse what the tenancy
config does not allow, with the message the operator gives an object, before writing anything.

The operator runs as a process with the tenancy config below (plus the test world's subnets and
security groups, conftest.py); callers use boto3 on the REST adapter and the official MCP client.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from mcp import ClientSession

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.world import World
from support.adapter import mcp
from support.operator_process import Kube, OperatorProcess, awsvpc, condition, manifest, wait_for

# Target groups named team-two-* are the api2-* namespaces'; the writer's namespace (api-*) has none.
# The emulator's security groups for all, not the VPC's default one.
TENANCY_CONFIG = """
loadBalancers:
  - namespaces: ["api2-*"]
    arns: ["arn:aws:elasticloadbalancing:*:*:targetgroup/team-two-*"]
securityGroups:
  - namespaces: ["*"]
    ids: ["sg-*"]
"""
THEIR_TARGET_GROUP = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/team-two-web/0123456789abcdef"


def _fargate_family(ecs: Any, family: str) -> None:
    ecs.register_task_definition(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "app", "image": "busybox", "memory": 256, "essential": True}],
    )


def _names(kube: Kube, plural: str) -> list[str]:
    out = kube.cp.kubectl("get", plural, "-n", kube.namespace, "-o", "json").stdout
    return [o["metadata"]["name"] for o in json.loads(out)["items"]]


def _refusal(kube: Kube, kind: str, name: str) -> str:
    def refused() -> str | None:
        degraded = condition(kube.status(kind, name), "Degraded")
        return degraded.get("message") if degraded.get("reason") == "TenancyRefused" else None

    return wait_for(f"{kind} {name} refused", refused)


def test_createservice_behind_a_target_group_the_namespace_may_not_use_is_refused_before_anything_is_written(
    world: World, ecs_for: Callable[[str], Any], namespace: str, network: Network, unique: str
) -> None:
    ecs, kube = ecs_for("writer"), Kube(world.control_plane, namespace)
    cluster, family = f"net-{unique}", f"net-{unique}"
    ecs.create_cluster(clusterName=cluster)
    _fargate_family(ecs, family)
    request = {
        "cluster": cluster,
        "serviceName": f"web-{unique}",
        "taskDefinition": family,
        "desiredCount": 1,
        "networkConfiguration": awsvpc(network.subnet_id, network.security_group_id),
        "loadBalancers": [{"targetGroupArn": THEIR_TARGET_GROUP, "containerName": "app", "containerPort": 8080}],
    }
    before = _names(kube, "fargateservices")
    with pytest.raises(ClientError) as err:
        ecs.create_service(**request)
    code, message = err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]
    assert code == "ClientException", err.value.response
    assert (
        f"spec.loadBalancers[0].targetGroupArn: load balancer target {THEIR_TARGET_GROUP} may not be used from "
        f"namespace {namespace}: no loadBalancers rule allows it (it may use loadBalancers.arns: none)"
    ) in message, message
    assert _names(kube, "fargateservices") == before, "a refused request leaves no object to start later"

    # The same spec written with kubectl is refused by the operator with the very same message.
    spec = {k: v for k, v in request.items() if k != "taskDefinition"} | {"taskDefinitionRef": {"name": family}}
    kube.apply(manifest("FargateService", f"kubectl-{unique}", spec))
    assert _refusal(kube, "fargateservice", f"kubectl-{unique}") == message
    kube.delete("fargateservice", f"kubectl-{unique}", wait=True)


def test_runtask_in_the_vpcs_default_security_group_is_refused_over_rest_and_mcp_alike(
    world: World,
    adapter: OperatorProcess,
    ecs_for: Callable[[str], Any],
    credentials: dict[str, dict[str, str]],
    namespace: str,
    network: Network,
    unique: str,
) -> None:
    ecs, kube = ecs_for("writer"), Kube(world.control_plane, namespace)
    cluster, family = f"net-run-{unique}", f"net-run-{unique}"
    ecs.create_cluster(clusterName=cluster)
    _fargate_family(ecs, family)
    # No securityGroups: ECS would put the task in the VPC's default group, which the config does not allow.
    request = {
        "cluster": cluster,
        "taskDefinition": family,
        "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": [network.subnet_id]}},
    }
    before = _names(kube, "fargatetasks")
    with pytest.raises(ClientError) as err:
        ecs.run_task(**request)
    assert err.value.response["Error"]["Code"] == "ClientException", err.value.response
    message = err.value.response["Error"]["Message"]
    assert "spec.networkConfiguration.awsvpcConfiguration.securityGroups: none named" in message, message
    assert "VPC's default security group" in message and f"which namespace {namespace} may not use" in message, message

    async def work(s: ClientSession) -> Any:
        return await s.call_tool("runtask", request)

    res = mcp(adapter, credentials["writer"]["token"], work)
    assert res.is_error, res
    assert message in res.content[0].text, res.content[0].text
    assert _names(kube, "fargatetasks") == before, "nothing was written for either front door"
