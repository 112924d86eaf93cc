"""ExecuteCommand, which moto lacks: the service layer against botocore's Stubber with a recorded ECS answer.

The Stubber checks the request against the real ECS model; the answer is one
ECS sends (session fields shortened). The Event write is captured instead of
sent, and the authorization decision comes from a table (`create fargatetasks/exec`
in team-a for user "dev"), since no API server runs in unit tests; the decisions
themselves are held by tests/integration/adapter/test_caller_identity.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from fargate_operator import k8s
from fargate_operator.config import OperatorConfig
from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.ecs.settings import GatewaySettings
from fargate_operator.runtime import Runtime
from fargate_operator.service.access import Access, Permission
from fargate_operator.service.api import EcsApi
from fargate_operator.service.errors import ApiError
from fargate_operator.service.identity import Principal
from fargate_operator.store.watch_cache import WatchCache

TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/prod/0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
RECORDED: dict[str, Any] = {
    "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
    "containerArn": "arn:aws:ecs:us-east-1:123456789012:container/prod/0b1c2d3e/7f6e5d4c",
    "containerName": "app",
    "interactive": True,
    "session": {
        "sessionId": "ecs-execute-command-0a1b2c3d4e5f60718",
        "streamUrl": "wss://ssmmessages.us-east-1.amazonaws.com/v1/data-channel/ecs-execute-command-0a1b2c3d4e5f60718",
        "tokenValue": "AAEAAdummy",
    },
    "taskArn": TASK_ARN,
}


def _task_object(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "ecs.fargate.dev/v1alpha1",
        "kind": "FargateTask",
        "metadata": {"name": "debug", "namespace": namespace, "uid": "u1", "generation": 1},
        "spec": {"cluster": "prod", "taskDefinition": "web:3", "enableExecuteCommand": True},
        "status": {"clusterArn": RECORDED["clusterArn"], "tasks": [{"taskArn": TASK_ARN, "lastStatus": "RUNNING"}]},
    }


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> tuple[EcsApi, Stubber, list[tuple[str, str]]]:
    client = boto3.client("ecs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    stubber = Stubber(client)
    registry = WatchCache()
    registry.upsert(_task_object("team-a"))
    registry.upsert(
        {
            "kind": "FargateCluster",
            "metadata": {"name": "prod", "namespace": "team-a"},
            "spec": {"clusterName": "prod"},
            "status": {"clusterArn": RECORDED["clusterArn"]},
        }
    )
    events: list[tuple[str, str]] = []

    async def record(body: Any, reason: str, message: str, warning: bool = False) -> None:
        events.append((reason, message))

    monkeypatch.setattr(k8s, "post_event", record)
    registry.mark_synced()  # listed whole: which FargateAccount serves the namespace is known (none here)
    rt = Runtime(OperatorConfig(), EcsGateway(GatewaySettings(), client=client), registry)

    async def rbac(principal: Principal, namespace: str, permission: Permission) -> bool:
        return principal.user == "dev" and permission.resource == "fargatetasks/exec"

    return EcsApi(rt, access=Access(review=rbac)), stubber, events


def caller(namespace: str, user: str = "dev", read_only: bool = False) -> Principal:
    return Principal(user, ("system:authenticated",), namespace, read_only, via="key cred")


def test_execute_command_forwards_to_ecs_and_records_an_event(
    api: tuple[EcsApi, Stubber, list[tuple[str, str]]],
) -> None:
    ecs_api, stubber, events = api
    request = {"cluster": "prod", "container": "app", "command": "/bin/sh", "interactive": True, "task": TASK_ARN}
    stubber.add_response("execute_command", RECORDED, {**request})
    with stubber:
        answer = asyncio.run(ecs_api.call("ExecuteCommand", request, caller("team-a")))
    assert isinstance(answer, dict)
    assert answer["session"]["sessionId"] == RECORDED["session"]["sessionId"]
    assert events == [
        ("ExecuteCommand", "ExecuteCommand by dev in container app: session ecs-execute-command-0a1b2c3d4e5f60718")
    ]
    stubber.assert_no_pending_responses()


def test_execute_command_refuses_tasks_of_other_namespaces(api: tuple[EcsApi, Stubber, list[tuple[str, str]]]) -> None:
    ecs_api, _stubber, events = api
    request = {"cluster": "prod", "container": "app", "command": "/bin/sh", "interactive": True, "task": TASK_ARN}
    with pytest.raises(ApiError) as err:
        asyncio.run(ecs_api.call("ExecuteCommand", request, caller("team-b")))
    assert err.value.code == "ClusterNotFoundException" and not events


def test_execute_command_needs_write_scope(api: tuple[EcsApi, Stubber, list[tuple[str, str]]]) -> None:
    ecs_api, _stubber, _events = api
    with pytest.raises(ApiError) as err:
        asyncio.run(ecs_api.call("ExecuteCommand", {"task": TASK_ARN}, caller("team-a", read_only=True)))
    assert (err.value.code, err.value.status) == ("AccessDeniedException", 403)


def test_ecs_error_comes_back_as_the_same_error(api: tuple[EcsApi, Stubber, list[tuple[str, str]]]) -> None:
    ecs_api, stubber, _events = api
    request = {"cluster": "prod", "container": "app", "command": "ls", "interactive": True, "task": TASK_ARN}
    stubber.add_client_error("execute_command", "TargetNotConnectedException", "The execute command failed", 400)
    with stubber, pytest.raises(ApiError) as err:
        asyncio.run(ecs_api.call("ExecuteCommand", request, caller("team-a")))
    assert err.value.code == "TargetNotConnectedException" and err.value.status == 400


def test_execute_command_needs_its_own_verb_not_read_access(
    api: tuple[EcsApi, Stubber, list[tuple[str, str]]],
) -> None:
    """A user RBAC lets read tasks but not `create fargatetasks/exec` reaches neither ECS nor the task."""
    ecs_api, stubber, events = api
    request = {"cluster": "prod", "container": "app", "command": "/bin/sh", "interactive": True, "task": TASK_ARN}
    with stubber, pytest.raises(ApiError) as err:  # no response queued: an ECS call would fail the test
        asyncio.run(ecs_api.call("ExecuteCommand", request, caller("team-a", user="reader")))
    assert (err.value.code, err.value.status) == ("AccessDeniedException", 403)
    assert 'User "reader" cannot create resource "fargatetasks/exec"' in err.value.message
    assert 'in the namespace "team-a"' in err.value.message and not events
