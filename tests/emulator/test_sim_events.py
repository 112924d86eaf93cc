"""ECS's events from the emulator, through an EventBridge rule to an SQS queue, read with boto3 over HTTP."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from fargate_devenv.ecs_emulator import FAST_STEP_SECONDS, REGION, EcsEmulator, Network
from support.emulator import LIFECYCLE, UNPULLABLE, awsvpc, container, describe, register, run, running, wait_task
from support.event_queue import EventQueue

ACCOUNT = "123456789012"  # moto's default account
ENVELOPE = ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]
EVENT_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")  # EventBridge's `time`
DETAIL_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")  # ECS's ISO timestamps in `detail`
TASK_EVENTS = {"source": ["aws.ecs"], "detail-type": ["ECS Task State Change"]}
SERVICE_EVENTS = {"source": ["aws.ecs"], "detail-type": ["ECS Service Action"]}
DEPLOYMENT_EVENTS = {"source": ["aws.ecs"], "detail-type": ["ECS Deployment State Change"]}
API_CALLS = {"source": ["aws.ecs"], "detail-type": ["AWS API Call via CloudTrail"]}


def _queue(emulator: EcsEmulator, pattern: dict[str, Any]) -> EventQueue:
    return EventQueue.create(emulator.client("events"), emulator.client("sqs"), pattern)


def _create_service(ecs: Any, cluster: str, td: str, network: Network, **extra: Any) -> dict[str, Any]:
    svc: dict[str, Any] = ecs.create_service(
        cluster=cluster,
        serviceName="web",
        taskDefinition=td,
        desiredCount=2,
        launchType="FARGATE",
        networkConfiguration=awsvpc(network),
        **extra,
    )["service"]
    return svc


def _names(events: list[dict[str, Any]], deployment: str | None = None) -> list[str]:
    return [
        e["detail"]["eventName"] for e in events if deployment is None or e["detail"].get("deploymentId") == deployment
    ]


def _assert_envelope(event: dict[str, Any], detail_type: str, resources: list[str]) -> None:
    assert list(event) == ENVELOPE
    assert event["version"] == "0" and event["source"] == "aws.ecs" and event["detail-type"] == detail_type
    assert event["account"] == ACCOUNT and event["region"] == REGION and event["resources"] == resources
    assert EVENT_TIME.match(event["time"]) and re.match(r"^[0-9a-f-]{36}$", event["id"])


def test_a_task_state_changes_arrive_in_order_with_the_documented_fields(
    emulator: EcsEmulator, ecs: Any, cluster: str, network: Network
) -> None:
    queue = _queue(emulator, TASK_EVENTS)
    arn = run(ecs, cluster, register(ecs, "web"), network)["taskArn"]
    wait_task(ecs, cluster, arn, running, "the task RUNNING")
    ecs.stop_task(cluster=cluster, task=arn, reason="enough")
    received = queue.until(
        "the task's STOPPED event", lambda got: any(e["detail"]["lastStatus"] == "STOPPED" for e in got)
    )
    events = sorted(received, key=lambda e: e["detail"]["version"])  # SQS (standard) does not keep order
    versions = [e["detail"]["version"] for e in events]
    assert versions == sorted(set(versions)), "one event per change, each with a new version"
    statuses = [e["detail"]["lastStatus"] for e in events]
    assert list(dict.fromkeys(statuses)) == LIFECYCLE
    assert [e["detail"]["updatedAt"] for e in events] == sorted(e["detail"]["updatedAt"] for e in events)
    # StopTask is a change of its own: desiredStatus STOPPED while the task is still RUNNING.
    stop = next(e["detail"] for e in events if e["detail"]["desiredStatus"] == "STOPPED")
    assert stop["lastStatus"] == "RUNNING" and stop["stopCode"] == "UserInitiated"
    for event in events:
        _assert_envelope(event, "ECS Task State Change", [arn])
        detail = event["detail"]
        assert detail["taskArn"] == arn and detail["clusterArn"].endswith(f":cluster/{cluster}")
        assert DETAIL_TIME.match(detail["createdAt"]) and DETAIL_TIME.match(detail["updatedAt"])
        assert detail["containers"][0]["name"] == "app" and "tags" not in detail
    last, described = events[-1]["detail"], describe(ecs, cluster, arn)
    assert last["version"] == described["version"]
    for member in ("lastStatus", "desiredStatus", "stopCode", "stoppedReason", "taskDefinitionArn", "group", "cpu"):
        assert last[member] == described[member], member
    assert last["stoppedReason"] == "enough" and last["containers"][0]["exitCode"] == 143
    assert DETAIL_TIME.match(last["stoppedAt"]) and last["stoppedAt"] == last["updatedAt"]


def test_a_service_reaching_steady_state_emits_service_steady_state(
    emulator: EcsEmulator, ecs: Any, cluster: str, network: Network
) -> None:
    queue = _queue(emulator, SERVICE_EVENTS)
    svc = _create_service(ecs, cluster, register(ecs, "web"), network)
    received = queue.until("SERVICE_STEADY_STATE", lambda got: "SERVICE_STEADY_STATE" in _names(got))
    steady = next(e for e in received if e["detail"]["eventName"] == "SERVICE_STEADY_STATE")
    _assert_envelope(steady, "ECS Service Action", [svc["serviceArn"]])
    detail = steady["detail"]
    assert detail["eventType"] == "INFO" and detail["clusterArn"] == svc["clusterArn"]
    assert DETAIL_TIME.match(detail["createdAt"]) and "version" not in detail
    assert ecs.describe_services(cluster=cluster, services=["web"])["services"][0]["runningCount"] == 2


def test_a_deployment_emits_in_progress_then_completed(
    emulator: EcsEmulator, ecs: Any, cluster: str, network: Network
) -> None:
    queue = _queue(emulator, DEPLOYMENT_EVENTS)
    svc = _create_service(ecs, cluster, register(ecs, "web"), network)
    first = svc["deployments"][0]["id"]
    queue.until("the first deployment COMPLETED", lambda got: "SERVICE_DEPLOYMENT_COMPLETED" in _names(got, first))
    updated = ecs.update_service(cluster=cluster, service="web", taskDefinition=register(ecs, "web"))["service"]
    second = updated["deployments"][0]["id"]
    assert second != first
    received = queue.until(
        "the second deployment COMPLETED", lambda got: "SERVICE_DEPLOYMENT_COMPLETED" in _names(got, second)
    )
    for deployment in (first, second):
        assert _names(received, deployment) == ["SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_COMPLETED"]
    events = [e for e in received if e["detail"]["deploymentId"] == second]
    for event in events:
        _assert_envelope(event, "ECS Deployment State Change", [svc["serviceArn"]])
        assert event["detail"]["eventType"] == "INFO" and event["detail"]["clusterArn"] == svc["clusterArn"]
        assert EVENT_TIME.match(event["detail"]["updatedAt"])  # to the second, as the guide's examples
    assert [e["detail"]["reason"] for e in events] == [
        f"ECS deployment {second} in progress.",
        f"ECS deployment {second} completed.",
    ]


def test_a_failed_deployment_emits_failed_then_the_rollback_in_progress(
    emulator: EcsEmulator, ecs: Any, cluster: str, network: Network
) -> None:
    queue = _queue(emulator, DEPLOYMENT_EVENTS)
    breaker = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}
    svc = _create_service(ecs, cluster, register(ecs, "web"), network, deploymentConfiguration=breaker)
    good = svc["deployments"][0]["id"]
    queue.until("the first deployment COMPLETED", lambda got: "SERVICE_DEPLOYMENT_COMPLETED" in _names(got, good))
    bad_td = register(ecs, "web", container(image=UNPULLABLE))
    bad = ecs.update_service(cluster=cluster, service="web", taskDefinition=bad_td)["service"]["deployments"][0]["id"]
    received = queue.until("the deployment FAILED", lambda got: "SERVICE_DEPLOYMENT_FAILED" in _names(got, bad))
    failed = next(e["detail"] for e in received if e["detail"]["eventName"] == "SERVICE_DEPLOYMENT_FAILED")
    assert failed["eventType"] == "ERROR" and failed["deploymentId"] == bad
    assert failed["reason"] == "ECS deployment circuit breaker: tasks failed to start."
    received = queue.until(
        "the rollback IN_PROGRESS",
        lambda got: any(f"rolling back to deploymentId {good}" in e["detail"]["reason"] for e in got),
    )
    rollback = next(e["detail"] for e in received if "rolling back" in e["detail"]["reason"])
    assert rollback["eventName"] == "SERVICE_DEPLOYMENT_IN_PROGRESS" and rollback["deploymentId"] not in (good, bad)
    assert rollback["reason"] == f"ECS deployment circuit breaker: rolling back to deploymentId {good}."


def test_events_the_rule_does_not_match_are_not_delivered(
    emulator: EcsEmulator, ecs: Any, cluster: str, network: Network
) -> None:
    stops = _queue(emulator, {**TASK_EVENTS, "detail": {"lastStatus": ["STOPPED"]}})
    services = _queue(emulator, SERVICE_EVENTS)
    everything = _queue(emulator, {"source": ["aws.ecs"]})
    td = register(ecs, "web")
    arn = run(ecs, cluster, td, network)["taskArn"]
    wait_task(ecs, cluster, arn, running, "the task RUNNING")
    ecs.stop_task(cluster=cluster, task=arn)
    stops.until("the STOPPED event", lambda got: len(got) >= 1)
    everything.until(
        "the task's STOPPED event, on the catch-all rule too",
        lambda got: any(e["detail"].get("lastStatus") == "STOPPED" for e in got),
    )
    assert {e["detail-type"] for e in everything.received} == {"ECS Task State Change"}
    assert len(everything.received) > 1  # every state change went to the catch-all rule
    assert [e["detail"]["lastStatus"] for e in stops.quiet(1.0)] == ["STOPPED"]
    assert services.quiet(0.5) == []  # a task outside any service: no service action


def test_events_go_to_the_bus_of_the_account_that_owns_the_task(emulator: EcsEmulator, ecs: Any) -> None:
    role = "arn:aws:iam::111111111111:role/team"
    own = EventQueue.create(emulator.client_as(role, "events"), emulator.client_as(role, "sqs"), TASK_EVENTS)
    default = _queue(emulator, TASK_EVENTS)
    team = emulator.client_as(role)
    network = emulator.create_network(ec2=emulator.client_as(role, "ec2"))
    team.create_cluster(clusterName="team")
    arn = run(team, "team", register(team, "web"), network)["taskArn"]
    received = own.until(
        "the team's task RUNNING", lambda got: any(e["detail"]["lastStatus"] == "RUNNING" for e in got)
    )
    assert {e["account"] for e in received} == {"111111111111"} and {e["resources"][0] for e in received} == {arn}
    assert default.quiet(0.5) == []  # the default account's bus saw none of them


def test_a_long_poll_does_not_stop_the_emulator(
    emulator: EcsEmulator, ecs: Any, cluster: str, network: Network
) -> None:
    queue = _queue(emulator, TASK_EVENTS)
    polled: list[list[dict[str, Any]]] = []
    poller = threading.Thread(target=lambda: polled.append(queue.poll(wait_seconds=20)))
    poller.start()
    try:
        # If the poll held the emulator, RunTask would wait for it, and the poll would end empty.
        run(ecs, cluster, register(ecs, "web"), network)
    finally:
        poller.join(timeout=30)
    assert polled and polled[0], "the long poll ended without the events emitted while it waited"


def test_api_calls_are_not_events_without_a_trail(
    emulator: EcsEmulator, ecs: Any, cluster: str, network: Network
) -> None:
    calls = _queue(emulator, API_CALLS)
    tasks = _queue(emulator, TASK_EVENTS)
    _create_service(ecs, cluster, register(ecs, "web"), network)
    ecs.update_service(cluster=cluster, service="web", desiredCount=1)
    tasks.until("the service's tasks' events (events are flowing)", lambda got: len(got) > 0)
    assert calls.quiet(1.0) == []


@pytest.fixture(scope="module")
def trailed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EcsEmulator]:
    """An emulator whose account has a trail recording management events."""
    emu = EcsEmulator(
        log=tmp_path_factory.mktemp("ecs-sim-trail") / "ecs-sim.log",
        step_seconds=FAST_STEP_SECONDS,
        cloudtrail_events=True,
    ).start()
    try:
        yield emu
    finally:
        emu.stop()


def test_api_calls_that_change_ecs_are_cloudtrail_events_with_a_trail(trailed: EcsEmulator) -> None:
    trailed.reset()
    ecs, network = trailed.client(), trailed.create_network()
    calls = EventQueue.create(trailed.client("events"), trailed.client("sqs"), API_CALLS)
    ecs.create_cluster(clusterName="sim")
    td = register(ecs, "web")
    _create_service(ecs, "sim", td, network)
    ecs.describe_services(cluster="sim", services=["web"])  # read-only: not an event
    ecs.update_service(cluster="sim", service="web", desiredCount=3)
    ecs.deregister_task_definition(taskDefinition=td)
    received = calls.until("DeregisterTaskDefinition", lambda got: "DeregisterTaskDefinition" in _api_names(got))
    assert sorted(_api_names(received)) == sorted(  # DescribeServices, read-only, is not among them
        ["CreateCluster", "RegisterTaskDefinition", "CreateService", "UpdateService", "DeregisterTaskDefinition"]
    )
    update = next(e for e in received if e["detail"]["eventName"] == "UpdateService")
    _assert_envelope(update, "AWS API Call via CloudTrail", [])
    detail = update["detail"]
    assert detail["eventSource"] == "ecs.amazonaws.com" and detail["awsRegion"] == REGION
    assert detail["requestParameters"] == {"cluster": "sim", "service": "web", "desiredCount": 3}
    assert detail["responseElements"]["service"]["desiredCount"] == 3
    assert detail["eventType"] == "AwsApiCall" and detail["readOnly"] is False and detail["managementEvent"] is True
    assert detail["recipientAccountId"] == ACCOUNT and detail["userIdentity"]["accountId"] == ACCOUNT
    assert detail["userIdentity"]["accessKeyId"] == "testing" and "Boto3" in detail["userAgent"]
    assert EVENT_TIME.match(detail["eventTime"])
    deregister = next(e["detail"] for e in received if e["detail"]["eventName"] == "DeregisterTaskDefinition")
    assert deregister["requestParameters"] == {"taskDefinition": td}


def test_a_cloudtrail_event_names_the_assumed_role_session(trailed: EcsEmulator) -> None:
    trailed.reset()
    calls = EventQueue.create(trailed.client("events"), trailed.client("sqs"), API_CALLS)
    ecs = trailed.client_as(f"arn:aws:iam::{ACCOUNT}:role/console")
    ecs.create_cluster(clusterName="sim")
    received = calls.until("CreateCluster", lambda got: "CreateCluster" in _api_names(got))
    identity = received[0]["detail"]["userIdentity"]
    assert identity["type"] == "AssumedRole"
    assert identity["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/console/test"
    assert identity["sessionContext"]["sessionIssuer"]["arn"] == f"arn:aws:iam::{ACCOUNT}:role/console"


def _api_names(events: list[dict[str, Any]]) -> list[str]:
    return [e["detail"]["eventName"] for e in events]
