"""REST adapter speed: reads per second and their latency at a fixed offered rate; what RunTask adds.

    .venv/bin/python bench/rest_adapter.py [--rate 500] [--seconds 20] [--processes 4] [--profile]

Starts its own world on loopback (kube-apiserver + etcd, moto, the operator with its
adapter), seeds a cluster, a task definition, a service and a task through the
adapter, then for each client kind:
- `boto3`: unmodified boto3 clients signing SigV4, as the AWS CLI and SDKs call;
- `bearer`: plain HTTP/1.1 keep-alive requests with `Authorization: Bearer` and a key
  Secret's token, which costs the client almost nothing, so the figure is the adapter's;
- `kubernetes`: the same with a Kubernetes token (TokenRequest, audience fargate-operator),
  validated with TokenReview;
every caller acts as a ServiceAccount with the chart's read-only role, so every read is
authorized by a SubjectAccessReview (issue 15); both reviews are cached a few seconds, and the
hit rates of those caches over each run are reported from the operator's /metrics;
offers `--rate` reads per second for `--seconds` (open loop: each request has a
scheduled send time and its latency counts from then, so a stall is not hidden by
the client waiting), spread over `--processes` processes x `--threads` threads,
round-robin over DescribeClusters, DescribeServices, DescribeTasks, ListTasks,
ListTaskDefinitions and DescribeTaskDefinition. Then `--runs` sequential RunTask
calls through the adapter against the same calls made straight to the ECS endpoint.
Prints a table, writes bench/results/rest_adapter.json and docs/bench/rest_adapter.png.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import multiprocessing
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import boto3
import yaml
from botocore.config import Config

from fargate_operator.devenv.ecs_emulator import REGION
from fargate_operator.web.auth import CREDENTIAL_LABEL
from support import (
    BenchWorld,
    Profiler,
    Sampler,
    awsvpc,
    identity_support,
    pyplot,
    report,
    save_chart,
    wait_for,
    world_processes,
)

TARGET = "AmazonEC2ContainerServiceV20141113"
ACCESS_KEY, SECRET_KEY, TOKEN = "BENCH", "bench-secret", "bench-token"
SEED_KEY = "BENCHSEED"  # the key that seeds the world (full access); the reads use the read-only ones
READS: list[tuple[str, dict[str, Any]]] = [
    ("DescribeClusters", {"clusters": ["bench"]}),
    ("DescribeServices", {"cluster": "bench", "services": ["web"]}),
    ("DescribeTasks", {"cluster": "bench", "tasks": []}),  # filled in with the seeded task's ARN
    ("ListTasks", {"cluster": "bench"}),
    ("ListTaskDefinitions", {}),
    ("DescribeTaskDefinition", {"taskDefinition": "bench"}),
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2) if ordered else float("nan")


def _snake(action: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in action).lstrip("_")


def _boto3_caller(endpoint: str) -> Callable[[int], None]:
    client = boto3.client(
        "ecs",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"max_attempts": 1}, max_pool_connections=2),
    )

    def call(i: int) -> None:
        action, params = READS[i % len(READS)]
        getattr(client, _snake(action))(**params)

    return call


def _bearer_caller(endpoint: str, token: str = TOKEN) -> Callable[[int], None]:
    url = urlparse(endpoint)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10)
    bodies = [(action, json.dumps(params).encode()) for action, params in READS]

    def call(i: int) -> None:
        action, body = bodies[i % len(bodies)]
        conn.request(
            "POST",
            "/",
            body,
            {
                "X-Amz-Target": f"{TARGET}.{action}",
                "Content-Type": "application/x-amz-json-1.1",
                "Authorization": f"Bearer {token}",
            },
        )
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{action}: HTTP {resp.status}")

    return call


def _caller(kind: str, endpoint: str, k8s_token: str) -> Callable[[int], None]:
    if kind == "boto3":
        return _boto3_caller(endpoint)
    return _bearer_caller(endpoint, k8s_token if kind == "kubernetes" else TOKEN)


def cache_counts(endpoint: str) -> dict[str, dict[str, float]]:
    """fargate_operator_auth_cache_total by cache and outcome (hit, miss, joined), from the operator's /metrics."""
    import urllib.request

    with urllib.request.urlopen(f"{endpoint}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    counts: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        if line.startswith("fargate_operator_auth_cache_total{"):
            labels, value = line.rsplit(" ", 1)
            fields = dict(item.split("=") for item in labels[labels.index("{") + 1 : -1].split(","))
            cache, outcome = fields["cache"].strip('"'), fields["outcome"].strip('"')
            counts.setdefault(cache, {})[outcome] = float(value)
    return counts


def hit_rates(before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Per cache: lookups during the run and the share answered without asking the API server."""
    out: dict[str, Any] = {}
    for cache, outcomes in after.items():
        delta = {k: v - before.get(cache, {}).get(k, 0.0) for k, v in outcomes.items()}
        total = sum(delta.values())
        if total:
            out[cache] = {
                "lookups": int(total),
                "api_calls": int(delta.get("miss", 0)),
                "hit_rate": round(1 - delta.get("miss", 0) / total, 5),
            }
    return out


def _load_process(
    kind: str,
    endpoint: str,
    k8s_token: str,
    reads: list[tuple[str, dict[str, Any]]],
    rate: float,
    threads: int,
    start_at: float,
    seconds: float,
    offset: int,
    out: Any,
) -> None:
    """One load process: `threads` threads, each sending on its own fixed schedule."""
    READS[:] = reads
    per_thread = rate / threads
    results: list[tuple[float, float]] = []  # (scheduled send time, latency); NaN latency = error
    lock = threading.Lock()

    def worker(t: int) -> None:
        call = _caller(kind, endpoint, k8s_token)
        mine = []
        n = 0
        while True:
            scheduled = start_at + (n + t / threads) / per_thread
            if scheduled - start_at >= seconds:
                break
            delay = scheduled - time.time()
            if delay > 0:
                time.sleep(delay)
            try:
                call(offset + t + n)
                mine.append((scheduled - start_at, time.time() - scheduled))
            except Exception:
                mine.append((scheduled - start_at, float("nan")))
            n += 1
        with lock:
            results.extend(mine)

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    out.put(results)


def offer_load(
    kind: str, endpoint: str, k8s_token: str, rate: float, seconds: float, processes: int, threads: int
) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    start_at = time.time() + 3.0  # every process has started and built its clients by then
    procs = [
        ctx.Process(
            target=_load_process,
            args=(kind, endpoint, k8s_token, READS, rate / processes, threads, start_at, seconds, p * threads, queue),
        )
        for p in range(processes)
    ]
    for p in procs:
        p.start()
    samples: list[tuple[float, float]] = []
    for _ in procs:
        samples += queue.get(timeout=seconds + 120)
    for p in procs:
        p.join()
    ok = [lat for _, lat in samples if lat == lat]
    last = max((t + lat for t, lat in samples if lat == lat), default=seconds)
    return {
        "client": kind,
        "offered_per_second": rate,
        "requests": len(samples),
        "errors": len(samples) - len(ok),
        "achieved_per_second": round(len(ok) / max(last, seconds), 1),
        "p50_ms": pct(ok, 0.50),
        "p90_ms": pct(ok, 0.90),
        "p99_ms": pct(ok, 0.99),
        "max_ms": round(max(ok, default=float("nan")) * 1000, 2),
        "latencies_ms": [round(x * 1000, 2) for x in ok],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500.0, help="reads per second offered")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--processes",
        type=int,
        default=4,
        help="load processes per client kind (2 cap near 355 reads/s here: the clients' own CPU, not the adapter)",
    )
    parser.add_argument("--threads", type=int, default=8, help="threads per load process")
    parser.add_argument("--clients", default="bearer,kubernetes,boto3", help="client kinds, comma-separated")
    parser.add_argument("--runs", type=int, default=20, help="RunTask calls through the adapter and direct")
    parser.add_argument("--profile", action="store_true", help="attach py-spy to the operator during the reads")
    args = parser.parse_args()

    with BenchWorld.start(extra_args=("--credentials-namespace", "bench")) as bw:
        # Every caller is a ServiceAccount with the chart's read-only role; the seeding key's has full access.
        identity_support.install_roles(bw.cp)
        reader = identity_support.service_account(bw.cp, bw.namespace, "reader", identity_support.READ_ONLY)
        seeder = identity_support.service_account(bw.cp, bw.namespace, "seeder", identity_support.FULL)
        k8s_token = identity_support.token(bw.cp, bw.namespace, "reader")
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "bench", "labels": {CREDENTIAL_LABEL: "true"}},
            "data": {
                k: base64.b64encode(v.encode()).decode()
                for k, v in {
                    "accessKeyId": ACCESS_KEY,
                    "secretAccessKey": SECRET_KEY,
                    "token": TOKEN,
                    "namespace": bw.namespace,
                    "user": reader,
                }.items()
            },
        }
        seed_secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "bench-seed", "labels": {CREDENTIAL_LABEL: "true"}},
            "stringData": {"accessKeyId": SEED_KEY, "secretAccessKey": SECRET_KEY, "user": seeder},
        }
        bw.cp.kubectl("apply", "-n", bw.namespace, "-f", "-", input=yaml.safe_dump_all([secret, seed_secret]))
        op = bw.start_operator().wait_ready()
        ecs = boto3.client(
            "ecs",
            endpoint_url=op.rest_endpoint,
            region_name=REGION,
            aws_access_key_id=SEED_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(retries={"max_attempts": 1}),
        )
        wait_for("adapter", lambda: ecs.describe_clusters() is not None, timeout=60)
        network = bw.world.ecs.create_network()
        net = awsvpc(network.subnet_id, network.security_group_id)
        ecs.create_cluster(clusterName="bench")
        ecs.register_task_definition(
            family="bench",
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            containerDefinitions=[{"name": "app", "image": "busybox", "memory": 256}],
        )
        ecs.create_service(
            cluster="bench", serviceName="web", taskDefinition="bench", desiredCount=1, networkConfiguration=net
        )
        task_arn = ecs.run_task(
            cluster="bench", taskDefinition="bench", launchType="FARGATE", networkConfiguration=net
        )["tasks"][0]["taskArn"]
        READS[2] = ("DescribeTasks", {"cluster": "bench", "tasks": [task_arn]})

        assert op.proc is not None
        sampler = Sampler(lambda: world_processes(bw))
        reads: dict[str, dict[str, Any]] = {}
        for kind in args.clients.split(","):
            profiler = Profiler(op.proc.pid, f"rest_adapter-{kind}") if args.profile else None
            before, counts = sampler.take(), cache_counts(op.rest_endpoint)
            reads[kind] = offer_load(
                kind, op.rest_endpoint, k8s_token, args.rate, args.seconds, args.processes, args.threads
            )
            after = sampler.take()
            reads[kind]["operator_cpu_seconds"] = round(after.cpu_s["operator"] - before.cpu_s["operator"], 1)
            reads[kind]["auth_caches"] = hit_rates(counts, cache_counts(op.rest_endpoint))
            if profiler:
                profiler.stop()
                reads[kind]["profile"] = profiler.summary()

        direct = boto3.client(
            "ecs",
            endpoint_url=bw.world.ecs.endpoint,
            region_name=REGION,
            aws_access_key_id="x",
            aws_secret_access_key="y",
            config=Config(retries={"max_attempts": 1}),
        )
        td_arn = direct.describe_task_definition(taskDefinition="bench")["taskDefinition"]["taskDefinitionArn"]
        via_adapter, via_ecs = [], []
        for _ in range(args.runs):
            started = time.perf_counter()
            ecs.run_task(cluster="bench", taskDefinition="bench", launchType="FARGATE", networkConfiguration=net)
            via_adapter.append(time.perf_counter() - started)
            started = time.perf_counter()
            direct.run_task(cluster="bench", taskDefinition=td_arn, launchType="FARGATE", networkConfiguration=net)
            via_ecs.append(time.perf_counter() - started)

    result: dict[str, Any] = {
        "offered_per_second": args.rate,
        "seconds": args.seconds,
        "load_processes": args.processes,
        "threads_per_process": args.threads,
        "reads": reads,
        "runtask_runs": args.runs,
        "runtask_adapter_p50_ms": round(statistics.median(via_adapter) * 1000, 1),
        "runtask_direct_p50_ms": round(statistics.median(via_ecs) * 1000, 1),
    }
    result["runtask_added_p50_ms"] = round(result["runtask_adapter_p50_ms"] - result["runtask_direct_p50_ms"], 1)
    _chart(result)
    rows: list[tuple[str, Any, str]] = []
    for kind, r in reads.items():
        rows += [
            (f"{kind}: reads/s achieved ({args.rate:.0f} offered)", r["achieved_per_second"], ">= 500"),
            (f"{kind}: p50 ms", r["p50_ms"], ""),
            (f"{kind}: p99 ms", r["p99_ms"], "<= 20"),
            (f"{kind}: errors", r["errors"], "0"),
            (f"{kind}: operator CPU s", r["operator_cpu_seconds"], ""),
        ]
        rows += [
            (f"{kind}: {cache} cache hit rate ({c['api_calls']} calls / {c['lookups']} lookups)", c["hit_rate"], "")
            for cache, c in r["auth_caches"].items()
        ]
    rows.append(("RunTask p50 added by the adapter, ms", result["runtask_added_p50_ms"], ""))
    for r in reads.values():
        r["latencies_ms"] = sorted(r["latencies_ms"])[:: max(1, len(r["latencies_ms"]) // 2000)]  # keep JSON small
    report("rest_adapter", result, rows)
    return 0 if all(r["errors"] == 0 for r in reads.values()) else 1


def _chart(result: dict[str, Any]) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=110)
    for kind, r in result["reads"].items():
        lat = sorted(r["latencies_ms"])
        if lat:
            ax.plot(
                lat,
                [100 * (i + 1) / len(lat) for i in range(len(lat))],
                label=f"{kind}: {r['achieved_per_second']}/s, p99 {r['p99_ms']} ms",
            )
    ax.axvline(20, color="tab:red", alpha=0.5, linestyle=":", label="p99 target 20 ms")
    ax.axhline(99, color="grey", alpha=0.4, linestyle="--")
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log)")
    ax.set_ylabel("% of requests at or below")
    ax.set_title(
        f"REST adapter reads at {result['offered_per_second']:.0f}/s offered (open loop, loopback)", fontsize=9
    )
    save_chart(fig, ax, "rest_adapter", "lower right", 8)


if __name__ == "__main__":
    raise SystemExit(main())
