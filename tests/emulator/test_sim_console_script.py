"""The emulator on its own: its console script (`fargate-ecs-sim`), as someone else's tests would start it."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from fargate_devenv import processes

SCRIPT = Path(sys.executable).parent / "fargate-ecs-sim"  # installed beside this interpreter by pip


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    port, log = processes.free_port(), tmp_path_factory.mktemp("standalone") / "ecs-sim.log"
    proc = processes.start([str(SCRIPT), "--port", str(port), "--step-seconds", "0.05"], log)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        processes.wait_until(lambda: "ECS emulator on" in log.read_text(), proc, "fargate-ecs-sim", log, 60)
        yield endpoint, log
    finally:
        processes.stop(proc)


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _until(what: str, probe: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if found := probe():
                return found
        except OSError:  # not listening yet
            pass
        time.sleep(0.1)
    raise TimeoutError(what)


def test_the_console_script_binds_this_machine_only_by_default(standalone: tuple[str, Path]) -> None:
    endpoint, log = standalone
    port = endpoint.rsplit(":", 1)[1]
    assert f"ECS emulator on 127.0.0.1:{port}" in log.read_text()


def test_the_console_script_serves_ecs_with_task_lifecycles(standalone: tuple[str, Path]) -> None:
    endpoint, _ = standalone
    ecs, ec2 = _client("ecs", endpoint), _client("ec2", endpoint)
    cluster = _until("ECS answers", lambda: ecs.create_cluster(clusterName="demo")["cluster"]["clusterName"])
    assert [c["status"] for c in ecs.describe_clusters(clusters=[cluster])["clusters"]] == ["ACTIVE"]
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    td = ecs.register_task_definition(
        family="hello",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "app", "image": "busybox:1.36", "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    (task,) = ecs.run_task(
        cluster=cluster,
        taskDefinition=td,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet]}},
    )["tasks"]
    assert task["lastStatus"] == "PROVISIONING"
    arn = task["taskArn"]
    _until(
        "the task runs",
        lambda: ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]["lastStatus"] == "RUNNING",
    )


def test_the_console_script_says_how_to_use_it() -> None:
    out = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True, check=True).stdout
    assert "--port" in out and "default 4566" in out and "default 127.0.0.1" in out
