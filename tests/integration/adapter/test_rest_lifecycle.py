"""The adapter through the whole life of an object and a while after it, as the SDKs' own waiters see it.

botocore's ECS waiters (services_stable, services_inactive, tasks_running, tasks_stopped) and the
AWS CLI's `aws ecs wait ...`, unmodified, on the lifecycle emulator: create -> stable -> scale ->
new revision -> stable -> delete -> inactive; run -> running -> stop -> stopped. Then what ECS keeps
answering after a delete: an INACTIVE service, a STOPPED task, INACTIVE revisions, an INACTIVE cluster
(ECS API reference: DeleteService, DescribeTasks, DeregisterTaskDefinition, DeleteCluster).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import WaiterError
from test_rest_boto3 import check_shape, container

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.world import World
from support.awscli import AWS
from support.operator_process import Kube, OperatorProcess, awsvpc, wait_for

# The records' ConfigMap (docs/rest-adapter.md "After a delete"), named here as users see it.
RECORDS, RECORDS_LABEL = "fargate-operator-deleted", "ecs.fargate.dev/deleted-records"
QUICK = {"Delay": 1, "MaxAttempts": 90}  # the emulator's lifecycle takes seconds, not ECS's minutes


def _td(family: str, image: str) -> dict[str, Any]:
    return dict(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=container(image),
    )


def _task_object(world: World, namespace: str, arn: str) -> str:
    """The FargateTask that started task `arn`."""
    listed = json.loads(world.control_plane.kubectl("get", "fargatetasks", "-n", namespace, "-o", "json").stdout)
    return next(
        o["metadata"]["name"]
        for o in listed["items"]
        if any(t.get("taskArn") == arn for t in o.get("status", {}).get("tasks", []))
    )


@pytest.fixture(scope="module")
def aws_wait(adapter: OperatorProcess, credentials: dict[str, dict[str, str]], tmp_path_factory: Any) -> Any:
    """`aws ecs wait <waiter> ...` with the writer's key; returns the exit status and stderr."""
    assert AWS.exists(), f"{AWS} is missing: `make venv` installs the AWS CLI (or set FARGATE_AWS_CLI)"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path_factory.mktemp("awshome")),
        "AWS_ACCESS_KEY_ID": credentials["writer"]["accessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["writer"]["secretAccessKey"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
    }

    def run(waiter: str, *args: str) -> tuple[int, str]:
        res = subprocess.run(
            [str(AWS), "ecs", "wait", waiter, "--endpoint-url", adapter.rest_endpoint, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        return res.returncode, res.stderr

    return run


def test_a_deleted_service_drains_and_stays_describable_inactive(
    world: World,
    ecs_for: Callable[[str], Any],
    aws_wait: Any,
    namespace: str,
    network: Network,
    unique: str,
) -> None:
    ecs, reader, other = ecs_for("writer"), ecs_for("reader"), ecs_for("other")
    cluster, family, name = f"life-{unique}", f"life-{unique}", "web"
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(**_td(family, "busybox:1"))
    net = awsvpc(network.subnet_id, network.security_group_id)
    arn = ecs.create_service(
        cluster=cluster,
        serviceName=name,
        taskDefinition=family,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=net,
    )["service"]["serviceArn"]

    ecs.get_waiter("services_stable").wait(cluster=cluster, services=[name], WaiterConfig=QUICK)
    ecs.update_service(cluster=cluster, service=name, desiredCount=2)
    ecs.get_waiter("services_stable").wait(cluster=cluster, services=[name], WaiterConfig=QUICK)
    ecs.register_task_definition(**_td(family, "busybox:2"))
    ecs.update_service(cluster=cluster, service=name, taskDefinition=f"{family}:2")
    ecs.get_waiter("services_stable").wait(cluster=cluster, services=[name], WaiterConfig=QUICK)
    assert aws_wait("services-stable", "--cluster", cluster, "--services", name) == (0, "")

    assert ecs.delete_service(cluster=cluster, service=name, force=True)["service"]["status"] == "DRAINING"
    # The waiter fails at once on MISSING: it must see DRAINING, then INACTIVE.
    ecs.get_waiter("services_inactive").wait(cluster=cluster, services=[name], WaiterConfig=QUICK)
    assert aws_wait("services-inactive", "--cluster", cluster, "--services", arn) == (0, "")

    for client in (ecs, reader):  # by name and by ARN, for whoever may read the namespace's services
        for ref in (name, arn):
            answer = check_shape("DescribeServices", client.describe_services(cluster=cluster, services=[ref]))
            assert answer["failures"] == [], answer
            (svc,) = answer["services"]
            assert (svc["serviceArn"], svc["status"], svc["desiredCount"]) == (arn, "INACTIVE", 0)
    assert arn not in ecs.list_services(cluster=cluster)["serviceArns"], "ListServices shows no INACTIVE service"
    with pytest.raises(ecs.exceptions.ServiceNotActiveException):
        ecs.update_service(cluster=cluster, service=name, desiredCount=1)
    # The record is the namespace's: another namespace's caller learns nothing of it.
    with pytest.raises(other.exceptions.ClusterNotFoundException):
        other.describe_services(cluster=cluster, services=[name])
    # It lives in the API server (survives an operator restart, read by every replica).
    kube = Kube(world.control_plane, namespace)
    assert kube.get("configmap", RECORDS) is not None

    # A new service of the same name is the one answered (ECS: the ACTIVE one).
    again = ecs.create_service(
        cluster=cluster,
        serviceName=name,
        taskDefinition=family,
        desiredCount=0,
        launchType="FARGATE",
        networkConfiguration=net,
    )["service"]
    assert ecs.describe_services(cluster=cluster, services=[name])["services"][0]["status"] == "ACTIVE"
    ecs.delete_service(cluster=cluster, service=again["serviceArn"])
    ecs.get_waiter("services_inactive").wait(cluster=cluster, services=[name], WaiterConfig=QUICK)


def test_a_task_runs_stops_and_stays_describable_stopped(
    world: World, ecs_for: Callable[[str], Any], aws_wait: Any, namespace: str, network: Network, unique: str
) -> None:
    ecs = ecs_for("writer")
    cluster, family = f"run-{unique}", f"run-{unique}"
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(**_td(family, "busybox:1"))
    net = awsvpc(network.subnet_id, network.security_group_id)
    arn = ecs.run_task(cluster=cluster, taskDefinition=family, launchType="FARGATE", networkConfiguration=net)["tasks"][
        0
    ]["taskArn"]
    ecs.get_waiter("tasks_running").wait(cluster=cluster, tasks=[arn], WaiterConfig=QUICK)
    assert aws_wait("tasks-running", "--cluster", cluster, "--tasks", arn) == (0, "")
    ecs.stop_task(cluster=cluster, task=arn, reason="done")
    ecs.get_waiter("tasks_stopped").wait(cluster=cluster, tasks=[arn], WaiterConfig=QUICK)
    assert aws_wait("tasks-stopped", "--cluster", cluster, "--tasks", arn) == (0, "")

    # The FargateTask deleted (kubectl, a TTL, a GitOps prune): ECS still describes the task STOPPED.
    obj = _task_object(world, namespace, arn)
    Kube(world.control_plane, namespace).delete("fargatetask", obj, wait=True)
    answer = check_shape("DescribeTasks", ecs.describe_tasks(cluster=cluster, tasks=[arn]))
    assert answer["failures"] == [] and answer["tasks"][0]["lastStatus"] == "STOPPED", answer
    ecs.get_waiter("tasks_stopped").wait(cluster=cluster, tasks=[arn], WaiterConfig=QUICK)


def test_a_task_deleted_while_running_is_answered_stopped(
    world: World, ecs_for: Callable[[str], Any], namespace: str, network: Network, unique: str
) -> None:
    ecs = ecs_for("writer")
    cluster, family = f"gone-{unique}", f"gone-{unique}"
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(**_td(family, "busybox:1"))
    net = awsvpc(network.subnet_id, network.security_group_id)
    arn = ecs.run_task(cluster=cluster, taskDefinition=family, launchType="FARGATE", networkConfiguration=net)["tasks"][
        0
    ]["taskArn"]
    ecs.get_waiter("tasks_running").wait(cluster=cluster, tasks=[arn], WaiterConfig=QUICK)
    obj = _task_object(world, namespace, arn)
    Kube(world.control_plane, namespace).delete(
        "fargatetask", obj, wait=True
    )  # the operator stops it, then lets the object go
    (task,) = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"]
    assert (task["lastStatus"], task["desiredStatus"]) == ("STOPPED", "STOPPED")
    assert task["stoppedReason"] == f"FargateTask {namespace}/{obj} deleted"


def test_a_deleted_family_and_cluster_answer_inactive(
    world: World, ecs_for: Callable[[str], Any], namespace: str, unique: str
) -> None:
    ecs = ecs_for("writer")
    cluster, family = f"bye-{unique}", f"bye-{unique}"
    cluster_arn = ecs.create_cluster(clusterName=cluster)["cluster"]["clusterArn"]
    td_arn = ecs.register_task_definition(**_td(family, "busybox:1"))["taskDefinition"]["taskDefinitionArn"]
    kube = Kube(world.control_plane, namespace)
    kube.delete("fargatetaskdefinition", family, wait=True)
    kube.delete("fargatecluster", cluster, wait=True)

    described = check_shape("DescribeTaskDefinition", ecs.describe_task_definition(taskDefinition=f"{family}:1"))
    assert (described["taskDefinition"]["taskDefinitionArn"], described["taskDefinition"]["status"]) == (
        td_arn,
        "INACTIVE",
    )
    assert td_arn in ecs.list_task_definitions(familyPrefix=family, status="INACTIVE")["taskDefinitionArns"]
    assert ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"] == []
    clusters = check_shape("DescribeClusters", ecs.describe_clusters(clusters=[cluster, cluster_arn]))
    assert [(c["clusterArn"], c["status"]) for c in clusters["clusters"]] == [(cluster_arn, "INACTIVE")] * 2
    assert clusters["failures"] == []


def test_waiters_fail_on_what_never_existed(ecs_for: Callable[[str], Any], unique: str) -> None:
    """MISSING stays MISSING: ServicesInactive fails on it, as against ECS."""
    ecs = ecs_for("writer")
    cluster = f"never-{unique}"
    ecs.create_cluster(clusterName=cluster)
    with pytest.raises(WaiterError, match="MISSING"):
        ecs.get_waiter("services_inactive").wait(cluster=cluster, services=["ghost"], WaiterConfig=QUICK)


def test_a_forged_record_shows_nothing_of_another_namespace(
    world: World, ecs_for: Callable[[str], Any], other_namespace: str, unique: str
) -> None:
    """The records are a ConfigMap, which whoever may edit ConfigMaps in a namespace can write: a record
    naming another namespace's task definition must not make the adapter fetch and show it."""
    victim, thief = ecs_for("writer"), ecs_for("other")
    secret = victim.register_task_definition(**_td(f"secret-{unique}", "busybox:1"))["taskDefinition"]
    record = {
        "kind": "FargateTaskDefinition",
        "deletedAt": time.time(),
        "object": {
            "kind": "FargateTaskDefinition",
            "metadata": {"name": "stolen", "namespace": other_namespace, "uid": "x", "annotations": {}},
            "spec": {"family": "stolen"},
            "status": {"taskDefinitionArn": secret["taskDefinitionArn"], "revision": 1},
        },
    }
    forged = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": RECORDS, "labels": {RECORDS_LABEL: "true"}},
        "data": {"FargateTaskDefinition.x": json.dumps(record)},
    }
    world.control_plane.kubectl("apply", "-n", other_namespace, "-f", "-", input=json.dumps(forged))
    wait_for(
        "the forged record is in the watch cache",
        lambda: (
            secret["taskDefinitionArn"]
            in thief.list_task_definitions(familyPrefix="stolen", status="INACTIVE")["taskDefinitionArns"]
        ),
    )
    with pytest.raises(thief.exceptions.ClientException):
        thief.describe_task_definition(taskDefinition="stolen:1")
