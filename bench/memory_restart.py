"""Operator memory at 1,000 resources of each kind and at 10,000 FargateTasks; restart time at 10,000.

    .venv/bin/python bench/memory_restart.py [--each 1000] [--tasks 10000] [--parallel 4]

Starts its own world (kube-apiserver + etcd, moto behind a counting proxy, the
operator as a process; all on loopback), then:
1. creates `--each` FargateClusters, FargateTaskDefinitions, FargateServices and
   FargateTasks, waits until every one is reconciled, and takes the operator's RSS
   (the highest of 10 s of samples, `--settle` seconds after the last one converged:
   steady state, after the burst's garbage has been handed back);
2. adds FargateTasks up to `--tasks`, waits until all are Running, takes RSS again;
3. stops the operator (SIGTERM) and starts it again: the time from the new process's
   start until /readyz answers 200 (Kopf running and the watch cache holding every
   object), and every ECS call and Kubernetes write in the 30 s after the restart.
Prints a table, writes bench/results/memory_restart.json and docs/bench/memory_restart.png.
"""

from __future__ import annotations

import argparse
import time
import urllib.request
from typing import Any

from bench_world import (
    BenchWorld,
    Sampler,
    StatusWatch,
    apiserver_writes,
    manifest,
    operator_writes,
    pyplot,
    report,
    save_chart,
    steady_rss,
    task_definition_spec,
    world_processes,
)

READ_ACTIONS = ("Describe", "List", "Get")
KINDS = {  # plural -> (kind, when its status says it is reconciled)
    "fargateclusters": ("FargateCluster", lambda s: bool(s.get("clusterArn"))),
    "fargatetaskdefinitions": ("FargateTaskDefinition", lambda s: bool(s.get("taskDefinitionArn"))),
    "fargateservices": ("FargateService", lambda s: bool(s.get("serviceArn"))),
    "fargatetasks": ("FargateTask", lambda s: s.get("phase") == "Running"),
}


def docs_for(plural: str, start: int, stop: int, task_spec: dict[str, Any]) -> list[dict[str, Any]]:
    kind = KINDS[plural][0]
    out = []
    for i in range(start, stop):
        name = f"{plural[7:11]}-{i:05d}"  # e.g. "clus-00001", "task-00001"
        if kind == "FargateCluster":
            spec: dict[str, Any] = {"clusterName": f"bench-{i:05d}"}
        elif kind == "FargateTaskDefinition":
            spec = task_definition_spec(f"bench-family-{i:05d}")
        elif kind == "FargateService":
            spec = {
                "serviceName": f"svc-{i:05d}",
                "clusterRef": {"name": "bench"},
                "taskDefinitionRef": {"name": "job"},
                "desiredCount": 1,
                "launchType": "FARGATE",
                "networkConfiguration": task_spec["networkConfiguration"],
            }
        else:
            spec = task_spec
        out.append(manifest(kind, name, spec))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--each", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=10000)
    parser.add_argument("--parallel", type=int, default=4, help="kubectl processes creating the objects")
    parser.add_argument("--status-interval", type=float, default=5.0)
    parser.add_argument("--settle", type=float, default=30.0, help="seconds after convergence before RSS is taken")
    parser.add_argument("--after-restart", type=float, default=30.0, help="seconds of ECS calls counted")
    args = parser.parse_args()
    timeline: list[tuple[float, str]] = []

    with BenchWorld.start(status_interval=args.status_interval) as bw:
        bw.start_operator().wait_ready()
        task_spec = bw.seed()
        sampler = Sampler(lambda: world_processes(bw), interval=1.0).start()

        def mark(what: str) -> None:
            timeline.append((time.monotonic() - sampler._t0, what))
            print(f"[{timeline[-1][0]:7.1f}s] {what}", flush=True)

        watches = {p: StatusWatch(bw, p, done).start() for p, (_, done) in KINDS.items()}
        started = time.monotonic()
        for plural in KINDS:
            bw.create(docs_for(plural, 0, args.each, task_spec), args.parallel)
            mark(f"created {args.each} {plural}")
        for plural, watch in watches.items():
            if not watch.wait(args.each + (1 if plural in ("fargateclusters", "fargatetaskdefinitions") else 0), 1800):
                raise SystemExit(f"{plural}: only {len(watch.done)} reconciled")
        mark("all reconciled")
        converge_each = time.monotonic() - started
        time.sleep(args.settle)
        rss_each = steady_rss(sampler)
        mark(f"RSS {rss_each} MiB")

        started = time.monotonic()
        bw.create(docs_for("fargatetasks", args.each, args.tasks, task_spec), args.parallel)
        mark(f"created FargateTasks up to {args.tasks}")
        if not watches["fargatetasks"].wait(args.tasks, 3600):
            raise SystemExit(f"only {len(watches['fargatetasks'].done)} FargateTasks Running")
        mark(f"{args.tasks} FargateTasks Running")
        converge_tasks = time.monotonic() - started
        time.sleep(args.settle)
        rss_tasks = steady_rss(sampler)
        mark(f"RSS {rss_tasks} MiB")
        for watch in watches.values():
            watch.stop()

        assert bw.operator is not None
        bw.operator.stop()
        mark("operator stopped")
        bw.proxy.reset()
        writes_before = apiserver_writes(bw.cp)
        restart_at = time.monotonic()
        op = bw.start_operator()
        ready_s = _wait_ready(op.rest_endpoint)
        mark(f"restarted operator ready in {ready_s:.1f}s")
        time.sleep(max(0.0, args.after_restart - (time.monotonic() - restart_at)))
        rss_restarted = steady_rss(sampler, 5)
        calls = bw.proxy.reset()
        k8s_writes = operator_writes(apiserver_writes(bw.cp) - writes_before)
        mark("done")
        sampler.stop()

    ecs_writes = {a: n for a, n in calls.items() if not a.startswith(READ_ACTIONS)}
    total = 4 * args.each + (args.tasks - args.each)
    result = {
        "each_kind": args.each,
        "tasks": args.tasks,
        "objects_at_restart": total,
        "seconds_to_reconcile_each_kind": round(converge_each, 1),
        "seconds_to_grow_to_tasks": round(converge_tasks, 1),
        "operator_rss_mib_each_kind": rss_each,
        "operator_rss_mib_at_tasks": rss_tasks,
        "operator_rss_mib_after_restart": rss_restarted,
        "restart_seconds_to_ready": round(ready_s, 2),
        "restart_ecs_calls": dict(calls),
        "restart_ecs_writes": ecs_writes,
        "restart_k8s_writes": dict(k8s_writes),
        "status_interval": args.status_interval,
        "timeline": timeline,
        "samples": [(round(s.t, 1), round(s.rss_mib.get("operator", 0), 1)) for s in sampler.samples],
    }
    _chart(result)
    report(
        "memory_restart",
        result,
        [
            (f"RSS, {args.each} of each kind (MiB)", rss_each, "<= 150"),
            (f"RSS, {args.tasks} FargateTasks (MiB)", rss_tasks, "<= 400"),
            (f"restart with {total} objects: s to ready", result["restart_seconds_to_ready"], "<= 30"),
            ("ECS writes after restart", sum(ecs_writes.values()), "0"),
            ("ECS reads after restart (30 s)", sum(calls.values()) - sum(ecs_writes.values()), ""),
            ("Kubernetes writes after restart", sum(k8s_writes.values()), ""),
        ],
    )
    ok = rss_each > 0 and not ecs_writes
    return 0 if ok else 1


def _wait_ready(endpoint: str, timeout: float = 300) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            with urllib.request.urlopen(f"{endpoint}/readyz", timeout=1) as resp:
                if resp.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError("operator not ready after restart")


def _chart(result: dict[str, Any]) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=110)
    xs, ys = zip(*result["samples"], strict=True) if result["samples"] else ((), ())
    ax.plot(xs, ys, label="operator RSS (MiB)")
    for t, what in result["timeline"]:
        if what.startswith(("all reconciled", "operator stopped")) or "Running" in what:
            ax.axvline(t, color="grey", alpha=0.4, linestyle="--")
            ax.annotate(what, (t, max(ys or (1,)) * 0.05), rotation=90, fontsize=7, alpha=0.8)
    ax.axhline(150, color="tab:orange", alpha=0.5, linestyle=":", label="150 MiB target (1k each)")
    ax.axhline(400, color="tab:red", alpha=0.5, linestyle=":", label="400 MiB target (10k tasks)")
    ax.set_xlabel("seconds")
    ax.set_ylabel("MiB")
    ax.set_title(
        f"RSS {result['operator_rss_mib_each_kind']} MiB at {result['each_kind']} each, "
        f"{result['operator_rss_mib_at_tasks']} MiB at {result['tasks']} tasks; "
        f"restart ready in {result['restart_seconds_to_ready']} s",
        fontsize=9,
    )
    save_chart(fig, ax, "memory_restart", "upper left", 7)


if __name__ == "__main__":
    raise SystemExit(main())
