"""The create-to-Ready benchmark, small: one ECS write per new object of every kind, reads batched, and few
Kubernetes writes per object. Counted by the ECS proxy and kube-apiserver's request metrics; no timing is asserted."""

from __future__ import annotations

import json
from pathlib import Path

from support.bench_run import run_bench

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
