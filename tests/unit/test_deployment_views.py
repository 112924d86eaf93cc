"""ECS's ServiceDeployment shapes from a FargateService's status.deployment, and the steering request values."""

from __future__ import annotations

from typing import Any

from fargate_operator.reconcile import deployment_request as request
from fargate_operator.service import deployment_views as views
from fargate_operator.service.deployments import ServiceDeployments

SERVICE = "arn:aws:ecs:us-east-1:123456789012:service/apps/web"
CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/apps"
CURRENT = "arn:aws:ecs:us-east-1:123456789012:service-deployment/apps/web/new"
LAST = "arn:aws:ecs:us-east-1:123456789012:service-deployment/apps/web/old"


def _obj(current: dict[str, Any] | None, last: dict[str, Any] | None) -> dict[str, Any]:
    deployment = {k: v for k, v in (("current", current), ("last", last)) if v}
    return {"status": {"serviceArn": SERVICE, "clusterArn": CLUSTER, "deployment": deployment}}


PAUSED = {
    "serviceDeploymentArn": CURRENT,
    "strategy": "BLUE_GREEN",
    "status": "IN_PROGRESS",
    "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
    "startedAt": "2026-12-07T05:00:00Z",
    "updatedAt": "2026-12-07T05:01:00Z",
    "targetServiceRevisionArn": "arn:aws:ecs:us-east-1:123456789012:service-revision/apps/web/2",
    "sourceServiceRevisionArns": ["arn:aws:ecs:us-east-1:123456789012:service-revision/apps/web/1"],
    "hook": {"lifecycleStage": "POST_TEST_TRAFFIC_SHIFT", "status": "AWAITING_ACTION"},
}
DONE = {
    "serviceDeploymentArn": LAST,
    "strategy": "ROLLING",
    "status": "ROLLBACK_SUCCESSFUL",
    "startedAt": "2026-12-07T04:00:00Z",
    "finishedAt": "2026-12-07T04:05:00+00:00",
    "rollback": {"reason": "stopped by StopServiceDeployment", "startedAt": "2026-12-07T04:03:00Z"},
}


def test_a_recorded_deployment_is_answered_in_ecs_shapes_with_epoch_timestamps() -> None:
    obj = _obj(PAUSED, DONE)
    assert [d["serviceDeploymentArn"] for d in views.recorded(obj)] == [CURRENT, LAST]
    detail = views.detail(obj, PAUSED)
    assert detail["serviceArn"] == SERVICE and detail["clusterArn"] == CLUSTER
    assert detail["startedAt"] == 1796619600.0
    assert detail["targetServiceRevision"] == {"arn": PAUSED["targetServiceRevisionArn"]}
    assert detail["deploymentConfiguration"] == {"strategy": "BLUE_GREEN"}
    assert detail["lifecycleHookDetails"] == [{"targetType": "PAUSE", "status": "AWAITING_ACTION"}]
    finished = views.detail(obj, DONE)
    assert finished["rollback"]["reason"] == "stopped by StopServiceDeployment"
    assert "lifecycleHookDetails" not in finished and "lifecycleStage" not in finished
    brief = views.brief(obj, DONE)
    assert brief["createdAt"] == brief["startedAt"] and brief["finishedAt"] == 1796616300.0
    assert set(brief) <= {
        "serviceDeploymentArn",
        "serviceArn",
        "clusterArn",
        "startedAt",
        "createdAt",
        "finishedAt",
        "targetServiceRevisionArn",
        "status",
        "statusReason",
    }


def test_an_object_without_deployments_records_none() -> None:
    assert views.recorded({"status": {}}) == []
    assert views.recorded(_obj(DONE, DONE)) == [DONE]


def test_a_deployment_arn_names_its_service_and_nothing_else_does() -> None:
    assert request.service_of(CURRENT) == SERVICE
    assert request.service_of(SERVICE) is None
    assert request.service_of("arn:aws:ecs:us-east-1:1:service-deployment/apps/web") is None
    assert request.service_of("service-deployment/apps/web/x") is None


def test_the_deployment_operations_find_the_object_by_recorded_or_named_service() -> None:
    class Store:
        def objects(self, kind: str, ns: str) -> list[dict[str, Any]]:
            return [_obj(PAUSED, None)]

    ops = ServiceDeployments(Store())  # type: ignore[arg-type]  # only objects() is read
    found = ops._find("team-a", CURRENT)
    assert found is not None and found[1] == PAUSED
    unrecorded = ops._find("team-a", LAST)  # not in status yet: found by the service its ARN names
    assert unrecorded is not None and unrecorded[1] is None
    assert ops._find("team-a", CURRENT.replace("/web/", "/api/")) is None
