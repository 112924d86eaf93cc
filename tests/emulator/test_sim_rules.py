"""The emulator enforces ECS rules moto skips (Fargate sizes, awsvpc, clusters, service names, ListTasks filters)."""

from __future__ import annotations

from typing import Any

import pytest

from fargate_devenv.ecs_emulator import Network
from support.emulator import (
    awsvpc,
    container,
    register,
    run,
    running,
    stopped,
    wait_for,
    wait_task,
)


def _register(ecs: Any, **request: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "family": "rules",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [container()],
    }
    td: dict[str, Any] = ecs.register_task_definition(**{**base, **request})["taskDefinition"]
    return td


@pytest.mark.parametrize(
    ("cpu", "memory"),
    [("256", "4096"), ("512", "512"), ("1024", "1024"), ("1024", "9216"), ("4096", "31744"), ("128", "512")],
)
def test_fargate_size_outside_the_matrix_is_refused(ecs: Any, cpu: str, memory: str) -> None:
    with pytest.raises(ecs.exceptions.ClientException) as err:
        _register(ecs, cpu=cpu, memory=memory)
    assert err.value.response["Error"]["Message"] == (
        f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. "
        "See the Amazon ECS documentation for the valid values."
    )


@pytest.mark.parametrize(
    ("cpu", "memory", "units", "mib"),
    [
        ("256", "512", "256", "512"),
        ("512", "4096", "512", "4096"),
        ("1 vCPU", "2 GB", "1024", "2048"),
        ("2 vcpu", "16GB", "2048", "16384"),
        ("8192", "61440", "8192", "61440"),
        ("16384", "122880", "16384", "122880"),
    ],
)
def test_fargate_sizes_in_the_matrix_register_in_units(ecs: Any, cpu: str, memory: str, units: str, mib: str) -> None:
    td = _register(ecs, cpu=cpu, memory=memory)
    assert (td["cpu"], td["memory"]) == (units, mib)
    assert "FARGATE" in td["compatibilities"]


def test_fargate_needs_awsvpc(ecs: Any) -> None:
    with pytest.raises(ecs.exceptions.ClientException) as err:
        _register(ecs, networkMode="bridge")
    assert err.value.response["Error"]["Message"] == "Fargate only supports network mode ‘awsvpc’."


def test_fargate_needs_task_level_cpu(ecs: Any) -> None:
    request = {
        "family": "nocpu",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "memory": "512",
        "containerDefinitions": [container()],
    }
    with pytest.raises(ecs.exceptions.ClientException) as err:
        ecs.register_task_definition(**request)
    assert err.value.response["Error"]["Message"] == "Fargate requires that 'cpu' be defined at the task level."


def test_container_memory_above_the_task_is_refused(ecs: Any) -> None:
    with pytest.raises(ecs.exceptions.ClientException) as err:
        _register(ecs, containerDefinitions=[container("worker", memory=1024)])
    assert err.value.response["Error"]["Message"] == (
        "The 'memory' setting for container 'worker' is greater than for the task."
    )


def test_runtask_on_fargate_needs_a_fargate_compatible_task_definition(
    ecs: Any, cluster: str, network: Network
) -> None:
    ec2_only = ecs.register_task_definition(
        family="ec2only", networkMode="bridge", containerDefinitions=[container(memory=128)]
    )["taskDefinition"]
    assert ec2_only["compatibilities"] == ["EC2"]
    with pytest.raises(ecs.exceptions.InvalidParameterException) as err:
        run(ecs, cluster, ec2_only["taskDefinitionArn"], network)
    assert err.value.response["Error"]["Message"] == "Task definition does not support launch_type FARGATE."


def test_a_task_definition_that_fits_fargate_is_compatible_without_asking(
    ecs: Any, cluster: str, network: Network
) -> None:
    """ECS validates every registration against each launch type and lists those it fits."""
    td = ecs.register_task_definition(
        family="fits", networkMode="awsvpc", cpu="256", memory="512", containerDefinitions=[container()]
    )["taskDefinition"]
    assert sorted(td["compatibilities"]) == ["EC2", "FARGATE"]
    wait_task(ecs, cluster, run(ecs, cluster, td["taskDefinitionArn"], network)["taskArn"], running, "RUNNING")


def test_create_cluster_on_an_active_name_returns_it_unchanged(ecs: Any) -> None:
    first = ecs.create_cluster(clusterName="same", settings=[{"name": "containerInsights", "value": "enabled"}])
    again = ecs.create_cluster(clusterName="same", settings=[{"name": "containerInsights", "value": "disabled"}])
    assert again["cluster"]["clusterArn"] == first["cluster"]["clusterArn"]
    assert again["cluster"]["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    assert ecs.list_clusters()["clusterArns"] == [first["cluster"]["clusterArn"]]


def test_delete_cluster_with_services_is_refused(ecs: Any, cluster: str, network: Network) -> None:
    td = register(ecs, "busy")
    ecs.create_service(
        cluster=cluster, serviceName="api", taskDefinition=td, desiredCount=0, networkConfiguration=awsvpc(network)
    )
    with pytest.raises(ecs.exceptions.ClusterContainsServicesException) as err:
        ecs.delete_cluster(cluster=cluster)
    assert err.value.response["Error"]["Message"] == "The Cluster cannot be deleted while Services are active."


def test_delete_cluster_with_tasks_is_refused_until_they_stop(ecs: Any, cluster: str, network: Network) -> None:
    arn = run(ecs, cluster, register(ecs, "busy"), network)["taskArn"]
    with pytest.raises(ecs.exceptions.ClusterContainsTasksException) as err:
        ecs.delete_cluster(cluster=cluster)
    assert err.value.response["Error"]["Message"] == "The Cluster cannot be deleted while Tasks are active."
    ecs.stop_task(cluster=cluster, task=arn)
    wait_task(ecs, cluster, arn, stopped, "STOPPED")
    assert ecs.delete_cluster(cluster=cluster)["cluster"]["status"] == "INACTIVE"


def test_duplicate_service_name_is_not_idempotent(ecs: Any, cluster: str, network: Network) -> None:
    td = register(ecs, "dup")
    net = awsvpc(network)
    ecs.create_service(cluster=cluster, serviceName="api", taskDefinition=td, desiredCount=0, networkConfiguration=net)
    with pytest.raises(ecs.exceptions.InvalidParameterException) as err:
        ecs.create_service(
            cluster=cluster, serviceName="api", taskDefinition=td, desiredCount=1, networkConfiguration=net
        )
    assert err.value.response["Error"]["Message"] == "Creation of service was not idempotent."
    assert len(ecs.list_services(cluster=cluster)["serviceArns"]) == 1


def test_create_service_client_token_returns_the_same_service(ecs: Any, cluster: str, network: Network) -> None:
    td = register(ecs, "svcidem")
    request = {
        "cluster": cluster,
        "serviceName": "api",
        "taskDefinition": td,
        "desiredCount": 1,
        "networkConfiguration": awsvpc(network),
        "clientToken": "0b5e6a1c-6f7e-4d3a-9a51-9f1f2f3a4b5c",
    }
    first = ecs.create_service(**request)["service"]
    again = ecs.create_service(**request)["service"]
    assert again["serviceArn"] == first["serviceArn"] and again["createdAt"] == first["createdAt"]
    assert again["deployments"][0]["id"] == first["deployments"][0]["id"]
    with pytest.raises(ecs.exceptions.InvalidParameterException):
        ecs.create_service(**{**request, "desiredCount": 3})


def test_list_tasks_matches_the_cluster_exactly(ecs: Any, network: Network) -> None:
    """moto matched the cluster name as a substring of the task's cluster ARN."""
    ecs.create_cluster(clusterName="ab")
    ecs.create_cluster(clusterName="a")
    run(ecs, "ab", register(ecs, "exact"), network)
    assert ecs.list_tasks(cluster="a")["taskArns"] == []
    assert len(ecs.list_tasks(cluster="ab")["taskArns"]) == 1


def test_list_tasks_filters_by_service_name(ecs: Any, cluster: str, network: Network) -> None:
    td = register(ecs, "bysvc")
    ecs.create_service(
        cluster=cluster,
        serviceName="api",
        taskDefinition=td,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=awsvpc(network),
    )
    standalone = run(ecs, cluster, td, network)["taskArn"]
    listed = wait_for("the service's task", lambda: ecs.list_tasks(cluster=cluster, serviceName="api")["taskArns"])
    assert len(listed) == 1 and standalone not in listed
    with pytest.raises(ecs.exceptions.ServiceNotFoundException):
        ecs.list_tasks(cluster=cluster, serviceName="nope")


def test_list_tasks_lists_running_tasks_unless_asked_for_stopped(ecs: Any, cluster: str, network: Network) -> None:
    """desiredStatus defaults to RUNNING, so a stopped task is listed only with desiredStatus=STOPPED."""
    arn = run(ecs, cluster, register(ecs, "listing"), network)["taskArn"]
    ecs.stop_task(cluster=cluster, task=arn)
    assert ecs.list_tasks(cluster=cluster)["taskArns"] == []
    assert ecs.list_tasks(cluster=cluster, desiredStatus="STOPPED")["taskArns"] == [arn]


def test_list_tasks_started_by_takes_no_other_filter(ecs: Any, cluster: str, network: Network) -> None:
    """ListTasks.startedBy: "it must be the only filter that you use" (desiredStatus is a status, not a filter)."""
    arn = run(ecs, cluster, register(ecs, "who"), network, startedBy="me")["taskArn"]
    assert ecs.list_tasks(cluster=cluster, startedBy="me")["taskArns"] == [arn]
    assert ecs.list_tasks(cluster=cluster, startedBy="me", desiredStatus="RUNNING")["taskArns"] == [arn]
    with pytest.raises(ecs.exceptions.InvalidParameterException):
        ecs.list_tasks(cluster=cluster, startedBy="me", family="who")


def test_no_launch_type_and_no_default_strategy_means_ec2(ecs: Any, cluster: str, network: Network) -> None:
    """CreateService/RunTask without launchType or capacityProviderStrategy use the cluster's default
    strategy; a cluster without one runs on EC2, which has no container instances here."""
    td = register(ecs, "ec2fallback")
    out = ecs.run_task(cluster=cluster, taskDefinition=td, networkConfiguration=awsvpc(network))
    assert out["tasks"] == [] and out["failures"][0]["reason"] == "No Container Instances were found in your cluster."
    ecs.create_service(
        cluster=cluster, serviceName="api", taskDefinition=td, desiredCount=1, networkConfiguration=awsvpc(network)
    )
    svc = wait_for(
        "an unable-to-place event",
        lambda: next(
            (s for s in ecs.describe_services(cluster=cluster, services=["api"])["services"] if s["events"]), None
        ),
    )
    assert svc["launchType"] == "EC2" and svc["runningCount"] == 0
    assert svc["events"][0]["message"].startswith(
        "(service api) was unable to place a task because no container instance met all of its requirements."
    )
    ecs.put_cluster_capacity_providers(
        cluster=cluster,
        capacityProviders=["FARGATE"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}],
    )
    out = ecs.run_task(cluster=cluster, taskDefinition=td, networkConfiguration=awsvpc(network))
    assert out["tasks"][0]["capacityProviderName"] == "FARGATE" and "launchType" not in out["tasks"][0]


def test_list_services_and_tasks_page_like_ecs(ecs: Any, cluster: str, network: Network) -> None:
    """ListServices returns up to 10 by default, ListTasks up to maxResults, each with a nextToken."""
    td = register(ecs, "paged")
    for i in range(12):
        ecs.create_service(
            cluster=cluster, serviceName=f"s{i:02d}", taskDefinition=td, desiredCount=0, launchType="FARGATE",
            networkConfiguration=awsvpc(network),
        )  # fmt: skip
    first = ecs.list_services(cluster=cluster)
    assert len(first["serviceArns"]) == 10 and first["nextToken"]
    rest = ecs.list_services(cluster=cluster, nextToken=first["nextToken"])
    assert len(rest["serviceArns"]) == 2 and "nextToken" not in rest
    run(ecs, cluster, td, network, count=3)
    page = ecs.list_tasks(cluster=cluster, maxResults=2)
    assert len(page["taskArns"]) == 2
    assert len(ecs.list_tasks(cluster=cluster, maxResults=2, nextToken=page["nextToken"])["taskArns"]) == 1


def test_awsvpc_without_security_groups_uses_the_vpc_default(ecs: Any, cluster: str, network: Network) -> None:
    """AwsVpcConfiguration.securityGroups: "If you don't specify a security group, the default security
    group for the VPC is used" (moto answered HTTP 500)."""
    td = register(ecs, "nosg")
    out = ecs.run_task(
        cluster=cluster, taskDefinition=td, launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [network.subnet_id]}},
    )  # fmt: skip
    wait_task(ecs, cluster, out["tasks"][0]["taskArn"], running, "RUNNING")


def test_awsvpc_task_in_a_vpc_without_dns_hostnames_runs(emulator: Any, ecs: Any, cluster: str) -> None:
    """moto's RunTask failed with HTTP 500 in a VPC without DNS hostnames; ECS names the ENI anyway."""
    ec2 = emulator.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.43.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.43.1.0/24")["Subnet"]["SubnetId"]
    td = register(ecs, "nodns")
    out = ecs.run_task(
        cluster=cluster, taskDefinition=td, launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet]}},
    )  # fmt: skip
    task = wait_task(ecs, cluster, out["tasks"][0]["taskArn"], running, "RUNNING")
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    assert details["privateDnsName"].startswith("ip-10-43-1-") and details["privateIPv4Address"].startswith("10.43.1.")
    assert task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"] == details["privateIPv4Address"]


def test_unknown_subnet_is_refused_with_ecs_wording(ecs: Any, cluster: str, network: Network) -> None:
    td = register(ecs, "nosubnet")
    with pytest.raises(ecs.exceptions.InvalidParameterException) as err:
        ecs.run_task(
            cluster=cluster, taskDefinition=td, launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-0badbadbadbadbad0"]}},
        )  # fmt: skip
    assert err.value.response["Error"]["Message"].startswith(
        "Error retrieving subnet information for [subnet-0badbadbadbadbad0]"
    )


def test_list_task_definitions_pages_by_100_in_family_and_revision_order(ecs: Any) -> None:
    """ListTaskDefinitions: "If this parameter isn't used, then ListTaskDefinitions returns up to 100
    results and a nextToken value if applicable"; ASC is "lexicographically by family name and in
    ascending numerical order by revision" (botocore model: ListTaskDefinitionsRequest.maxResults,
    .sort). Drift detection walks these pages: one page for everything would undercount its cost."""
    for i in range(105):
        _register(ecs, family=f"page-{i % 3}")
    first = ecs.list_task_definitions()
    assert len(first["taskDefinitionArns"]) == 100 and first.get("nextToken")
    second = ecs.list_task_definitions(nextToken=first["nextToken"])
    assert len(second["taskDefinitionArns"]) == 5 and not second.get("nextToken")
    names = [a.rsplit("/", 1)[-1] for a in first["taskDefinitionArns"] + second["taskDefinitionArns"]]
    order = [(n.split(":")[0], int(n.split(":")[1])) for n in names]
    assert order == sorted(order)
    newest = ecs.list_task_definitions(sort="DESC", maxResults=2)["taskDefinitionArns"]
    assert [a.rsplit("/", 1)[-1] for a in newest] == ["page-2:35", "page-2:34"]
