"""Create N FargateTaskDefinitions, FargateServices or FargateClusters at once; measure until each is Ready.

    .venv/bin/python bench/create_to_ready.py [--kind taskdefinitions|services|clusters|all] [--count 500]
        [--parallel 4] [--repeat 1] [--profile]

The companion of create_to_running.py for the other three kinds, in the same world
(kube-apiserver + etcd, the lifecycle-faithful ECS emulator behind the counting proxy, the
operator as a process; all on loopback). For each kind asked: a fresh world, the operator
ready, (for services: one cluster and one task definition seeded first), then N objects
created by `--parallel` kubectl processes and followed with a watch until each shows the
Ready condition True -- for a service that is ECS's steady state with its one task RUNNING,
since the emulator starts tasks through PROVISIONING, PENDING and ACTIVATING as ECS does.

Reports per kind: the rate (N / seconds from the first create until the last is Ready),
ECS calls per object (from the proxy, by action; writes and reads apart), Kubernetes writes
per object (kube-apiserver's own counter: the operator's PATCHes and Events), the operator's
CPU per object and its RSS (peak during the burst, and steady: the highest of 10 s of samples
taken `--settle` seconds, default 60, after the last object was Ready). `--repeat` runs each kind in that many fresh
worlds and reports the median run. Prints a table, writes bench/results/create_to_ready.json
(create_to_ready-<kind>.json for one kind).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from bench_world import (
    BenchWorld,
    Profiler,
    Sampler,
    StatusWatch,
    apiserver_writes,
    manifest,
    operator_writes,
    report,
    steady_rss,
    task_definition_spec,
    world_processes,
)

READS = ("Describe", "List", "Get")
PLURALS = {"taskdefinitions": "fargatetaskdefinitions", "services": "fargateservices", "clusters": "fargateclusters"}
SETTLE_SECONDS = 60.0  # a dozen status cycles: Kopf's idle workers gone, freed heap handed back (heap.py)


def ready(status: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def docs_for(kind: str, n: int, seeded: dict[str, Any]) -> list[dict[str, Any]]:
    if kind == "taskdefinitions":
        return [
            manifest("FargateTaskDefinition", f"td-{i:05d}", task_definition_spec(f"fam-{i:05d}")) for i in range(n)
        ]
    if kind == "clusters":
        return [manifest("FargateCluster", f"cl-{i:05d}", {"clusterName": f"cl-{i:05d}"}) for i in range(n)]
    service = {
        "clusterRef": seeded["clusterRef"],
        "taskDefinitionRef": seeded["taskDefinitionRef"],
        "desiredCount": 1,
        "launchType": "FARGATE",
        "networkConfiguration": seeded["networkConfiguration"],
    }
    return [manifest("FargateService", f"svc-{i:05d}", {"serviceName": f"svc-{i:05d}", **service}) for i in range(n)]


def one_run(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    n, plural = args.count, PLURALS[kind]
    with BenchWorld.start(status_interval=args.status_interval) as bw:
        op = bw.start_operator().wait_ready()
        seeded = bw.seed() if kind == "services" else {}
        docs = docs_for(kind, n, seeded)
        watch = StatusWatch(bw, plural, ready)
        sampler = Sampler(lambda: world_processes(bw))
        profiler = None
        if args.profile:
            assert op.proc is not None
            profiler = Profiler(op.proc.pid, f"create_to_ready-{kind}")
        if seeded:
            time.sleep(2 * args.status_interval)  # seeded objects settled: their status writes are not counted
        bw.proxy.reset()
        writes_before = apiserver_writes(bw.cp)
        before = sampler.take()
        watch.t0 = sampler._t0 = time.monotonic()
        watch.start()
        sampler.start()
        bw.create(docs, args.parallel)
        watch.wait(n, args.timeout)
        elapsed = max(watch.done.values(), default=float("nan"))
        after_burst = sampler.take()
        time.sleep(2)  # trailing writes land before counting
        ecs_calls = bw.proxy.reset()
        time.sleep(max(0.0, args.trailing - 2))  # the status loop's late writes too (drift's first look)
        writes = operator_writes(apiserver_writes(bw.cp) - writes_before)
        writes[f"POST {plural}"] -= n  # the benchmark's own creates
        writes = +writes
        if profiler:
            profiler.stop()
        time.sleep(args.settle)
        steady = steady_rss(sampler, 10.0 if args.settle else 1.0)
        watch.stop()
        sampler.stop()
    cpu = {k: round(after_burst.cpu_s.get(k, 0) - before.cpu_s.get(k, 0), 2) for k in after_burst.cpu_s}
    reads = sum(v for k, v in ecs_calls.items() if k.startswith(READS))
    return {
        "kind": kind,
        "count": n,
        "all_ready": len(watch.done) >= n,
        "seconds_to_all_ready": round(elapsed, 2),
        "objects_per_second": round(n / elapsed, 1),
        "ecs_calls_per_object": round(sum(ecs_calls.values()) / n, 3),
        "ecs_writes_per_object": round((sum(ecs_calls.values()) - reads) / n, 3),
        "ecs_reads_per_object": round(reads / n, 3),
        "ecs_calls": dict(ecs_calls),
        "k8s_writes_per_object": round(sum(writes.values()) / n, 3),
        "k8s_writes": dict(writes),
        "operator_cpu_ms_per_object": round(1000 * cpu.get("operator", 0.0) / n, 1),
        "machine_cpu_ms_per_object": round(1000 * sum(cpu.values()) / n, 1),
        "cpu_seconds": cpu,
        "operator_peak_rss_mib": round(sampler.peak_rss("operator"), 1),
        "operator_steady_rss_mib": steady,
        "status_interval": args.status_interval,
        "kubectl_processes": args.parallel,
        "profile": profiler.summary() if profiler else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=[*PLURALS, "all"], default="all")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--parallel", type=int, default=4, help="kubectl processes creating the objects")
    parser.add_argument("--status-interval", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--repeat", type=int, default=1, help="fresh worlds per kind; the median run is reported")
    parser.add_argument("--profile", action="store_true", help="attach py-spy to the operator")
    parser.add_argument(
        "--trailing",
        type=float,
        default=2.0,
        help="seconds after the last Ready before the Kubernetes writes are counted (ECS calls: after 2 s); the "
        "status loop's late writes, such as drift's first verdict, need a few status intervals",
    )
    parser.add_argument(
        "--settle", type=float, default=SETTLE_SECONDS, help="seconds after the last Ready before steady RSS is taken"
    )
    args = parser.parse_args()
    kinds = list(PLURALS) if args.kind == "all" else [args.kind]
    results: dict[str, Any] = {}
    for kind in kinds:
        runs = sorted((one_run(kind, args) for _ in range(args.repeat)), key=lambda r: r["objects_per_second"])
        best = dict(runs[len(runs) // 2])
        best["rates_of_all_runs"] = [r["objects_per_second"] for r in runs]
        best["operator_cpu_ms_per_object_of_all_runs"] = [r["operator_cpu_ms_per_object"] for r in runs]
        best["median_operator_cpu_ms_per_object"] = statistics.median(r["operator_cpu_ms_per_object"] for r in runs)
        results[kind] = best
    rows: list[tuple[str, Any, str]] = []
    for kind, r in results.items():
        rows += [
            (f"{kind}: objects", r["count"], ""),
            (f"{kind}: objects/s to Ready", r["objects_per_second"], ">= 31.2/s for task definitions"),
            (f"{kind}: ECS calls per object", r["ecs_calls_per_object"], "1.0"),
            (f"{kind}:   of which writes", r["ecs_writes_per_object"], ""),
            (f"{kind}: Kubernetes writes per object", r["k8s_writes_per_object"], ""),
            (f"{kind}: operator CPU ms per object", r["operator_cpu_ms_per_object"], "<= 11 for task definitions"),
            (f"{kind}: machine CPU ms per object", r["machine_cpu_ms_per_object"], ""),
            (
                f"{kind}: operator RSS MiB, peak / steady",
                f"{r['operator_peak_rss_mib']} / {r['operator_steady_rss_mib']}",
                "",
            ),
        ]
    report("create_to_ready" if args.kind == "all" else f"create_to_ready-{args.kind}", {"kinds": results}, rows)
    for kind, r in results.items():
        print(f"{kind}: ECS calls {r['ecs_calls']}; Kubernetes writes {r['k8s_writes']}; CPU s {r['cpu_seconds']}")
        if r["profile"]:
            print(f"{kind}: profile (operator, % of samples): {r['profile']}")
    return 0 if all(r["all_ready"] for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
