"""What the ECS emulator itself takes: services created per second, its idle CPU, describe latency, by fleet size.

    .venv/bin/python bench/emulator_capacity.py [--sizes 500,2000] [--desired 2] [--parallel 4]

For each size, a fresh emulator (no operator, no Kubernetes): one cluster, then per service a task
definition and a service of `--desired` Fargate tasks, made with boto3 by `--parallel` threads;
until every task is RUNNING. Then the emulator's CPU over 10 s with nothing asked of it (its
scheduler passes every service every tick), and the latency of DescribeServices (10 a call) and
DescribeTasks (100 a call), the batches the operator's status loop sends. Says how large a fleet
bench/event_status.py can ask of the emulator on this machine. Prints a table, writes
bench/results/emulator_capacity.json.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil

from bench_world import report
from fargate_devenv.ecs_emulator import EcsEmulator

CLUSTER = "bench"


def _create(clients: list[Any], network: Any, desired: int, i: int) -> None:
    ecs = clients[i % len(clients)]
    td = ecs.register_task_definition(
        family=f"td-{i}",
        cpu="256",
        memory="512",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        containerDefinitions=[{"name": "app", "image": "busybox", "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster=CLUSTER,
        serviceName=f"svc-{i}",
        taskDefinition=td,
        desiredCount=desired,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": [network.subnet_id], "securityGroups": [network.security_group_id]}
        },
    )


def _running(ecs: Any, n: int) -> int:
    names = [f"svc-{i}" for i in range(n)]
    return sum(
        s["runningCount"]
        for k in range(0, n, 10)
        for s in ecs.describe_services(cluster=CLUSTER, services=names[k : k + 10])["services"]
    )


def measure(n: int, desired: int, parallel: int) -> dict[str, Any]:
    emulator = EcsEmulator().start()
    try:
        ecs, network = emulator.client(), emulator.create_network()
        ecs.create_cluster(clusterName=CLUSTER)
        assert emulator.pid is not None
        proc = psutil.Process(emulator.pid)
        clients = [emulator.client() for _ in range(parallel)]
        started = time.monotonic()
        with ThreadPoolExecutor(parallel) as pool:
            list(pool.map(lambda i: _create(clients, network, desired, i), range(n)))
        created = time.monotonic() - started
        while _running(ecs, n) < desired * n:
            time.sleep(2)
        running = time.monotonic() - started
        cpu = sum(proc.cpu_times()[:2])
        time.sleep(10)
        idle_cpu = (sum(proc.cpu_times()[:2]) - cpu) / 10
        names = [f"svc-{i}" for i in range(n)]
        calls = min(n, 1000) // 10
        t = time.monotonic()
        for k in range(calls):
            ecs.describe_services(cluster=CLUSTER, services=names[k * 10 : k * 10 + 10])
        services_ms = 1000 * (time.monotonic() - t) / calls
        tasks = ecs.list_tasks(cluster=CLUSTER)["taskArns"]
        t = time.monotonic()
        for _ in range(20):
            ecs.describe_tasks(cluster=CLUSTER, tasks=tasks[:100])
        tasks_ms = 1000 * (time.monotonic() - t) / 20
        return {
            "services": n,
            "tasks": desired * n,
            "creates_per_s": round(n / created, 1),
            "all_running_s": round(running, 1),
            "idle_cpu_percent": round(100 * idle_cpu),
            "rss_mib": round(proc.memory_info().rss / 2**20),
            "describe_services_10_ms": round(services_ms, 1),
            "describe_tasks_100_ms": round(tasks_ms, 1),
        }
    finally:
        emulator.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,2000")
    parser.add_argument("--desired", type=int, default=2)
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()
    results = [measure(int(n), args.desired, args.parallel) for n in args.sizes.split(",")]
    rows = [
        (f"{r['services']} services: {label}", r[key], "")
        for r in results
        for key, label in (
            ("creates_per_s", "services created / s"),
            ("all_running_s", "s until all tasks RUNNING"),
            ("idle_cpu_percent", "idle CPU %"),
            ("rss_mib", "RSS MiB"),
            ("describe_services_10_ms", "DescribeServices (10) ms"),
            ("describe_tasks_100_ms", "DescribeTasks (100) ms"),
        )
    ]
    report("emulator_capacity", {"desired": args.desired, "sizes": results}, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
