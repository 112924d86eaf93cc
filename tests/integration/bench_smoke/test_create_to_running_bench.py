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
from pathlib import Path

from support.bench_run import run_bench

COUNT = 60


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
