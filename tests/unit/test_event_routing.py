"""ECS's events -> the ECS resources they concern (events/route.py), with the shapes ECS documents."""

from __future__ import annotations

from typing import Any

from fargate_operator.events.route import (
    API_CALL,
    DEPLOYMENT_STATE_CHANGE,
    SERVICE_ACTION,
    TASK_STATE_CHANGE,
    Cluster,
    Service,
    Task,
    TaskDefinitions,
    route,
)

ACCOUNT, REGION = "123456789012", "us-east-1"
CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/prod"
TASK_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/prod/0123456789abcdef"
SERVICE_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/web"


def _event(detail_type: str, detail: dict[str, Any], resources: list[str] | None = None) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": detail_type,
        "source": "aws.ecs",
        "account": ACCOUNT,
        "time": "2026-12-07T05:00:00Z",
        "region": REGION,
        "resources": resources or [],
        "detail": detail,
    }


def _task_change(**detail: Any) -> dict[str, Any]:
    base = {"taskArn": TASK_ARN, "clusterArn": CLUSTER_ARN, "lastStatus": "STOPPED", "version": 4}
    return _event(TASK_STATE_CHANGE, base | detail, [TASK_ARN])


def test_a_one_off_task_change_concerns_the_task_and_its_cluster() -> None:
    routed = route(_task_change(group="family:batch", updatedAt="2026-12-07T05:00:00.250Z"))
    assert routed.targets == (Task(TASK_ARN), Cluster(ACCOUNT, REGION, "prod"))
    assert routed.task_arn == TASK_ARN and routed.version == 4
    assert routed.time is not None and routed.time.microsecond == 250_000  # detail.updatedAt, not the envelope


def test_a_service_task_change_concerns_its_service_by_group() -> None:
    routed = route(_task_change(group="service:web"))
    assert Service(ACCOUNT, REGION, "prod", "web") in routed.targets


def test_service_actions_and_deployments_concern_the_service_of_resources() -> None:
    for detail_type in (SERVICE_ACTION, DEPLOYMENT_STATE_CHANGE):
        detail = {"eventName": "SERVICE_STEADY_STATE", "clusterArn": CLUSTER_ARN}
        routed = route(_event(detail_type, detail, [SERVICE_ARN]))
        assert routed.targets == (Service(ACCOUNT, REGION, "prod", "web"), Cluster(ACCOUNT, REGION, "prod"))
        assert routed.version is None and routed.task_arn is None


def test_an_old_format_service_arn_takes_its_cluster_from_the_detail() -> None:
    old = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/web"
    routed = route(_event(SERVICE_ACTION, {"eventName": "X", "clusterArn": CLUSTER_ARN}, [old]))
    assert routed.targets[0] == Service(ACCOUNT, REGION, "prod", "web")


def _call(name: str, params: dict[str, Any] | None, **more: Any) -> dict[str, Any]:
    return _event(API_CALL, {"eventSource": "ecs.amazonaws.com", "eventName": name, "requestParameters": params} | more)


def test_cloudtrail_service_calls_concern_the_service_by_name_or_arn() -> None:
    by_name = route(_call("UpdateService", {"cluster": "prod", "service": "web", "desiredCount": 3}))
    by_arn = route(_call("DeleteService", {"cluster": CLUSTER_ARN, "service": SERVICE_ARN}))
    created = route(_call("CreateService", {"cluster": "prod", "serviceName": "web"}))
    for routed in (by_name, by_arn, created):
        assert routed.targets == (Service(ACCOUNT, REGION, "prod", "web"), Cluster(ACCOUNT, REGION, "prod"))


def test_a_cloudtrail_call_without_a_cluster_is_in_the_default_cluster() -> None:
    assert route(_call("UpdateService", {"service": "web"})).targets[0] == Service(ACCOUNT, REGION, "default", "web")


def test_cloudtrail_cluster_and_tag_calls_concern_the_cluster_or_service() -> None:
    assert route(_call("UpdateCluster", {"cluster": "prod"})).targets == (Cluster(ACCOUNT, REGION, "prod"),)
    assert route(_call("TagResource", {"resourceArn": SERVICE_ARN})).targets == (
        Service(ACCOUNT, REGION, "prod", "web"),
    )
    assert route(_call("UntagResource", {"resourceArn": CLUSTER_ARN})).targets == (Cluster(ACCOUNT, REGION, "prod"),)


def test_task_definition_calls_concern_the_drift_walk_of_the_account_and_region() -> None:
    for name in ("RegisterTaskDefinition", "DeregisterTaskDefinition"):
        assert route(_call(name, {"family": "web"})).targets == (TaskDefinitions(ACCOUNT, REGION),)


def test_a_failed_call_and_unknown_events_concern_nothing() -> None:
    assert route(_call("UpdateService", {"service": "web"}, errorCode="AccessDenied")).targets == ()
    assert route(_call("ListTasks", None)).targets == ()
    assert route(_event("ECS Container Instance State Change", {})).targets == ()
    assert route({}).targets == ()
