"""Create N FargateTasks at once; measure until every one shows Running in status.

    .venv/bin/python bench/create_to_running.py [--count 1000] [--parallel 4] [--repeat 3] [--profile]

Starts its own world (kube-apiserver + etcd, moto behind a counting proxy, the
operator as a process; all on loopback), seeds a cluster and a task definition,
then creates N FargateTasks with `--parallel` kubectl processes and follows them
with a watch. Reports the rate (N / seconds from the first create until the last
one shows Running), ECS calls per resource (from the proxy, by action), Kubernetes
writes per resource (kube-apiserver's own request counter: the operator's PATCHes
and Events; the benchmark's own creates and the server's housekeeping excluded), and
the operator's CPU seconds and peak RSS. `--repeat` runs it in that many fresh worlds
and reports the median run (this shared machine varies by ±15 % between runs).
`--profile` attaches py-spy to the operator.
Prints a table, writes bench/results/create_to_running.json and
docs/bench/create_to_running.png.
"""

from __future__ import annotations

import argparse
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
    pyplot,
    report,
    save_chart,
    world_processes,
)

PLURAL = "fargatetasks"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=4, help="kubectl processes creating the objects")
    parser.add_argument("--status-interval", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--repeat", type=int, default=1, help="fresh worlds to run; the median run is reported")
    parser.add_argument("--profile", action="store_true", help="attach py-spy to the operator")
    args = parser.parse_args()
    n = args.count

    runs = [one_run(args) for _ in range(args.repeat)]
    runs.sort(key=lambda run: run[0]["resources_per_second"])
    result, watch = runs[len(runs) // 2]
    result["rates_of_all_runs"] = [r["resources_per_second"] for r, _ in runs]
    cpu = result["cpu_seconds"]
    _chart(watch, n, result)
    report(
        "create_to_running",
        result,
        [
            ("FargateTasks", n, ""),
            ("seconds to all Running", result["seconds_to_all_running"], ""),
            (f"resources/s to Running (median of {len(runs)})", result["resources_per_second"], ">= 50"),
            ("ECS calls per resource", result["ecs_calls_per_resource"], "<= 1.1"),
            ("Kubernetes writes per resource", result["k8s_writes_per_resource"], "<= 3"),
            ("operator CPU seconds", cpu.get("operator"), ""),
            ("operator peak RSS MiB", result["operator_peak_rss_mib"], ""),
        ],
    )
    print("rates of all runs:", result["rates_of_all_runs"])
    print("ECS calls:", result["ecs_calls"])
    print("Kubernetes writes:", result["k8s_writes"])
    print("CPU seconds by process:", cpu)
    if result["profile"]:
        print("profile (operator, % of samples):", result["profile"])
    return 0 if all(r["all_running"] for r, _ in runs) else 1


def one_run(args: argparse.Namespace) -> tuple[dict[str, Any], StatusWatch]:
    n = args.count
    with BenchWorld.start(status_interval=args.status_interval) as bw:
        bw.start_operator().wait_ready()
        spec = bw.seed()
        docs = [manifest("FargateTask", f"t-{i:05d}", spec) for i in range(n)]
        watch = StatusWatch(bw, PLURAL, lambda status: status.get("phase") == "Running")
        sampler = Sampler(lambda: world_processes(bw))
        profiler = None
        if args.profile:
            assert bw.operator is not None and bw.operator.proc is not None
            profiler = Profiler(bw.operator.proc.pid, "create_to_running")
        bw.proxy.reset()
        writes_before = apiserver_writes(bw.cp)
        time.sleep(1)
        before = sampler.take()
        watch.t0 = sampler._t0 = time.monotonic()
        watch.start()
        sampler.start()
        bw.create(docs, args.parallel)
        created = time.monotonic() - watch.t0
        watch.wait(n, args.timeout)
        elapsed = max(watch.done.values(), default=float("nan"))
        time.sleep(2)  # trailing writes land before counting
        if profiler:
            profiler.stop()
        watch.stop()
        sampler.stop()
        after = sampler.take()
        ecs_calls = bw.proxy.reset()
        writes = operator_writes(apiserver_writes(bw.cp) - writes_before)
        writes[f"POST {PLURAL}"] -= n  # the benchmark's own creates
        writes = +writes

    cpu = {k: round(after.cpu_s.get(k, 0) - before.cpu_s.get(k, 0), 1) for k in after.cpu_s}
    result = {
        "count": n,
        "all_running": len(watch.done) >= n,
        "seconds_to_all_running": round(elapsed, 2),
        "seconds_to_all_created": round(created, 2),
        "resources_per_second": round(n / elapsed, 1),
        "ecs_calls_per_resource": round(sum(ecs_calls.values()) / n, 3),
        "ecs_calls": dict(ecs_calls),
        "k8s_writes_per_resource": round(sum(writes.values()) / n, 3),
        "k8s_writes": dict(writes),
        "cpu_seconds": cpu,
        "operator_peak_rss_mib": round(sampler.peak_rss("operator"), 1),
        "status_interval": args.status_interval,
        "kubectl_processes": args.parallel,
        "profile": profiler.summary() if profiler else None,
    }
    return result, watch


def _chart(watch: StatusWatch, n: int, result: dict[str, Any]) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=110)
    for times, label in ((watch.created, "created"), (watch.done, "Running in status")):
        xs = sorted(times.values())
        ax.step(xs, range(1, len(xs) + 1), where="post", label=label)
    ax.set_xlabel("seconds since the first create")
    ax.set_ylabel("FargateTasks")
    ax.set_title(
        f"{n} FargateTasks: Running at {result['resources_per_second']}/s, "
        f"{result['k8s_writes_per_resource']} K8s writes and "
        f"{result['ecs_calls_per_resource']} ECS calls each",
        fontsize=9,
    )
    save_chart(fig, ax, "create_to_running", "lower right")


if __name__ == "__main__":
    raise SystemExit(main())
