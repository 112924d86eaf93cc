"""Tenants sharing one AWS account.

Two namespaces, team-a and team-b, one operator process watching both, one ECS account
(moto over HTTP, behind the counting proxy). team-b names what team-a owns -- its task
definition by ARN, its cluster by name and ARN, its task role in RunTask overrides and in a
task definition -- and is refused with a message naming the resource and team-a; nothing
reaches ECS. Then the admin shares them in the tenancy config (the file the operator
re-reads) and the very same objects are checked again and run.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.ecs_proxy import EcsProxy
from fargate_devenv.world import World
from fargate_operator.models.kinds import RUN_MARK
from fargate_operator.reconcile.task import started_by
from support.operator_process import (
    Kube,
    OperatorProcess,
    awsvpc,
    condition,
    manifest,
    task_definition_spec,
    wait_for,
)

ACCOUNT = "123456789012"


def _role(namespace: str, name: str) -> str:
    """A role of `namespace` under the built-in rule: IAM path /fargate/<namespace>/."""
    return f"arn:aws:iam::{ACCOUNT}:role/fargate/{namespace}/{name}"


# A target group only team-a may put tasks behind (the emulator does not look it up).
TEAM_A_TARGET_GROUP = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/team-a-web/0123456789abcdef"


@pytest.fixture(scope="module")
def team_a_group(world: World, network: Network) -> str:
    """A security group of the test network that the config gives team-a alone."""
    ec2 = world.ecs.client("ec2")
    made = ec2.create_security_group(GroupName=f"team-a-{uuid.uuid4().hex[:6]}", Description="a", VpcId=network.vpc_id)
    return str(made["GroupId"])


@pytest.fixture(scope="module")
def tenancy_config(network: Network, teams: tuple[str, str], team_a_group: str) -> dict[str, Any]:
    """The built-in roles rule, nothing shared but the test network; team-a's own group and target group."""
    return {
        "subnets": [{"namespaces": ["*"], "ids": [network.subnet_id]}],
        "securityGroups": [
            {"namespaces": ["*"], "ids": [network.security_group_id]},
            {"namespaces": [teams[0]], "ids": [team_a_group]},
        ],
        "loadBalancers": [{"namespaces": [teams[0]], "arns": [TEAM_A_TARGET_GROUP]}],
    }


@pytest.fixture(scope="module")
def kube_a(world: World, teams: tuple[str, str]) -> Kube:
    return Kube(world.control_plane, teams[0])


@pytest.fixture(scope="module")
def kube_b(world: World, teams: tuple[str, str]) -> Kube:
    return Kube(world.control_plane, teams[1])


@pytest.fixture(scope="module")
def owned(operator: OperatorProcess, kube_a: Kube, kube_b: Kube) -> Iterator[dict[str, str]]:
    """Each team's own cluster and task definition (with its own task role), reconciled."""
    u = uuid.uuid4().hex[:6]
    facts: dict[str, str] = {}
    for kube, team in ((kube_a, "a"), (kube_b, "b")):
        spec = {**task_definition_spec(f"{team}-job-{u}"), "taskRoleArn": _role(kube.namespace, "job")}
        kube.apply(manifest("FargateCluster", "c", {"clusterName": f"{team}-cluster-{u}"}))
        kube.apply(manifest("FargateTaskDefinition", "job", spec))
        facts[f"{team}_cluster"] = f"{team}-cluster-{u}"
        facts[f"{team}_cluster_arn"] = wait_for(
            f"{team}'s cluster", lambda k=kube: k.status("fargatecluster", "c").get("clusterArn")
        )
        facts[f"{team}_td"] = wait_for(
            f"{team}'s task definition",
            lambda k=kube: k.status("fargatetaskdefinition", "job").get("taskDefinitionArn"),
        )
        facts[f"{team}_family"] = f"{team}-job-{u}"
    facts["a_role"] = _role(kube_a.namespace, "job")
    yield facts
    for kube in (kube_b, kube_a):
        for plural in ("fargatetasks", "fargateservices", "fargatetaskdefinitions", "fargateclusters"):
            kube.cp.kubectl("delete", plural, "--all", "-n", kube.namespace, "--wait=true", "--timeout=120s")


def _task(name: str, network: Network, **spec: Any) -> dict[str, Any]:
    base = {"launchType": "FARGATE", "networkConfiguration": awsvpc(network.subnet_id, network.security_group_id)}
    return manifest("FargateTask", name, {**base, **spec})


def _spec(**spec: Any) -> dict[str, Any]:
    """A FargateTask spec on Fargate with the network the test gives."""
    return {"launchType": "FARGATE", **spec}


def _refused(kube: Kube, kind: str, name: str, timeout: float = 60) -> str:
    """The TenancyRefused message of the object's Degraded condition; fails with its status otherwise."""
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = kube.status(kind, name)
        degraded = condition(status, "Degraded")
        if degraded.get("status") == "True" and degraded.get("reason") == "TenancyRefused":
            return str(degraded["message"])
        time.sleep(0.3)
    raise AssertionError(f"{kind} {kube.namespace}/{name} was not refused; its status: {status}")


def _ecs_tasks_of(ecs: Any, cluster: str, kube: Kube, name: str) -> list[str]:
    obj = kube.get("fargatetask", name)
    assert obj is not None
    by = started_by(obj["metadata"]["uid"])
    return [
        a
        for d in ("RUNNING", "STOPPED")
        for a in ecs.list_tasks(cluster=cluster, startedBy=by, desiredStatus=d)["taskArns"]
    ]


def test_task_definition_of_another_namespace_is_refused(
    owned: dict[str, str], kube_a: Kube, kube_b: Kube, network: Network, ecs_client: Any, ecs_proxy: EcsProxy
) -> None:
    runs = ecs_proxy.count("RunTask")
    kube_b.apply(_task("steal-td", network, clusterRef={"name": "c"}, taskDefinition=owned["a_td"]))
    message = _refused(kube_b, "fargatetask", "steal-td")
    assert owned["a_td"] in message and f"namespace {kube_a.namespace}" in message, message
    assert f"FargateTaskDefinition {kube_a.namespace}/job" in message, message
    assert kube_b.status("fargatetask", "steal-td").get("phase") == "Pending"
    assert "TenancyRefused" in [e["reason"] for e in kube_b.events("steal-td")]
    assert ecs_proxy.count("RunTask") == runs, "nothing may reach RunTask"
    assert _ecs_tasks_of(ecs_client, owned["b_cluster"], kube_b, "steal-td") == []


def test_cluster_of_another_namespace_is_refused(
    owned: dict[str, str], kube_a: Kube, kube_b: Kube, network: Network, ecs_client: Any, ecs_proxy: EcsProxy
) -> None:
    runs, creates = ecs_proxy.count("RunTask"), ecs_proxy.count("CreateService")
    kube_b.apply(_task("steal-cluster", network, cluster=owned["a_cluster"], taskDefinitionRef={"name": "job"}))
    message = _refused(kube_b, "fargatetask", "steal-cluster")
    assert f"ECS cluster {owned['a_cluster']}" in message and f"namespace {kube_a.namespace}" in message, message

    # A service placed in team-a's cluster (by ARN) would block that cluster's deletion.
    squat = {
        "serviceName": "squat",
        "cluster": owned["a_cluster_arn"],
        "taskDefinitionRef": {"name": "job"},
        "desiredCount": 1,
        "networkConfiguration": awsvpc(network.subnet_id, network.security_group_id),
    }
    kube_b.apply(manifest("FargateService", "squat", squat))
    message = _refused(kube_b, "fargateservice", "squat")
    assert owned["a_cluster_arn"] in message and f"namespace {kube_a.namespace}" in message, message

    # No cluster named: ECS's account-wide "default" cluster is not shared by default.
    kube_b.apply(_task("no-cluster", network, taskDefinitionRef={"name": "job"}))
    assert "'default' cluster" in _refused(kube_b, "fargatetask", "no-cluster")

    assert ecs_proxy.count("RunTask") == runs and ecs_proxy.count("CreateService") == creates
    assert ecs_client.list_services(cluster=owned["a_cluster"])["serviceArns"] == []
    kube_b.delete("fargateservice", "squat", wait=True)


def test_role_of_another_namespace_in_overrides_is_refused(
    owned: dict[str, str], kube_a: Kube, kube_b: Kube, network: Network, ecs_proxy: EcsProxy
) -> None:
    runs = ecs_proxy.count("RunTask")
    overrides = {"taskRoleArn": owned["a_role"], "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/admin"}
    kube_b.apply(
        _task("steal-role", network, clusterRef={"name": "c"}, taskDefinitionRef={"name": "job"}, overrides=overrides)
    )
    message = _refused(kube_b, "fargatetask", "steal-role")
    assert f"spec.overrides.taskRoleArn: IAM role {owned['a_role']}" in message, message
    assert f"role of namespace {kube_a.namespace}" in message, message
    assert "spec.overrides.executionRoleArn" in message and "role/admin" in message, message
    assert ecs_proxy.count("RunTask") == runs


def test_task_definition_with_a_role_of_another_namespace_is_refused(
    owned: dict[str, str], kube_a: Kube, kube_b: Kube, network: Network, ecs_client: Any, ecs_proxy: EcsProxy
) -> None:
    registers, runs = ecs_proxy.count("RegisterTaskDefinition"), ecs_proxy.count("RunTask")
    family = f"borrow-{uuid.uuid4().hex[:6]}"
    kube_b.apply(
        manifest("FargateTaskDefinition", "borrow", {**task_definition_spec(family), "taskRoleArn": owned["a_role"]})
    )
    message = _refused(kube_b, "fargatetaskdefinition", "borrow")
    assert f"spec.taskRoleArn: IAM role {owned['a_role']}" in message, message
    assert f"role of namespace {kube_a.namespace}" in message, message
    # A FargateTask referencing it never runs: a reference resolves only to what the operator accepted.
    kube_b.apply(_task("use-borrow", network, clusterRef={"name": "c"}, taskDefinitionRef={"name": "borrow"}))
    wait_for(
        "waiting",
        lambda: condition(kube_b.status("fargatetask", "use-borrow"), "Progressing").get("reason") == "Waiting",
    )
    assert ecs_proxy.count("RegisterTaskDefinition") == registers and ecs_proxy.count("RunTask") == runs
    assert not ecs_client.list_task_definitions(familyPrefix=family)["taskDefinitionArns"]
    kube_b.delete("fargatetask", "use-borrow", wait=True)
    kube_b.delete("fargatetaskdefinition", "borrow", wait=True)


def test_forged_run_mark_does_not_bypass_the_check(
    owned: dict[str, str], kube_a: Kube, kube_b: Kube, network: Network, ecs_client: Any, ecs_proxy: EcsProxy
) -> None:
    """The RunTask mark is an annotation anyone who may create a FargateTask may write: what it names is checked too."""
    runs = ecs_proxy.count("RunTask")
    mark = json.dumps({"cluster": owned["a_cluster_arn"], "taskDefinition": owned["a_td"], "at": 0})
    forged = _task("forged", network, clusterRef={"name": "c"}, taskDefinitionRef={"name": "job"})
    forged["metadata"]["annotations"] = {RUN_MARK: mark}
    kube_b.apply(forged)
    message = _refused(kube_b, "fargatetask", "forged")
    assert owned["a_cluster_arn"] in message and f"namespace {kube_a.namespace}" in message, message
    assert ecs_proxy.count("RunTask") == runs
    assert _ecs_tasks_of(ecs_client, owned["a_cluster"], kube_b, "forged") == []
    kube_b.delete("fargatetask", "forged", wait=True)


def test_own_resources_named_directly_still_run(
    owned: dict[str, str], kube_b: Kube, network: Network, ecs_client: Any
) -> None:
    """Not a regression test (it passes before the fix too): the check must not refuse a namespace's own."""
    kube_b.apply(_task("own", network, cluster=owned["b_cluster_arn"], taskDefinition=f"{owned['b_family']}:1"))
    wait_for("own task started", lambda: kube_b.status("fargatetask", "own").get("tasks"))
    assert len(_ecs_tasks_of(ecs_client, owned["b_cluster"], kube_b, "own")) == 1
    kube_b.delete("fargatetask", "own", wait=True)


def test_sharing_admits_what_was_refused(
    owned: dict[str, str],
    kube_a: Kube,
    kube_b: Kube,
    network: Network,
    ecs_client: Any,
    tenancy_file: Path,
    tenancy_config: dict[str, Any],
) -> None:
    """Refused first; after the admin shares cluster, family and role, the same objects are re-checked and run."""
    a, b = kube_a.namespace, kube_b.namespace
    kube_b.apply(_task("shared-td", network, clusterRef={"name": "c"}, taskDefinition=owned["a_td"]))
    kube_b.apply(_task("shared-cluster", network, cluster=owned["a_cluster"], taskDefinitionRef={"name": "job"}))
    kube_b.apply(
        _task(
            "shared-role",
            network,
            clusterRef={"name": "c"},
            taskDefinitionRef={"name": "job"},
            overrides={"taskRoleArn": owned["a_role"]},
        )
    )
    family = f"shared-{uuid.uuid4().hex[:6]}"
    kube_b.apply(
        manifest("FargateTaskDefinition", "shared", {**task_definition_spec(family), "taskRoleArn": owned["a_role"]})
    )
    for kind, name in (
        ("fargatetask", "shared-td"),
        ("fargatetask", "shared-cluster"),
        ("fargatetask", "shared-role"),
        ("fargatetaskdefinition", "shared"),
    ):
        assert a in _refused(kube_b, kind, name)
    config = {
        **tenancy_config,
        "roles": [
            {"namespaces": ["*"], "arns": ["arn:*:iam::*:role/fargate/{namespace}/*"]},
            {"namespaces": [b], "arns": [owned["a_role"]]},
        ],
        "clusters": [{"namespaces": [b], "names": [owned["a_cluster"]]}],
        "taskDefinitions": [{"namespaces": [b], "families": [owned["a_family"]]}],
    }
    tenancy_file.write_text(yaml.safe_dump(config))
    try:
        for name in ("shared-td", "shared-cluster", "shared-role"):
            tasks = wait_for(f"{name} started", lambda n=name: kube_b.status("fargatetask", n).get("tasks"))
            assert tasks[0]["taskArn"].startswith("arn:aws:ecs:")
        cluster_of = {
            "shared-td": owned["b_cluster"],
            "shared-cluster": owned["a_cluster"],
            "shared-role": owned["b_cluster"],
        }
        for name, cluster in cluster_of.items():
            assert len(_ecs_tasks_of(ecs_client, cluster, kube_b, name)) == 1, name
        assert wait_for(
            "shared role registered", lambda: kube_b.status("fargatetaskdefinition", "shared").get("taskDefinitionArn")
        )
        assert condition(kube_b.status("fargatetask", "shared-td"), "Degraded").get("status") == "False"
    finally:
        tenancy_file.write_text(yaml.safe_dump(tenancy_config))
        for name in ("shared-td", "shared-cluster", "shared-role"):
            kube_b.delete("fargatetask", name)
        kube_b.delete("fargatetaskdefinition", "shared")


def test_a_task_inside_another_namespaces_security_group_is_refused_and_the_owner_runs_in_it(
    owned: dict[str, str],
    kube_a: Kube,
    kube_b: Kube,
    network: Network,
    team_a_group: str,
    ecs_client: Any,
    ecs_proxy: EcsProxy,
) -> None:
    runs = ecs_proxy.count("RunTask")
    inside = {"networkConfiguration": awsvpc(network.subnet_id, team_a_group)}
    kube_b.apply(
        manifest(
            "FargateTask", "sg-squat", _spec(clusterRef={"name": "c"}, taskDefinitionRef={"name": "job"}, **inside)
        )
    )
    message = _refused(kube_b, "fargatetask", "sg-squat")
    member = "spec.networkConfiguration.awsvpcConfiguration.securityGroups[0]"
    assert (
        f"{member}: security group {team_a_group} may not be used from namespace {kube_b.namespace}: "
        f"it is given to namespace {kube_a.namespace} (it may use securityGroups.ids: {network.security_group_id})"
    ) in message, message
    assert kube_b.status("fargatetask", "sg-squat").get("phase") == "Pending"
    assert ecs_proxy.count("RunTask") == runs, "nothing may reach RunTask"
    assert _ecs_tasks_of(ecs_client, owned["b_cluster"], kube_b, "sg-squat") == []
    # The namespace the rule gives it to runs in it.
    kube_a.apply(
        manifest("FargateTask", "sg-own", _spec(clusterRef={"name": "c"}, taskDefinitionRef={"name": "job"}, **inside))
    )
    wait_for("team-a's task started", lambda: kube_a.status("fargatetask", "sg-own").get("tasks"))
    for kube, name in ((kube_b, "sg-squat"), (kube_a, "sg-own")):
        kube.delete("fargatetask", name, wait=True)


def test_no_security_group_named_means_the_vpcs_default_one_and_is_refused(
    owned: dict[str, str], kube_b: Kube, network: Network, ecs_proxy: EcsProxy
) -> None:
    runs = ecs_proxy.count("RunTask")
    bare = {"awsvpcConfiguration": {"subnets": [network.subnet_id], "assignPublicIp": "DISABLED"}}
    kube_b.apply(
        manifest(
            "FargateTask",
            "no-sg",
            _spec(clusterRef={"name": "c"}, taskDefinitionRef={"name": "job"}, networkConfiguration=bare),
        )
    )
    message = _refused(kube_b, "fargatetask", "no-sg")
    assert "spec.networkConfiguration.awsvpcConfiguration.securityGroups: none named" in message, message
    assert "VPC's default security group" in message and "'default'" in message, message
    assert ecs_proxy.count("RunTask") == runs
    kube_b.delete("fargatetask", "no-sg", wait=True)


def test_a_service_behind_another_namespaces_target_group_is_refused(
    owned: dict[str, str], kube_a: Kube, kube_b: Kube, network: Network, ecs_client: Any, ecs_proxy: EcsProxy
) -> None:
    creates = ecs_proxy.count("CreateService")
    spec = {
        "serviceName": "tg-squat",
        "clusterRef": {"name": "c"},
        "taskDefinitionRef": {"name": "job"},
        "desiredCount": 1,
        "networkConfiguration": awsvpc(network.subnet_id, network.security_group_id),
        "loadBalancers": [{"targetGroupArn": TEAM_A_TARGET_GROUP, "containerName": "app", "containerPort": 8080}],
    }
    kube_b.apply(manifest("FargateService", "tg-squat", spec))
    message = _refused(kube_b, "fargateservice", "tg-squat")
    assert (
        f"spec.loadBalancers[0].targetGroupArn: load balancer target {TEAM_A_TARGET_GROUP} may not be used from "
        f"namespace {kube_b.namespace}: it is given to namespace {kube_a.namespace} (it may use loadBalancers.arns: none)"
    ) in message, message
    assert "TenancyRefused" in [e["reason"] for e in kube_b.events("tg-squat")]
    assert ecs_proxy.count("CreateService") == creates, "nothing may reach CreateService"
    assert ecs_client.list_services(cluster=owned["b_cluster"])["serviceArns"] == []
    kube_b.delete("fargateservice", "tg-squat", wait=True)


def test_sharing_a_security_group_admits_the_task_it_refused(
    owned: dict[str, str],
    kube_b: Kube,
    network: Network,
    team_a_group: str,
    ecs_client: Any,
    tenancy_file: Path,
    tenancy_config: dict[str, Any],
) -> None:
    inside = {"networkConfiguration": awsvpc(network.subnet_id, team_a_group)}
    kube_b.apply(
        manifest(
            "FargateTask", "sg-shared", _spec(clusterRef={"name": "c"}, taskDefinitionRef={"name": "job"}, **inside)
        )
    )
    assert team_a_group in _refused(kube_b, "fargatetask", "sg-shared")
    groups = [*tenancy_config["securityGroups"], {"namespaces": [kube_b.namespace], "ids": [team_a_group]}]
    tenancy_file.write_text(yaml.safe_dump({**tenancy_config, "securityGroups": groups}))
    try:
        wait_for("the shared group's task started", lambda: kube_b.status("fargatetask", "sg-shared").get("tasks"))
        assert len(_ecs_tasks_of(ecs_client, owned["b_cluster"], kube_b, "sg-shared")) == 1
    finally:
        tenancy_file.write_text(yaml.safe_dump(tenancy_config))
        kube_b.delete("fargatetask", "sg-shared", wait=True)


def test_a_service_whose_security_group_the_config_takes_back_turns_degraded_and_is_not_updated(
    owned: dict[str, str],
    kube_a: Kube,
    network: Network,
    team_a_group: str,
    ecs_client: Any,
    ecs_proxy: EcsProxy,
    tenancy_file: Path,
    tenancy_config: dict[str, Any],
) -> None:
    spec = {
        "serviceName": "sg-revoked",
        "clusterRef": {"name": "c"},
        "taskDefinitionRef": {"name": "job"},
        "desiredCount": 1,
        "networkConfiguration": awsvpc(network.subnet_id, team_a_group),
    }
    kube_a.apply(manifest("FargateService", "sg-revoked", spec))
    arn = wait_for("team-a's service created", lambda: kube_a.status("fargateservice", "sg-revoked").get("serviceArn"))
    updates = ecs_proxy.count("UpdateService")
    groups = [r for r in tenancy_config["securityGroups"] if kube_a.namespace not in r["namespaces"]]
    tenancy_file.write_text(yaml.safe_dump({**tenancy_config, "securityGroups": groups}))
    try:
        message = _refused(kube_a, "fargateservice", "sg-revoked")
        assert f"security group {team_a_group} may not be used from namespace {kube_a.namespace}" in message, message
        assert ecs_proxy.count("UpdateService") == updates, "a refused service is not updated"
        described = ecs_client.describe_services(cluster=owned["a_cluster"], services=[arn])["services"]
        assert described[0]["status"] == "ACTIVE", "its tasks keep running, as when iam:PassRole is revoked"
    finally:
        tenancy_file.write_text(yaml.safe_dump(tenancy_config))
        kube_a.delete("fargateservice", "sg-revoked", wait=True)
