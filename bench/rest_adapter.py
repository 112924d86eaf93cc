"""REST adapter speed: read throughput and latency, and what RunTask through the adapter adds.

    .venv/bin/python bench/rest_adapter.py [--seconds 10] [--clients 8] [--runs 20]

Starts its own world on loopback (kube-apiserver + etcd, moto, the operator with
its adapter), seeds a cluster, a task definition and a service, then:
1. reads: `--clients` threads, each with its own boto3 client (SigV4), call
   DescribeClusters / DescribeServices / ListTaskDefinitions / DescribeTaskDefinition
   round-robin for `--seconds`; reports requests/s and p50/p90/p99 latency;
2. RunTask: `--runs` sequential RunTask calls through the adapter (create the
   FargateTask, wait for the operator's RunTask, answer) against the same calls
   made with boto3 straight to the ECS endpoint.
Prints a table and writes bench/results/rest_adapter.json.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.config import Config

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from operator_support import OperatorProcess, awsvpc, wait_for  # noqa: E402

from fargate_operator.devenv.ecs_emulator import REGION  # noqa: E402
from fargate_operator.devenv.world import World  # noqa: E402
from fargate_operator.web.auth import CREDENTIAL_LABEL  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "rest_adapter.json")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-rest-"))
    world = World.start(REPO / "crds", workdir=workdir / "world")
    op = None
    try:
        cp, ns = world.control_plane, "bench"
        cp.kubectl("create", "namespace", ns)
        secret = {
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "bench", "labels": {CREDENTIAL_LABEL: "true"}},
            "data": {k: base64.b64encode(v.encode()).decode()
                     for k, v in {"accessKeyId": "BENCH", "secretAccessKey": "bench", "namespace": ns}.items()},
        }
        cp.kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump(secret))
        op = OperatorProcess(cp, world.ecs.endpoint, ns, workdir / "operator.log",
                             extra_args=("--credentials-namespace", ns)).start()
        config = Config(retries={"max_attempts": 1}, max_pool_connections=4)

        def adapter_client() -> Any:
            return boto3.client("ecs", endpoint_url=op.rest_endpoint, region_name=REGION, aws_access_key_id="BENCH",
                                aws_secret_access_key="bench", config=config)

        def ready() -> bool:
            try:
                adapter_client().describe_clusters()
                return True
            except Exception:
                return False

        wait_for("adapter", ready, timeout=60)
        network = world.ecs.create_network()
        world.ecs.set_task_transition({"progression": "time", "seconds": 3600})
        ecs = adapter_client()
        ecs.create_cluster(clusterName="bench")
        ecs.register_task_definition(family="bench", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
                                     memory="512", containerDefinitions=[{"name": "app", "image": "busybox", "memory": 256}])
        net = awsvpc(network.subnet_id, network.security_group_id)
        ecs.create_service(cluster="bench", serviceName="web", taskDefinition="bench", desiredCount=1,
                           networkConfiguration=net)

        reads = [
            lambda c: c.describe_clusters(clusters=["bench"]),
            lambda c: c.describe_services(cluster="bench", services=["web"]),
            lambda c: c.list_task_definitions(),
            lambda c: c.describe_task_definition(taskDefinition="bench"),
        ]
        latencies: list[float] = []
        errors = [0]
        lock = threading.Lock()
        stop_at = time.monotonic() + args.seconds

        def reader(i: int) -> None:
            client = adapter_client()
            mine: list[float] = []
            n = i
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                try:
                    reads[n % len(reads)](client)
                except Exception:
                    with lock:
                        errors[0] += 1
                mine.append(time.perf_counter() - started)
                n += 1
            with lock:
                latencies.extend(mine)

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(args.clients)]
        began = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - began

        direct = boto3.client("ecs", endpoint_url=world.ecs.endpoint, region_name=REGION, aws_access_key_id="x",
                              aws_secret_access_key="y", config=config)
        td_arn = direct.describe_task_definition(taskDefinition="bench")["taskDefinition"]["taskDefinitionArn"]
        via_adapter, via_ecs = [], []
        for _ in range(args.runs):
            started = time.perf_counter()
            ecs.run_task(cluster="bench", taskDefinition="bench", launchType="FARGATE", networkConfiguration=net)
            via_adapter.append(time.perf_counter() - started)
            started = time.perf_counter()
            direct.run_task(cluster="bench", taskDefinition=td_arn, launchType="FARGATE", networkConfiguration=net)
            via_ecs.append(time.perf_counter() - started)
    finally:
        if op:
            op.stop()
        world.stop()

    result = {
        "read_clients": args.clients,
        "read_seconds": round(elapsed, 2),
        "read_requests": len(latencies),
        "read_errors": errors[0],
        "reads_per_second": round(len(latencies) / elapsed, 1),
        "read_p50_ms": round(pct(latencies, 0.50), 2),
        "read_p90_ms": round(pct(latencies, 0.90), 2),
        "read_p99_ms": round(pct(latencies, 0.99), 2),
        "runtask_runs": args.runs,
        "runtask_adapter_p50_ms": round(statistics.median(via_adapter) * 1000, 1),
        "runtask_direct_p50_ms": round(statistics.median(via_ecs) * 1000, 1),
        "runtask_added_p50_ms": round((statistics.median(via_adapter) - statistics.median(via_ecs)) * 1000, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'metric':<26} {'value':>10}")
    for key, value in result.items():
        print(f"{key:<26} {value!s:>10}")
    print(f"wrote {args.out}")
    return 0 if errors[0] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
