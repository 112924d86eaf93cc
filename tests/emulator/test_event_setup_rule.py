"""deploy/events/'s rule, installed on the emulator as the template makes it: what reaches the queue.

The rule, its SQS target and the queue policy are made with boto3 from the template itself
(support.event_setup.install), in an account where a trail records management events. A catch-all
rule beside it shows what the emulator emitted, so "did not arrive" is never "was not sent".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from fargate_devenv.ecs_emulator import FAST_STEP_SECONDS, REGION, EcsEmulator
from fargate_ecs_sim.ecs_events import API_CALL, DEPLOYMENT_STATE_CHANGE, SERVICE_ACTION, TASK_STATE_CHANGE
from support.emulator import awsvpc, register, run, running, wait_task
from support.event_queue import EventQueue
from support.event_setup import Place, cfn_pattern, install, tf_pattern

ACCOUNT = "123456789012"  # moto's default account
ANOTHER_SOURCE = "com.example.deployer"


@pytest.fixture(scope="module")
def trailed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EcsEmulator]:
    """An emulator whose account has a trail recording management events."""
    emu = EcsEmulator(
        log=tmp_path_factory.mktemp("ecs-sim-rule") / "ecs-sim.log",
        step_seconds=FAST_STEP_SECONDS,
        cloudtrail_events=True,
    ).start()
    try:
        yield emu
    finally:
        emu.stop()


def _calls(events: list[dict[str, Any]]) -> set[str]:
    return {e["detail"]["eventName"] for e in events if e["detail-type"] == API_CALL}


def _names(events: list[dict[str, Any]], detail_type: str) -> set[str]:
    return {e["detail"]["eventName"] for e in events if e["detail-type"] == detail_type}


def _completed(events: list[dict[str, Any]], deployment: str) -> bool:
    return any(
        e["detail"].get("deploymentId") == deployment and e["detail"]["eventName"] == "SERVICE_DEPLOYMENT_COMPLETED"
        for e in events
    )


def _stopped(events: list[dict[str, Any]], task: str) -> bool:
    return any(
        e["detail-type"] == TASK_STATE_CHANGE
        and e["detail"]["taskArn"] == task
        and e["detail"]["lastStatus"] == "STOPPED"
        for e in events
    )


def test_every_ecs_event_of_a_task_a_rollout_and_out_of_band_calls_reaches_the_queue(trailed: EcsEmulator) -> None:
    trailed.reset()
    ecs, network, sqs, events = (
        trailed.client(),
        trailed.create_network(),
        trailed.client("sqs"),
        trailed.client("events"),
    )
    place = Place(ACCOUNT, REGION)
    assert cfn_pattern(place) == tf_pattern(place)  # the one pattern the template and the .tf hold
    queue = install(events, sqs, place)
    emitted = EventQueue.create(events, sqs, {"source": ["aws.ecs"]})
    cluster_arn = ecs.create_cluster(clusterName="sim")["cluster"]["clusterArn"]
    first = register(ecs, "web")
    # A task run, start to stop.
    task = run(ecs, "sim", first, network)["taskArn"]
    wait_task(ecs, "sim", task, running, "the task RUNNING")
    ecs.stop_task(cluster="sim", task=task, reason="done")
    # A service, and a rollout to a new revision (out of band: UpdateService, as a console would).
    svc = ecs.create_service(
        cluster="sim",
        serviceName="web",
        taskDefinition=first,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=awsvpc(network),
    )["service"]
    second = register(ecs, "web")
    rollout = ecs.update_service(cluster="sim", service="web", taskDefinition=second)["service"]["deployments"][0]["id"]
    queue.until("the rollout COMPLETED", lambda got: _completed(got, rollout))
    # The rest of the calls that change what the operator reflects.
    ecs.tag_resource(resourceArn=svc["serviceArn"], tags=[{"key": "team", "value": "a"}])
    ecs.untag_resource(resourceArn=svc["serviceArn"], tagKeys=["team"])
    ecs.update_cluster(cluster="sim", settings=[{"name": "containerInsights", "value": "enabled"}])
    ecs.put_cluster_capacity_providers(
        cluster="sim", capacityProviders=["FARGATE"], defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE"}]
    )
    ecs.deregister_task_definition(taskDefinition=first)
    ecs.delete_task_definitions(taskDefinitions=[first])
    ecs.delete_service(cluster="sim", service="web", force=True)
    ecs.create_cluster(clusterName="spare")
    ecs.delete_cluster(cluster="spare")

    wanted = {
        "CreateService",
        "UpdateService",
        "DeleteService",
        "RegisterTaskDefinition",
        "DeregisterTaskDefinition",
        "DeleteTaskDefinitions",
        "TagResource",
        "UntagResource",
        "DeleteCluster",
        "UpdateCluster",
        "PutClusterCapacityProviders",
    }
    queue.until(
        "every call of the pattern, and the task's STOPPED", lambda got: wanted <= _calls(got) and _stopped(got, task)
    )
    emitted.until("the same on the catch-all rule", lambda got: wanted <= _calls(got) and _stopped(got, task))
    # Delivery to both queues is one step: once the catch-all is quiet, the queue has had all of it.
    sent = emitted.quiet(1.0)
    received = queue.quiet(1.0)

    # Every event of ECS's own kinds that the emulator emitted arrived, each once ...
    own = [e for e in sent if e["detail-type"] != API_CALL]
    assert {e["detail-type"] for e in own} == {TASK_STATE_CHANGE, SERVICE_ACTION, DEPLOYMENT_STATE_CHANGE}
    assert {"SERVICE_STEADY_STATE"} <= _names(own, SERVICE_ACTION)
    assert {"SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_COMPLETED"} <= _names(own, DEPLOYMENT_STATE_CHANGE)
    assert all(e["detail"]["clusterArn"] == cluster_arn for e in own)
    ids = [e["id"] for e in received]
    assert len(ids) == len(set(ids))
    assert {e["id"] for e in own} <= set(ids)
    # ... and of the API calls exactly those the pattern names: RunTask, StopTask, CreateCluster stay out.
    assert {"RunTask", "StopTask", "CreateCluster"} <= _calls(sent)
    assert {e["id"] for e in sent if e["detail-type"] == API_CALL and e["detail"]["eventName"] in wanted} <= set(ids)
    assert _calls(received) == wanted
    update = next(e for e in received if e["detail-type"] == API_CALL and e["detail"]["eventName"] == "UpdateService")
    assert update["detail"]["requestParameters"] == {"cluster": "sim", "service": "web", "taskDefinition": second}


def test_events_of_another_source_or_outside_the_cluster_prefix_do_not_reach_the_queue(trailed: EcsEmulator) -> None:
    trailed.reset()
    ecs, network, sqs, events = (
        trailed.client(),
        trailed.create_network(),
        trailed.client("sqs"),
        trailed.client("events"),
    )
    queue = install(events, sqs, Place(ACCOUNT, REGION, cluster_name_prefix="team-"))
    emitted = EventQueue.create(events, sqs, {"source": ["aws.ecs", ANOTHER_SOURCE]})
    td = register(ecs, "web")
    ecs.create_cluster(clusterName="sim")
    team_arn = ecs.create_cluster(clusterName="team-a")["cluster"]["clusterArn"]
    outside = run(ecs, "sim", td, network)["taskArn"]
    inside = run(ecs, "team-a", td, network)["taskArn"]
    # Another source sending an event shaped as ECS's, for a cluster under the prefix.
    lookalike = {"clusterArn": team_arn, "taskArn": inside, "lastStatus": "STOPPED"}
    sent = events.put_events(
        Entries=[{"Source": ANOTHER_SOURCE, "DetailType": TASK_STATE_CHANGE, "Detail": json.dumps(lookalike)}]
    )
    assert sent["FailedEntryCount"] == 0
    for arn in (outside, inside):
        wait_task(ecs, "sim" if arn == outside else "team-a", arn, running, "the task RUNNING")

    def running_seen(got: list[dict[str, Any]], task: str) -> bool:
        return any(e["detail"].get("taskArn") == task and e["detail"].get("lastStatus") == "RUNNING" for e in got)

    emitted.until(
        "both tasks RUNNING and the look-alike, on the catch-all rule",
        lambda got: (
            running_seen(got, outside) and running_seen(got, inside) and any(e["source"] == ANOTHER_SOURCE for e in got)
        ),
    )
    queue.until("the team-a task RUNNING", lambda got: running_seen(got, inside))
    received = queue.quiet(1.0)
    tasks = [e for e in received if e["detail-type"] == TASK_STATE_CHANGE]
    assert {e["source"] for e in received} == {"aws.ecs"}
    assert {e["detail"]["taskArn"] for e in tasks} == {inside}
    assert {e["detail"]["clusterArn"] for e in tasks} == {team_arn}
    # API calls name no cluster ARN to filter on: they arrive whatever the prefix (RegisterTaskDefinition here).
    assert _calls(received) == {"RegisterTaskDefinition"}
