"""ECS's ServiceDeployment shapes from a FargateService's status.deployment, and the steering request values."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import botocore.session
import pytest

from fargate_operator.reconcile import deployment as status_logic
from fargate_operator.reconcile import deployment_request as request
from fargate_operator.reconcile import merge_patch
from fargate_operator.service import deployment_views as views
from fargate_operator.service.deployments import ServiceDeployments
from fargate_operator.service.errors import ApiError

SERVICE = "arn:aws:ecs:us-east-1:123456789012:service/apps/web"
CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/apps"
CURRENT = "arn:aws:ecs:us-east-1:123456789012:service-deployment/apps/web/new"
LAST = "arn:aws:ecs:us-east-1:123456789012:service-deployment/apps/web/old"
MODEL = botocore.session.get_session().get_service_model("ecs")


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
    "trafficWeights": {"production": 0.0, "test": 100.0},
    "hook": {
        "hookId": "h-1",
        "targetType": "PAUSE",
        "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
        "status": "AWAITING_ACTION",
    },
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
    assert detail["targetServiceRevision"] == {
        "arn": PAUSED["targetServiceRevisionArn"],
        "requestedProductionTrafficWeight": 0.0,
        "requestedTestTrafficWeight": 100.0,
    }
    assert detail["deploymentConfiguration"] == {"strategy": "BLUE_GREEN"}
    assert detail["lifecycleHookDetails"] == [{"hookId": "h-1", "targetType": "PAUSE", "status": "AWAITING_ACTION"}]
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


def test_ecs_answer_recorded_in_status_is_answered_again_as_ecs_gave_it() -> None:
    """DescribeServiceDeployments' answer -> status.deployment (the status loop) -> the adapter's answer: every
    member status keeps comes back where botocore's model has it, timestamps as epoch seconds."""
    at = datetime.datetime(2026, 12, 7, 5, 0, 0, 250000, tzinfo=datetime.UTC)
    target = {"arn": "rev/2", "requestedProductionTrafficWeight": 30.0, "requestedTestTrafficWeight": 100.0}
    hook = {"hookId": "h-9", "targetType": "PAUSE", "status": "AWAITING_ACTION"}
    ecs = {
        "serviceDeploymentArn": CURRENT,
        "serviceArn": SERVICE,
        "clusterArn": CLUSTER,
        "createdAt": at,
        "startedAt": at,
        "updatedAt": at,
        "status": "IN_PROGRESS",
        "statusReason": "ECS is deploying",
        "lifecycleStage": "PRODUCTION_TRAFFIC_SHIFT",
        "targetServiceRevision": target,
        "sourceServiceRevisions": [{"arn": "rev/1"}],
        "deploymentConfiguration": {"strategy": "LINEAR"},
        "lifecycleHookDetails": [hook, {"hookId": "h-0", "targetType": "PAUSE", "status": "SUCCEEDED"}],
    }
    obj = _obj(merge_patch.applied({}, status_logic.record(None, ecs))["current"], None)

    answered = views.detail(obj, views.recorded(obj)[0])

    wire = {k: v.timestamp() if isinstance(v, datetime.datetime) else v for k, v in ecs.items()}
    assert answered == wire | {"lifecycleHookDetails": [hook]}  # the hook awaiting action: the one status keeps
    assert answered["startedAt"] == 1796619600.25
    brief = views.brief(obj, views.recorded(obj)[0])
    assert brief == {k: wire[k] for k in views.BRIEF if k in wire} | {"targetServiceRevisionArn": "rev/2"}
    for shape, answer in (("ServiceDeployment", answered), ("ServiceDeploymentBrief", brief)):
        members = MODEL.shape_for(shape).members
        assert set(answer) <= set(members), set(answer) - set(members)
    revision = MODEL.shape_for("ServiceRevisionSummary").members
    assert set(answered["targetServiceRevision"]) <= set(revision), answered["targetServiceRevision"]


def test_a_deployment_just_started_is_answered_with_what_status_knows() -> None:
    obj = _obj({"serviceDeploymentArn": CURRENT}, DONE)  # UpdateService's answer named it; not described yet
    assert views.brief(obj, views.recorded(obj)[0]) == {
        "serviceDeploymentArn": CURRENT,
        "serviceArn": SERVICE,
        "clusterArn": CLUSTER,
    }


def test_an_object_without_deployments_records_none() -> None:
    assert views.recorded({"status": {}}) == []
    assert views.recorded(_obj(DONE, DONE)) == [DONE]


def test_a_deployment_arn_names_its_service_and_nothing_else_does() -> None:
    assert request.service_of(CURRENT) == SERVICE
    assert request.service_of(SERVICE) is None
    assert request.service_of("arn:aws:ecs:us-east-1:1:service-deployment/apps/web") is None
    assert request.service_of("service-deployment/apps/web/x") is None


class _Caller:
    ns = "team-a"


class _Store:
    """The lookups the deployment operations make, over one FargateService; writing is a failure here."""

    def __init__(self, *objects: dict[str, Any]) -> None:
        self.items = [{"metadata": {"name": "web"}, "spec": {"serviceName": "web"}, **o} for o in objects]

    def objects(self, kind: str, ns: str) -> list[dict[str, Any]]:
        return self.items

    def require_cluster(self, ns: str, ref: str | None) -> Any:
        return type("Cluster", (), {"name": "apps", "arn": CLUSTER})()

    def find_service(self, ns: str, cluster: str, ref: str) -> dict[str, Any] | None:
        return next((o for o in self.items if ref in ("web", SERVICE)), None)

    async def update_annotation(self, *args: Any) -> None:
        raise AssertionError("nothing may be written")


def _ops(*objects: dict[str, Any]) -> ServiceDeployments:
    return ServiceDeployments(_Store(*objects))  # type: ignore[arg-type]  # the lookups above only


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_service_deployments_are_listed_newest_first_with_ecs_filters_and_pages() -> None:
    ops = _ops(_obj(PAUSED, DONE))
    listed = _run(ops.list_service_deployments(_Caller(), {"service": "web"}))  # type: ignore[arg-type]
    assert [b["serviceDeploymentArn"] for b in listed["serviceDeployments"]] == [CURRENT, LAST]
    done = _run(ops.list_service_deployments(_Caller(), {"service": "web", "status": ["ROLLBACK_SUCCESSFUL"]}))  # type: ignore[arg-type]
    assert [b["serviceDeploymentArn"] for b in done["serviceDeployments"]] == [LAST]
    recent = _run(ops.list_service_deployments(_Caller(), {"service": "web", "createdAt": {"after": 1796619000}}))  # type: ignore[arg-type]
    assert [b["serviceDeploymentArn"] for b in recent["serviceDeployments"]] == [CURRENT]
    first = _run(ops.list_service_deployments(_Caller(), {"service": "web", "maxResults": 1}))  # type: ignore[arg-type]
    assert len(first["serviceDeployments"]) == 1 and first["nextToken"]


def test_unknown_filters_and_deployments_are_ecs_errors_or_failures() -> None:
    ops = _ops(_obj(PAUSED, DONE))
    with pytest.raises(ApiError) as err:
        _run(ops.list_service_deployments(_Caller(), {"service": "web", "status": ["DONE"]}))  # type: ignore[arg-type]
    assert err.value.code == "InvalidParameterException" and "status" in err.value.message and err.value.status == 400
    other = CURRENT.replace("/web/", "/api/")
    described = _run(ops.describe_service_deployments(_Caller(), {"serviceDeploymentArns": [LAST, other]}))  # type: ignore[arg-type]
    assert [d["serviceDeploymentArn"] for d in described["serviceDeployments"]] == [LAST]
    assert described["failures"] == [{"arn": other, "reason": "MISSING"}]


def test_stopping_a_deployment_the_status_shows_finished_is_a_conflict_and_writes_nothing() -> None:
    ops = _ops(_obj(None, DONE))
    for call, code in (
        (ops.stop_service_deployment, "ConflictException"),
        (ops.continue_service_deployment, "InvalidParameterException"),
    ):
        with pytest.raises(ApiError) as err:
            _run(call(_Caller(), {"serviceDeploymentArn": LAST, "hookId": "h"}))  # type: ignore[arg-type]
        assert err.value.code == code, err.value


def test_the_deployment_operations_find_the_object_by_recorded_or_named_service() -> None:
    ops = _ops(_obj(PAUSED, None))
    found = ops._find("team-a", CURRENT)
    assert found is not None and found[1] == PAUSED
    unrecorded = ops._find("team-a", LAST)  # not in status yet: found by the service its ARN names
    assert unrecorded is not None and unrecorded[1] is None
    assert ops._find("team-a", CURRENT.replace("/web/", "/api/")) is None


def test_a_deployment_is_steered_on_the_object_that_manages_its_service_not_one_that_observes_it() -> None:
    observer = {**_obj(None, None), "spec": {"serviceName": "web", "managementPolicy": "Observe"}}
    observer["metadata"] = {"name": "mirror"}
    ops = _ops(_obj(None, None))
    ops.store.items.insert(0, observer)  # type: ignore[attr-defined]  # the stub's list
    found = ops._find("team-a", CURRENT)
    assert found is not None and found[0]["metadata"]["name"] == "web"
