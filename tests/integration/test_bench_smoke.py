"""The create-to-Running benchmark, small: it still runs, and the write and call budget per FargateTask holds.

Budget: one RunTask per FargateTask and only batched reads besides. Kubernetes writes per
FargateTask from create to Running, on the lifecycle-faithful emulator (a task starts in
PROVISIONING, as in ECS): the RunTask mark with the finalizer, one Event ("Started"), the
handler's status patch (Pending, with Kopf's bookkeeping) and one status patch per lifecycle
state the status loop sees on the way to RUNNING -- at least one (RUNNING), at most three
(PENDING, ACTIVATING, RUNNING): status mirrors ECS. Counted by the ECS proxy and by
kube-apiserver's own request metrics, not by the operator. No timing is asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COUNT = 60


def run_bench(script: str, args: list[str], output: Path, timeout: float) -> None:
    """One benchmark script, its JSON into `output`; fails with the end of its output when it fails."""
    env = {**os.environ, "FARGATE_BENCH_OUTPUT": str(output)}
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_create_to_running_budget(tmp_path: Path) -> None:
    run_bench("create_to_running.py", ["--count", str(COUNT), "--parallel", "2", "--timeout", "180"], tmp_path, 400)
    result = json.loads((tmp_path / "create_to_running.json").read_text())
    assert result["all_running"]
    calls = result["ecs_calls"]
    assert calls.pop("RunTask") == COUNT  # exactly once each
    # ListTaskDefinitions: drift's walk over the seeded FargateTaskDefinition, every second status cycle (batched),
    # which falls inside the measured window when the tasks take longer than a cycle or two to start.
    assert set(calls) <= {"DescribeTasks", "DescribeClusters", "ListTasks", "ListTaskDefinitions"}, calls
    assert sum(calls.values()) <= 10, f"reads should be batched, got {calls}"
    writes = dict(result["k8s_writes"])
    assert writes.pop("PATCH fargatetasks") == COUNT  # RUN_MARK + finalizer, one conditional patch
    assert writes.pop("POST events") == COUNT  # "Started": RunTask
    status = writes.pop("PATCH fargatetasks/status")
    assert 2 * COUNT <= status <= 4 * COUNT, status  # Pending (handler), then each state seen up to RUNNING
    assert writes.pop("PATCH fargateclusters/status", 0) <= 5  # the cluster's running-task count moves
    assert not writes, writes
    assert (tmp_path / "create_to_running.png").stat().st_size > 10_000


READ_PREFIXES = ("Describe", "List")
OBJECTS = 30
# Seconds after the last Ready before writes are counted: drift looks at a FargateTaskDefinition every second
# status cycle (5 s), once the handler's status landed -- four cycles see every object's first look.
TRAILING = 20


def test_one_ecs_write_per_new_object_for_every_kind(tmp_path: Path) -> None:
    """bench/create_to_ready.py, small: each new FargateTaskDefinition, FargateService and FargateCluster costs one
    ECS call of its own (Register / CreateService / CreateCluster); what else is read is batched across objects
    (the family walk, the shared DescribeClusters, the status loop), so far fewer reads than objects.
    Kubernetes writes per object, counted TRAILING seconds after the last Ready (drift's first look has come by
    then): at most three -- the finalizer, the handler's status patch (drift's first verdict rides on it), one
    Event; a service has one more, the status loop's when its tasks reach RUNNING."""
    args = ["--count", str(OBJECTS), "--parallel", "2", "--settle", "0", "--timeout", "180"]
    args += ["--trailing", str(TRAILING)]
    run_bench("create_to_ready.py", args, tmp_path, 600)
    kinds = json.loads((tmp_path / "create_to_ready.json").read_text())["kinds"]
    writes_of = {"taskdefinitions": "RegisterTaskDefinition", "services": "CreateService", "clusters": "CreateCluster"}
    plural_of = {
        "taskdefinitions": "fargatetaskdefinitions",
        "services": "fargateservices",
        "clusters": "fargateclusters",
    }
    for kind, write in writes_of.items():
        result = kinds[kind]
        assert result["all_ready"], kind
        calls = dict(result["ecs_calls"])
        assert calls.pop(write) == OBJECTS, (kind, result["ecs_calls"])  # exactly one each
        assert all(op.startswith(READ_PREFIXES) for op in calls), (kind, calls)  # no other write
        assert sum(calls.values()) <= OBJECTS // 3, (kind, calls)  # batched: not one per object
        writes = dict(result["k8s_writes"])
        plural = plural_of[kind]
        assert writes.pop(f"PATCH {plural}") == OBJECTS, (kind, result["k8s_writes"])  # Kopf's finalizer
        assert writes.pop("POST events") == OBJECTS, (kind, result["k8s_writes"])
        status = writes.pop(f"PATCH {plural}/status")
        assert OBJECTS <= status <= (2 if kind == "services" else 1) * OBJECTS + 3, (kind, status)
        own = sum(n for k, n in result["k8s_writes"].items() if k.split()[1].split("/")[0] in (plural, "events"))
        assert own <= (4 if kind == "services" else 3) * OBJECTS + 3, (kind, result["k8s_writes"])
        assert all(v <= 3 for v in writes.values()), (kind, writes)  # the seeded cluster's count moving


def test_events_keep_status_fresh_with_fewer_reads_than_polling(tmp_path: Path) -> None:
    """bench/event_status.py, small: both modes run on one fleet; the probes' status names the mode that kept it
    fresh; in events mode a stopped task, a service's steady state and a console-style change (CloudTrail) show
    in status within 5 s at the 95th percentile, nothing is missed, and the steady state costs fewer ECS reads
    than polling the same fleet (the window is whole resync intervals, so the resync is counted). No ECS write
    and no Kubernetes write while nothing changes, in either mode."""
    args = ["--services", "60", "--samples", "5", "--window", "30", "--resync-interval", "30", "--settle", "10"]
    run_bench("event_status.py", [*args, "--sample-timeout", "60", "--timeout", "300"], tmp_path, 900)
    result = json.loads((tmp_path / "event_status.json").read_text())
    polling, events = result["modes"]["polling"], result["modes"]["events"]
    assert polling["probe_freshness"] == {"Polling": 15}, polling["probe_freshness"]
    assert events["probe_freshness"] == {"Events": 15}, events["probe_freshness"]
    for key in ("task_stopped", "service_steady", "drift"):
        assert polling[key]["missed"] == 0, (key, polling[key])
        assert events[key]["missed"] == 0, (key, events[key])
        assert events[key]["p95_s"] <= 5.0, (key, events[key])
    assert events["steady"]["ecs_reads_per_s"] < polling["steady"]["ecs_reads_per_s"], (events, polling)
    for mode in (polling, events):
        assert mode["steady"]["ecs_writes"] == 0, mode["steady"]["ecs_calls"]
        assert not mode["steady"]["k8s_writes"], mode["steady"]["k8s_writes"]
