"""The emulator and examples/: the manifests in examples/ are accepted as ECS requests, in the seeded network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fargate_devenv.ecs_emulator import EXAMPLE_SECURITY_GROUP, EXAMPLE_SUBNET, EcsEmulator
from support.emulator import running, service, steady, wait_task, wait_until

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# Members the CRDs add to the ECS requests (docs/resources.md); everything else is ECS's own.
KUBERNETES_ONLY = {
    "deletionPolicy",
    "adoptionPolicy",
    "revisionHistoryLimit",
    "deleteDeregisteredRevisions",
    "clusterRef",
    "taskDefinitionRef",
    "ttlSecondsAfterFinished",
}


def _spec(kind: str) -> dict[str, Any]:
    for path in EXAMPLES.glob("*.yaml"):
        doc = yaml.safe_load(path.read_text())
        if doc["kind"] == kind:
            return {k: v for k, v in doc["spec"].items() if k not in KUBERNETES_ONLY}
    raise AssertionError(f"no {kind} in {EXAMPLES}")


def test_example_network_has_the_ids_the_examples_name(emulator: EcsEmulator, ecs: Any) -> None:
    network = emulator.create_example_network()
    assert (network.subnet_id, network.security_group_id) == (EXAMPLE_SUBNET, EXAMPLE_SECURITY_GROUP)
    assert emulator.create_example_network() == network  # idempotent: `make run` may seed twice
    ec2 = emulator.client("ec2")
    assert ec2.describe_subnets(SubnetIds=[EXAMPLE_SUBNET])["Subnets"][0]["VpcId"] == network.vpc_id
    assert (
        ec2.describe_security_groups(GroupIds=[EXAMPLE_SECURITY_GROUP])["SecurityGroups"][0]["VpcId"] == network.vpc_id
    )


def test_examples_are_accepted_and_run(emulator: EcsEmulator, ecs: Any) -> None:
    """Load balancer, Service Connect, EFS, secrets, roles, FARGATE/FARGATE_SPOT, platformVersion LATEST."""
    emulator.create_example_network()
    cluster = ecs.create_cluster(**_spec("FargateCluster"))["cluster"]
    assert cluster["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    td = ecs.register_task_definition(**_spec("FargateTaskDefinition"))["taskDefinition"]
    assert td["cpu"] == "512" and td["volumes"][0]["efsVolumeConfiguration"]["fileSystemId"] == "fs-0123456789abcdef0"
    name = cluster["clusterName"]
    svc_spec = _spec("FargateService")
    created = ecs.create_service(cluster=name, taskDefinition=td["taskDefinitionArn"], **svc_spec)["service"]
    assert created["loadBalancers"][0]["targetGroupArn"] == svc_spec["loadBalancers"][0]["targetGroupArn"]
    assert created["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert created["platformVersion"] == "LATEST"
    svc = wait_until("web steady", lambda: service(ecs, name, "web"), lambda s: steady(s, 2))
    assert svc["deployments"][0]["platformVersion"] == "1.4.0"
    task_spec = _spec("FargateTask")
    out = ecs.run_task(cluster=name, taskDefinition=td["taskDefinitionArn"], **task_spec)
    assert not out["failures"]
    task = wait_task(ecs, name, out["tasks"][0]["taskArn"], running, "the migration task RUNNING")
    assert task["capacityProviderName"] == "FARGATE_SPOT" and task["platformVersion"] == "1.4.0"
    assert task["overrides"]["containerOverrides"][0]["command"] == ["./manage.py", "migrate", "--noinput"]
