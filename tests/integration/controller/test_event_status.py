"""Status from ECS's events (handlers/event_status.py): an emulator with a trail, a rule to a real SQS queue,
the operator reading it, and polling made slow -- what shows in status within seconds came through events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fargate_devenv.ecs_emulator import FAST_STEP_SECONDS, REGION, EcsEmulator, Network
from fargate_devenv.world import World
from support.event_queue import EventQueue
from support.operator_process import (
    Kube,
    OperatorProcess,
    awsvpc,
    condition,
    manifest,
    service_manifest,
    task_definition_spec,
    task_manifest,
    wait_for,
)

# Polling and the resync far slower than any wait below: only events can explain what shows in time.
SLOW_POLL = 600.0
WITHIN = 20.0  # seconds: events, a 0.5 s debounce and a describe, with room for a loaded machine
ALL_ECS_EVENTS = {"source": ["aws.ecs"]}
RECEIVED = "fargate_operator_events_received_total"
MODE = "fargate_operator_events_mode"


@pytest.fixture(scope="module")
def trailed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EcsEmulator]:
    """An emulator of its own whose account records management events (CloudTrail) on EventBridge."""
    emu = EcsEmulator(
        log=tmp_path_factory.mktemp("ecs-sim-events") / "ecs-sim.log",
        step_seconds=FAST_STEP_SECONDS,
        cloudtrail_events=True,
    ).start()
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def queue(trailed: EcsEmulator) -> EventQueue:
    """The admin's setup: a rule on the default bus for every ECS event, targeting an SQS queue."""
    return EventQueue.create(trailed.client("events"), trailed.client("sqs"), ALL_ECS_EVENTS)


@pytest.fixture(scope="module")
def witness(trailed: EcsEmulator) -> EventQueue:
    """A second rule and queue with the same events: what the operator's queue was sent, for the test to see."""
    return EventQueue.create(trailed.client("events"), trailed.client("sqs"), ALL_ECS_EVENTS)


@pytest.fixture(scope="module")
def net(trailed: EcsEmulator) -> Network:
    return trailed.create_network()


@pytest.fixture(scope="module")
def team(world: World) -> str:
    """A namespace a FargateAccount maps to another account, whose queue it names (spec.eventQueues)."""
    ns = f"op-ev-{uuid.uuid4().hex[:8]}"
    world.control_plane.kubectl("create", "namespace", ns)
    return ns


@pytest.fixture(scope="module")
def operator(
    world: World,
    trailed: EcsEmulator,
    queue: EventQueue,
    namespace: str,
    team: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess]:
    env = {
        "FARGATE_OPERATOR_EVENTS_QUEUE_URL": queue.url,
        "FARGATE_OPERATOR_RESYNC_INTERVAL": str(SLOW_POLL),
        "AWS_ENDPOINT_URL_SQS": trailed.endpoint,
        "AWS_ENDPOINT_URL_STS": trailed.endpoint,  # the FargateAccount's sts:AssumeRole
    }
    log: Path = tmp_path_factory.mktemp("operator") / "operator.log"
    op = OperatorProcess(
        world.control_plane,
        trailed.endpoint,
        namespace,
        log,
        status_interval=SLOW_POLL,
        env=env,
        extra_args=("--namespace", team),
    ).start()
    op.wait_ready()
    wait_for("Events mode", lambda: op.metric(MODE, account="own", region=REGION) == 1, timeout=30)
    yield op
    op.stop()


@pytest.fixture(scope="module")
def objects(operator: OperatorProcess, kube: Kube) -> Iterator[None]:
    """A cluster and a task definition, made and removed by the operator (its handlers need no polling)."""
    kube.apply(manifest("FargateCluster", "c", {"clusterName": f"events-{kube.namespace}"}))
    kube.apply(manifest("FargateTaskDefinition", "td", task_definition_spec(f"events-{kube.namespace}")))
    wait_for("cluster", lambda: kube.status("fargatecluster", "c").get("clusterArn"))
    wait_for("task definition", lambda: kube.status("fargatetaskdefinition", "td").get("taskDefinitionArn"))
    yield
    for kind in ("fargatetask", "fargateservice"):
        kube.cp.kubectl("delete", kind, "--all", "-n", kube.namespace, "--wait=true", "--timeout=60s", check=False)
    kube.delete("fargatetaskdefinition", "td", wait=True)
    kube.delete("fargatecluster", "c", wait=True)


def _phase(kube: Kube, name: str, phase: str) -> Any:
    return lambda: (s := kube.status("fargatetask", name)).get("phase") == phase and s


def test_a_task_stopped_out_of_band_shows_in_status_through_events(
    objects: None, kube: Kube, trailed: EcsEmulator, net: Network
) -> None:
    name = f"t-{uuid.uuid4().hex[:6]}"
    kube.apply(task_manifest(name, awsvpc(net.subnet_id, net.security_group_id)))
    running = wait_for("Running, through events", _phase(kube, name, "Running"), timeout=WITHIN + 30)
    assert running["freshness"] == "Events"
    arn = running["tasks"][0]["taskArn"]
    trailed.client().stop_task(cluster=running["clusterArn"], task=arn, reason="out of band")
    stopped = wait_for("Stopped, through events", _phase(kube, name, "Stopped"), timeout=WITHIN)
    assert stopped["stoppedReason"] == "out of band" and stopped["freshness"] == "Events"


def _ready(kube: Kube, name: str) -> Any:
    def probe() -> dict[str, Any] | None:
        s = kube.status("fargateservice", name)
        ok = condition(s, "Ready").get("status") == "True" and s.get("runningCount") == 1
        return s if ok and condition(s, "Drifted").get("reason") else None

    return probe


def test_a_service_reaching_steady_state_shows_in_status_through_events(
    objects: None, kube: Kube, net: Network
) -> None:
    name = f"s-{uuid.uuid4().hex[:6]}"
    kube.apply(service_manifest(name, awsvpc(net.subnet_id, net.security_group_id)))
    ready = wait_for("Ready with its task running, through events", _ready(kube, name), timeout=WITHIN + 30)
    assert ready["freshness"] == "Events"
    cluster = kube.status("fargatecluster", "c")
    assert cluster["freshness"] == "Events"
    assert wait_for(
        "the cluster's count, through events",
        lambda: kube.status("fargatecluster", "c").get("activeServicesCount"),
        timeout=WITHIN,
    )


def test_an_out_of_band_update_service_is_reported_as_drift_through_cloudtrail_events(
    objects: None, kube: Kube, trailed: EcsEmulator, net: Network
) -> None:
    name = f"d-{uuid.uuid4().hex[:6]}"
    body = service_manifest(name, awsvpc(net.subnet_id, net.security_group_id))
    body["spec"]["driftPolicy"] = "Report"
    kube.apply(body)
    ready = wait_for("Ready", _ready(kube, name), timeout=WITHIN + 30)
    trailed.client().update_service(cluster=ready["clusterArn"], service=name, desiredCount=3)
    reported = wait_for(
        "DriftReported, through the CloudTrail event",
        lambda: (
            (s := kube.status("fargateservice", name))
            and condition(s, "Drifted").get("reason") == "DriftReported"
            and s
        ),
        timeout=WITHIN,
    )
    assert reported["drift"]["fields"] == [{"field": "desiredCount", "desired": "1", "actual": "3"}]


def test_an_out_of_band_deregistration_is_reported_through_cloudtrail_events(
    objects: None, kube: Kube, trailed: EcsEmulator
) -> None:
    name = f"td-{uuid.uuid4().hex[:6]}"
    spec = {**task_definition_spec(f"events-{name}"), "driftPolicy": "Report"}
    kube.apply(manifest("FargateTaskDefinition", name, spec))
    arn = wait_for("registered", lambda: kube.status("fargatetaskdefinition", name).get("taskDefinitionArn"))
    wait_for("judged", lambda: condition(kube.status("fargatetaskdefinition", name), "Drifted").get("reason"))
    trailed.client().deregister_task_definition(taskDefinition=arn)
    reported = wait_for(
        "DriftReported, through the CloudTrail DeregisterTaskDefinition event",
        lambda: condition(kube.status("fargatetaskdefinition", name), "Drifted").get("reason") == "DriftReported",
        timeout=WITHIN,
    )
    assert reported
    kube.delete("fargatetaskdefinition", name, wait=True)


def _resource_version(kube: Kube, name: str) -> str:
    return str((kube.get("fargatetask", name) or {})["metadata"]["resourceVersion"])


def test_an_event_delivered_twice_is_written_once(
    objects: None,
    operator: OperatorProcess,
    kube: Kube,
    trailed: EcsEmulator,
    net: Network,
    witness: EventQueue,
    queue: EventQueue,
) -> None:
    name = f"t-{uuid.uuid4().hex[:6]}"
    kube.apply(task_manifest(name, awsvpc(net.subnet_id, net.security_group_id)))
    running = wait_for("Running", _phase(kube, name, "Running"), timeout=WITHIN + 30)
    arn = running["tasks"][0]["taskArn"]
    trailed.client().stop_task(cluster=running["clusterArn"], task=arn, reason="once")
    wait_for("Stopped", _phase(kube, name, "Stopped"), timeout=WITHIN)

    def stopped_events() -> list[dict[str, Any]]:
        witness.poll()
        return [
            e for e in witness.received if e["detail"].get("taskArn") == arn and e["detail"]["lastStatus"] == "STOPPED"
        ]

    last = wait_for("the task's last event, on the witness queue", stopped_events, timeout=WITHIN)[-1]
    version = _resource_version(kube, name)
    duplicates = operator.metric(RECEIVED, outcome="duplicate")
    queue.sqs.send_message(QueueUrl=queue.url, MessageBody=json.dumps(last))
    wait_for(
        "the duplicate judged", lambda: operator.metric(RECEIVED, outcome="duplicate") > duplicates, timeout=WITHIN
    )
    assert _resource_version(kube, name) == version, "a duplicate event wrote status again"


TEAM_ROLE = "arn:aws:iam::111111111111:role/fargate-operator"


@pytest.fixture
def team_account(world: World, trailed: EcsEmulator, team: str) -> Iterator[tuple[str, EventQueue]]:
    """A FargateAccount (an assumed role in account 111111111111) naming its own queue of ECS events."""
    own = EventQueue.create(trailed.client_as(TEAM_ROLE, "events"), trailed.client_as(TEAM_ROLE, "sqs"), ALL_ECS_EVENTS)
    name = f"events-{team}"
    spec = {
        "roleArn": TEAM_ROLE,
        "region": REGION,
        "namespaces": {"names": [team]},
        "eventQueues": [{"region": REGION, "queueUrl": own.url}],
    }
    world.control_plane.kubectl("apply", "-f", "-", input=json.dumps(manifest("FargateAccount", name, spec)))
    yield name, own
    world.control_plane.kubectl("delete", "fargateaccount", name, "--ignore-not-found")


def _account_queue(world: World, name: str) -> dict[str, Any]:
    out = world.control_plane.kubectl("get", "fargateaccount", name, "-o", "json").stdout
    queues: list[dict[str, Any]] = json.loads(out).get("status", {}).get("eventQueues") or []
    return queues[0] if queues else {}


def test_a_fargate_accounts_queue_drives_its_objects_and_its_loss_is_a_warning_event(
    operator: OperatorProcess, world: World, team: str, team_account: tuple[str, EventQueue]
) -> None:
    name, own = team_account
    kube = Kube(world.control_plane, team)
    wait_for("the queue Receiving", lambda: _account_queue(world, name).get("state") == "Receiving", timeout=WITHIN)
    assert operator.metric(MODE, account="111111111111", region=REGION) == 1
    kube.apply(manifest("FargateCluster", "tc", {"clusterName": f"events-{team}"}))
    # Its handler writes the ARN; the CloudTrail CreateCluster event (waited for until then) brings the rest.
    wait_for("Events", lambda: kube.status("fargatecluster", "tc").get("freshness") == "Events", timeout=WITHIN)
    assert kube.status("fargatecluster", "tc")["accountId"] == "111111111111"
    own.sqs.delete_queue(QueueUrl=own.url)
    wait_for("Unreachable", lambda: _account_queue(world, name).get("state") == "Unreachable", timeout=WITHIN + 20)
    wait_for("Polling", lambda: kube.status("fargatecluster", "tc").get("freshness") == "Polling", timeout=WITHIN)

    def warned() -> list[dict[str, Any]]:
        out = world.control_plane.kubectl(
            "get", "events", "-A", "--field-selector", f"involvedObject.name={name}", "-o", "json"
        ).stdout
        return [
            e
            for e in json.loads(out)["items"]
            if e.get("reason") == "EventQueueUnreachable" and e.get("type") == "Warning"
        ]

    assert wait_for("a Warning Event on the FargateAccount", warned, timeout=WITHIN)
    kube.delete("fargatecluster", "tc", wait=True)


def test_a_deleted_queue_puts_status_back_to_polling_until_it_answers_again(
    objects: None, operator: OperatorProcess, kube: Kube, queue: EventQueue
) -> None:
    assert kube.status("fargatecluster", "c")["freshness"] == "Events"
    queue.sqs.delete_queue(QueueUrl=queue.url)
    # The long poll in flight ends first (up to 20 s), then the next receive finds no queue.
    wait_for("polling again", lambda: operator.metric(MODE, account="own", region=REGION) == 0, timeout=WITHIN + 20)
    wait_for(
        "the cluster's status says so",
        lambda: kube.status("fargatecluster", "c").get("freshness") == "Polling",
        timeout=WITHIN,
    )
    assert "does not answer" in operator.log_text()
    queue.sqs.create_queue(QueueName=queue.url.rsplit("/", 1)[-1])  # the same URL answers again
    wait_for("Events again", lambda: operator.metric(MODE, account="own", region=REGION) == 1, timeout=WITHIN + 60)
    wait_for(
        "the status says so", lambda: kube.status("fargatecluster", "c").get("freshness") == "Events", timeout=WITHIN
    )


def test_an_event_queue_in_a_region_the_account_may_not_use_is_refused(world: World) -> None:
    name = f"events-cel-{uuid.uuid4().hex[:6]}"
    spec: dict[str, Any] = {
        "region": REGION,
        "allowedRegions": ["eu-west-1"],
        "namespaces": {"names": [name]},
        "eventQueues": [{"region": "ap-south-1", "queueUrl": "https://sqs.ap-south-1.amazonaws.com/1/q"}],
    }
    apply = ("apply", "--dry-run=server", "-f", "-")
    refused = world.control_plane.kubectl(*apply, input=json.dumps(manifest("FargateAccount", name, spec)), check=False)
    assert refused.returncode != 0 and "spec.eventQueues: each region" in refused.stderr, refused.stderr
    spec["eventQueues"] = [
        {"region": region, "queueUrl": f"https://sqs.{region}.amazonaws.com/1/q"} for region in (REGION, "eu-west-1")
    ]
    accepted = world.control_plane.kubectl(
        *apply, input=json.dumps(manifest("FargateAccount", name, spec)), check=False
    )
    assert accepted.returncode == 0, accepted.stderr
