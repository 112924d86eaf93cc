"""The AWS CLI (PyPI awscli, unmodified, its own venv) against the adapter: SigV4 from a Secret, every answer in ECS's shapes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from test_rest_boto3 import check_shape

from fargate_devenv.ecs_emulator import Network
from support.awscli import AWS
from support.operator_process import OperatorProcess


@pytest.fixture(scope="module")
def aws(
    adapter: OperatorProcess, credentials: dict[str, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> Any:
    assert AWS.exists(), f"{AWS} is missing: `make venv` installs the AWS CLI (or set FARGATE_AWS_CLI)"
    home = tmp_path_factory.mktemp("awshome")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": credentials["writer"]["accessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["writer"]["secretAccessKey"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
    }

    def run(operation: str, *args: str, expect_error: str | None = None) -> dict[str, Any]:
        res = subprocess.run(
            [str(AWS), "ecs", operation, "--endpoint-url", adapter.rest_endpoint, "--output", "json", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        if expect_error:
            assert res.returncode != 0 and expect_error in res.stderr, res.stderr
            return {}
        assert res.returncode == 0, f"aws ecs {operation}: {res.stderr}"
        out: dict[str, Any] = json.loads(res.stdout) if res.stdout.strip() else {}
        return out

    return run


def test_aws_cli_end_to_end(aws: Any, network: Network, unique: str, tmp_path: Path) -> None:
    cluster, family = f"cli-{unique}", f"cli-{unique}"
    check_shape("CreateCluster", aws("create-cluster", "--cluster-name", cluster))
    assert (
        check_shape("DescribeClusters", aws("describe-clusters", "--clusters", cluster))["clusters"][0]["status"]
        == "ACTIVE"
    )
    td = {
        "family": family,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 256, "essential": True}],
    }
    (tmp_path / "td.json").write_text(json.dumps(td))
    registered = check_shape(
        "RegisterTaskDefinition", aws("register-task-definition", "--cli-input-json", f"file://{tmp_path / 'td.json'}")
    )
    assert registered["taskDefinition"]["family"] == family
    check_shape("DescribeTaskDefinition", aws("describe-task-definition", "--task-definition", family))
    assert (
        len(
            check_shape("ListTaskDefinitions", aws("list-task-definitions", "--family-prefix", family))[
                "taskDefinitionArns"
            ]
        )
        == 1
    )
    net = f"awsvpcConfiguration={{subnets=[{network.subnet_id}],securityGroups=[{network.security_group_id}]}}"
    run = check_shape(
        "RunTask",
        aws(
            "run-task",
            "--cluster",
            cluster,
            "--task-definition",
            family,
            "--launch-type",
            "FARGATE",
            "--network-configuration",
            net,
        ),
    )
    arn = run["tasks"][0]["taskArn"]
    assert (
        check_shape("DescribeTasks", aws("describe-tasks", "--cluster", cluster, "--tasks", arn))["tasks"][0]["taskArn"]
        == arn
    )
    assert arn in check_shape("ListTasks", aws("list-tasks", "--cluster", cluster))["taskArns"]
    check_shape("StopTask", aws("stop-task", "--cluster", cluster, "--task", arn))
    check_shape(
        "CreateService",
        aws(
            "create-service",
            "--cluster",
            cluster,
            "--service-name",
            "web",
            "--task-definition",
            family,
            "--desired-count",
            "1",
            "--launch-type",
            "FARGATE",
            "--network-configuration",
            net,
        ),
    )
    assert check_shape("ListServices", aws("list-services", "--cluster", cluster))["serviceArns"]
    check_shape(
        "UpdateService", aws("update-service", "--cluster", cluster, "--service", "web", "--desired-count", "0")
    )
    check_shape("DescribeServices", aws("describe-services", "--cluster", cluster, "--services", "web"))
    check_shape("DeleteService", aws("delete-service", "--cluster", cluster, "--service", "web"))
    aws("describe-services", "--cluster", "nope", "--services", "web", expect_error="ClusterNotFoundException")
    check_shape("DeregisterTaskDefinition", aws("deregister-task-definition", "--task-definition", f"{family}:1"))
