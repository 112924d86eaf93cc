"""Events -> the objects whose status records what they name (handlers/event_status.py Index), from the watch cache."""

from __future__ import annotations

from typing import Any

from fargate_operator.events.queue import QueueSource
from fargate_operator.events.route import route
from fargate_operator.handlers.event_status import Index, Named
from fargate_operator.models.kinds import CLUSTER, SERVICE, TASK
from fargate_operator.store.watch_cache import WatchCache

ACCOUNT, REGION = "123456789012", "us-east-1"
CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/prod"
TASK_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/prod/abc"
SOURCE = QueueSource("own", REGION, "https://sqs/own")


def _obj(kind: str, name: str, spec: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"namespace": "team", "name": name}, "spec": spec, "status": status}


class _Rt:
    def __init__(self) -> None:
        self.watch_cache = WatchCache()
        self.service_tasks: dict[str, dict[str, dict[str, Any]]] = {}
        self.watch_cache.upsert(_obj(CLUSTER, "c", {}, {"clusterArn": CLUSTER_ARN}))
        self.watch_cache.upsert(
            _obj(SERVICE, "web", {"serviceName": "web"}, {"clusterArn": CLUSTER_ARN, "serviceArn": "x/prod/web"})
        )
        self.watch_cache.upsert(_obj(TASK, "job", {}, {"clusterArn": CLUSTER_ARN, "tasks": [{"taskArn": TASK_ARN}]}))


def _index() -> Index:
    return Index(_Rt())  # type: ignore[arg-type]  # the index reads the watch cache only


def _event(detail_type: str, detail: dict[str, Any], resources: list[str]) -> dict[str, Any]:
    return {
        "id": "1",
        "detail-type": detail_type,
        "account": ACCOUNT,
        "region": REGION,
        "resources": resources,
        "detail": detail,
    }


def test_a_task_change_names_the_fargate_task_and_its_cluster() -> None:
    named = Named()
    event = route(_event("ECS Task State Change", {"taskArn": TASK_ARN, "clusterArn": CLUSTER_ARN}, [TASK_ARN]))
    assert _index().add(named, SOURCE, event) == (True, True)
    assert named.tasks == {("team", "job")} and named.clusters == {("team", "c")} and not named.services


def test_a_service_task_change_names_the_fargate_service() -> None:
    named = Named()
    other = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/prod/other"
    detail = {"taskArn": other, "clusterArn": CLUSTER_ARN, "group": "service:web"}
    found, primary = _index().add(named, SOURCE, route(_event("ECS Task State Change", detail, [other])))
    assert named.services == {("team", "web")} and not named.tasks
    assert found and primary  # a service's task: the event is about the service


def test_an_event_of_another_account_names_nothing() -> None:
    named = Named()
    elsewhere = CLUSTER_ARN.replace(ACCOUNT, "999999999999")
    service = f"arn:aws:ecs:{REGION}:999999999999:service/prod/web"
    event = route(_event("ECS Service Action", {"eventName": "X", "clusterArn": elsewhere}, [service]))
    assert _index().add(named, SOURCE, event) == (False, False)
    assert named == Named()


def test_a_task_definition_call_names_the_walk_of_the_queues_place() -> None:
    named = Named()
    detail = {"eventName": "DeregisterTaskDefinition", "requestParameters": {"taskDefinition": "web:1"}}
    _index().add(named, SOURCE, route(_event("AWS API Call via CloudTrail", detail, [])))
    assert named.walks == {("own", REGION)}  # the operator's own account id is never asked of STS


def test_a_service_task_change_goes_straight_into_the_service_task_index() -> None:
    import asyncio

    from fargate_operator.handlers.event_status import EventStatus, _Waiting

    rt = _Rt()
    rt.watch_cache.upsert(
        _obj(SERVICE, "web", {"serviceName": "web"}, {"clusterArn": CLUSTER_ARN, "serviceArn": "svc-arn"})
    )
    rt.service_tasks = {"svc-arn": {"t1": {"taskArn": "t1", "lastStatus": "RUNNING", "tags": [{"key": "a"}]}}}
    detail = {
        "taskArn": "t1",
        "clusterArn": CLUSTER_ARN,
        "group": "service:web",
        "lastStatus": "STOPPED",
        "version": 3,
        "stoppedAt": "2026-12-07T05:00:00.000Z",
    }
    event = route(_event("ECS Task State Change", detail, ["t1"]))

    async def apply() -> None:
        status = EventStatus(rt)  # type: ignore[arg-type]
        status._index_service_tasks(Index(rt), [_Waiting(0.0, SOURCE, event, _event("x", detail, []))])  # type: ignore[arg-type]

    asyncio.run(apply())
    task = rt.service_tasks["svc-arn"]["t1"]
    assert task["lastStatus"] == "STOPPED" and isinstance(task["stoppedAt"], float)
    assert task["tags"] == [{"key": "a"}], "what the event leaves out (tags) is kept from the last describe"


def test_an_older_task_change_does_not_move_the_service_task_index_back() -> None:
    import asyncio

    from fargate_operator.handlers.event_status import EventStatus, _Waiting

    rt = _Rt()
    rt.watch_cache.upsert(
        _obj(SERVICE, "web", {"serviceName": "web"}, {"clusterArn": CLUSTER_ARN, "serviceArn": "svc-arn"})
    )
    rt.service_tasks = {"svc-arn": {"t1": {"taskArn": "t1", "lastStatus": "STOPPED", "version": 5}}}
    detail = {"taskArn": "t1", "clusterArn": CLUSTER_ARN, "group": "service:web", "lastStatus": "RUNNING", "version": 3}
    event = route(_event("ECS Task State Change", detail, ["t1"]))

    async def apply() -> None:
        status = EventStatus(rt)  # type: ignore[arg-type]
        status._index_service_tasks(Index(rt), [_Waiting(0.0, SOURCE, event, _event("x", detail, []))])  # type: ignore[arg-type]

    asyncio.run(apply())
    assert rt.service_tasks["svc-arn"]["t1"]["lastStatus"] == "STOPPED"
