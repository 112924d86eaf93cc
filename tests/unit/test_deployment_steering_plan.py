"""Steering a service deployment (continue past a PAUSE hook, stop with rollback) against the in-memory gateway."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fargate_operator.controllers import deployment_steering as steering
from fargate_operator.ecs import owner_gate
from fargate_operator.ecs.errors import EcsError
from fargate_operator.models.ownership import Owner
from support.fake_ecs import FakeEcs

CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/apps"
OWNER = Owner("FargateService", "team-a", "web", "uid-web")
OTHER = Owner("FargateService", "team-b", "web", "uid-other")
SERVICE = "arn:aws:ecs:us-east-1:123456789012:service/apps/web"
DEPLOYMENT = "arn:aws:ecs:us-east-1:123456789012:service-deployment/apps/web/abc123"
ELSEWHERE = "arn:aws:ecs:us-east-1:123456789012:service-deployment/apps/api/def456"
TARGET = steering.Target(OWNER, CLUSTER, SERVICE)


def _service(owner: Owner = OWNER) -> dict[str, Any]:
    return {"serviceArn": SERVICE, "clusterArn": CLUSTER, "status": "ACTIVE", "tags": owner.tags()}


def _deployment(status: str = "IN_PROGRESS", hooks: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "serviceDeploymentArn": DEPLOYMENT,
        "serviceArn": SERVICE,
        "clusterArn": CLUSTER,
        "status": status,
        "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
        "lifecycleHookDetails": hooks or [],
        **extra,
    }


def _hook(hook_id: str, status: str = "AWAITING_ACTION") -> dict[str, Any]:
    return {"hookId": hook_id, "targetType": "PAUSE", "status": status, "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT"}


class Told(list[tuple[str, str, bool]]):
    async def __call__(self, reason: str, message: str, warning: bool) -> None:
        self.append((reason, message, warning))


def _ecs(*deployments: dict[str, Any], owner: Owner = OWNER) -> FakeEcs:
    return (
        FakeEcs()
        .on("DescribeServices", lambda p: {"services": [_service(owner)]})
        .with_deployments(*deployments)
        .on("ContinueServiceDeployment", lambda p: {"serviceDeploymentArn": p["serviceDeploymentArn"]})
        .on("StopServiceDeployment", lambda p: {"serviceDeploymentArn": p["serviceDeploymentArn"]})
    )


def _steer(fake: FakeEcs, value: str, operation: str = steering.CONTINUE, target: Any = TARGET) -> Told:
    told = Told()
    request = steering.parse(operation, value)
    assert request is not None
    asyncio.run(steering.steer(fake, told, target, request, "annotation seen"))
    return told


def test_a_paused_deployment_of_the_objects_service_is_continued_at_its_awaiting_hook() -> None:
    fake = _ecs(_deployment(hooks=[_hook("h-done", "SUCCEEDED"), _hook("h-1")]))
    told = _steer(fake, DEPLOYMENT)
    assert fake.made("ContinueServiceDeployment") == [
        {"serviceDeploymentArn": DEPLOYMENT, "hookId": "h-1", "action": "CONTINUE"}
    ]
    assert told[0][0] == "DeploymentContinued" and "annotation seen" in told[0][1] and not told[0][2]


def test_a_named_hook_is_continued_only_while_it_awaits_action() -> None:
    fake = _ecs(_deployment(hooks=[_hook("h-1", "SUCCEEDED"), _hook("h-2")]))
    told = _steer(fake, f"{DEPLOYMENT}#h-1")
    assert fake.made("ContinueServiceDeployment") == []
    assert told[0][0] == "NothingToContinue"
    _steer(fake, f"{DEPLOYMENT}#h-2")
    assert [p["hookId"] for p in fake.made("ContinueServiceDeployment")] == ["h-2"]


@pytest.mark.parametrize(
    ("deployment", "reason"),
    [
        (_deployment("SUCCESSFUL"), "DeploymentAlreadyFinished"),
        (_deployment("ROLLBACK_SUCCESSFUL"), "DeploymentAlreadyFinished"),
        (_deployment("ROLLBACK_IN_PROGRESS", [_hook("h-1")]), "DeploymentAlreadyStopping"),
        (_deployment("IN_PROGRESS", [_hook("h-1", "SUCCEEDED")]), "NothingToContinue"),
    ],
)
def test_a_deployment_that_moved_on_is_an_event_and_no_call(deployment: dict[str, Any], reason: str) -> None:
    fake = _ecs(deployment)
    told = _steer(fake, DEPLOYMENT)
    assert fake.made("ContinueServiceDeployment") == []
    assert [r for r, _, _ in told] == [reason]


def test_a_deployment_of_another_service_is_never_touched() -> None:
    fake = _ecs(_deployment(hooks=[_hook("h-1")]) | {"serviceDeploymentArn": ELSEWHERE, "serviceArn": SERVICE + "x"})
    told = _steer(fake, ELSEWHERE, steering.STOP)
    assert fake.made("StopServiceDeployment") == [] and fake.made("ContinueServiceDeployment") == []
    assert told[0][0] == "DeploymentNotThisService" and told[0][2]


def test_an_unknown_deployment_is_an_event() -> None:
    fake = _ecs()
    told = _steer(fake, DEPLOYMENT, steering.STOP)
    assert fake.made("StopServiceDeployment") == []
    assert told[0][0] == "DeploymentNotFound"


def test_a_service_that_fails_the_owner_check_is_not_steered_nor_its_deployment_asked() -> None:
    fake = _ecs(_deployment(hooks=[_hook("h-1")]), owner=OTHER)
    told = _steer(fake, DEPLOYMENT)
    assert fake.made("DescribeServiceDeployments") == [] and fake.made("ContinueServiceDeployment") == []
    assert told[0][0] == "DeploymentNotSteered" and told[0][2]


def test_an_object_without_a_service_of_its_own_asks_ecs_nothing() -> None:
    fake = _ecs(_deployment(hooks=[_hook("h-1")]))
    told = _steer(fake, DEPLOYMENT, target=steering.Target(OWNER, CLUSTER, None))
    assert fake.calls == [] and told[0][0] == "DeploymentNotSteered"


def test_a_running_deployment_is_stopped_with_rollback() -> None:
    fake = _ecs(_deployment())
    told = _steer(fake, DEPLOYMENT, steering.STOP)
    assert fake.made("StopServiceDeployment") == [{"serviceDeploymentArn": DEPLOYMENT, "stopType": "ROLLBACK"}]
    assert told[0][0] == "DeploymentStopped"


def test_an_ecs_refusal_is_an_event_and_a_transient_error_is_raised_for_a_retry() -> None:
    fake = _ecs(_deployment()).fail("StopServiceDeployment", "ConflictException", "it cannot be stopped")
    told = _steer(fake, DEPLOYMENT, steering.STOP)
    assert told[0][0] == "DeploymentNotSteered" and "ConflictException" in told[0][1]
    fake.fail("StopServiceDeployment", "ThrottlingException", http_status=400)
    with pytest.raises(EcsError):
        _steer(fake, DEPLOYMENT, steering.STOP)


def test_an_annotation_value_that_names_no_deployment_is_no_request() -> None:
    assert steering.parse(steering.STOP, "") is None
    assert steering.parse(steering.STOP, "please") is None
    assert steering.parse(steering.STOP, SERVICE) is None
    assert steering.parse(steering.CONTINUE, f" {DEPLOYMENT}#h-1 ") == steering.Request(
        steering.CONTINUE, DEPLOYMENT, "h-1"
    )
    assert steering.annotation_value(DEPLOYMENT, "h-1") == f"{DEPLOYMENT}#h-1"


def test_only_a_deployment_of_an_owned_service_becomes_a_gated_target() -> None:
    service = owner_gate.owned(OWNER, _service())
    assert service is not None
    assert owner_gate.deployment_of(service, _deployment() | {"serviceArn": SERVICE + "x"}) is None
    target = owner_gate.deployment_of(service, _deployment())
    assert target is not None
    assert owner_gate.request("StopServiceDeployment", target, {"serviceDeploymentArn": ELSEWHERE}) == {
        "serviceDeploymentArn": DEPLOYMENT
    }
    adopted = owner_gate.owned(OWNER, _service() | {"tags": []}, adoption_policy="Adopt")
    assert adopted is not None and owner_gate.deployment_of(adopted, _deployment()) is None


def test_an_ecs_refusal_while_looking_is_an_event_not_a_retry() -> None:
    fake = _ecs(_deployment(hooks=[_hook("h-1")])).fail("DescribeServiceDeployments", "AccessDeniedException")
    told = _steer(fake, DEPLOYMENT)
    assert fake.made("ContinueServiceDeployment") == []
    assert told[0][0] == "DeploymentNotSteered" and "AccessDeniedException" in told[0][1] and told[0][2]
