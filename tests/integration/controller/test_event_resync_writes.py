"""The resync in Events mode (handlers/refresh.py): a steady fleet, described again in full every resync
interval, gets no status write -- the same as a polling cycle over the same steady state."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fargate_devenv.ecs_emulator import FAST_STEP_SECONDS, REGION, EcsEmulator, Network
from fargate_devenv.world import World
from support.drift_checks import status_patches
from support.event_queue import EventQueue
from support.operator_process import (
    Kube,
    OperatorProcess,
    awsvpc,
    condition,
    manifest,
    service_manifest,
    task_definition_spec,
    wait_for,
)

RESYNC = 8.0  # seconds: two resyncs fit in a short wait
STATUS_INTERVAL = 2.0
SERVICES = 5
DESIRED = 2  # tasks per service, as bench/event_status.py runs them
MODE = "fargate_operator_events_mode"
CYCLES = "fargate_operator_status_cycles_total"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EcsEmulator]:
    emu = EcsEmulator(
        log=tmp_path_factory.mktemp("ecs-sim-resync") / "ecs-sim.log",
        step_seconds=FAST_STEP_SECONDS,
        cloudtrail_events=True,
    ).start()
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def operator(
    world: World, emulator: EcsEmulator, namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    queue = EventQueue.create(emulator.client("events"), emulator.client("sqs"), {"source": ["aws.ecs"]})
    env = {
        "FARGATE_OPERATOR_EVENTS_QUEUE_URL": queue.url,
        "FARGATE_OPERATOR_RESYNC_INTERVAL": str(RESYNC),
        "AWS_ENDPOINT_URL_SQS": emulator.endpoint,
    }
    log: Path = tmp_path_factory.mktemp("operator-resync") / "operator.log"
    op = OperatorProcess(
        world.control_plane, emulator.endpoint, namespace, log, status_interval=STATUS_INTERVAL, env=env
    ).start()
    op.wait_ready()
    wait_for("Events mode", lambda: op.metric(MODE, account="own", region=REGION) == 1, timeout=30)
    yield op
    op.stop()


def _steady(kube: Kube, name: str) -> Any:
    def probe() -> dict[str, Any] | None:
        s = kube.status("fargateservice", name)
        ready = condition(s, "Ready").get("status") == "True" and s.get("runningCount") == DESIRED
        return s if ready and s.get("rolloutState") == "COMPLETED" and s.get("freshness") == "Events" else None

    return probe


def _statuses(kube: Kube, names: list[str]) -> dict[str, dict[str, Any]]:
    return {n: dict((kube.get("fargateservice", n) or {}).get("status") or {}) for n in names}


@pytest.fixture
def fleet(operator: OperatorProcess, kube: Kube) -> Iterator[list[str]]:
    """A cluster, a task definition and SERVICES FargateServices' names, all removed by the operator after."""
    kube.apply(manifest("FargateCluster", "c", {"clusterName": f"resync-{kube.namespace}"}))
    kube.apply(manifest("FargateTaskDefinition", "td", task_definition_spec(f"resync-{kube.namespace}")))
    yield [f"s{i}-{uuid.uuid4().hex[:5]}" for i in range(SERVICES)]
    kube.cp.kubectl("delete", "fargateservice", "--all", "-n", kube.namespace, "--wait=true", "--timeout=60s")
    kube.delete("fargatetaskdefinition", "td", wait=True)
    kube.delete("fargatecluster", "c", wait=True)


def test_a_steady_fleet_gets_no_status_write_across_two_resyncs(
    operator: OperatorProcess, kube: Kube, emulator: EcsEmulator, fleet: list[str]
) -> None:
    net: Network = emulator.create_network()
    names = fleet
    for name in names:
        kube.apply(service_manifest(name, awsvpc(net.subnet_id, net.security_group_id), desired=DESIRED))
    for name in names:
        wait_for(f"{name} steady, through events", _steady(kube, name), timeout=120)
    # Let what the rollouts set going settle: two resyncs after the last service came steady.
    time.sleep(2 * RESYNC + 2 * STATUS_INTERVAL)
    before, patches = _statuses(kube, names), status_patches(operator)
    cycles = operator.metric(CYCLES)
    time.sleep(2 * RESYNC + 2 * STATUS_INTERVAL)
    assert operator.metric(CYCLES) >= cycles + 2 * RESYNC / STATUS_INTERVAL - 1, "the status loop did not cycle"
    after = _statuses(kube, names)
    changed = {
        n: {
            k: (before[n].get(k), after[n].get(k))
            for k in set(before[n]) | set(after[n])
            if before[n].get(k) != after[n].get(k)
        }
        for n in names
        if before[n] != after[n]
    }
    assert not changed, "a steady fleet's status was rewritten by the resync:\n" + json.dumps(changed, indent=1)
    assert status_patches(operator) == patches
