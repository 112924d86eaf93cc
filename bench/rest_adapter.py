"""REST adapter speed on kept-alive connections: latency at fixed rates, and the rate where p99 passes 20 ms.

    .venv/bin/python bench/rest_adapter.py [--before main] [--rates 10,25,50,100,200,400,800] [--step-seconds 8]

Starts its own world on loopback (kube-apiserver + etcd, moto, the operator with its adapter), seeds
a cluster, a task definition, a service and a task through the adapter, then measures one operator
build after the other on that same world, back to back: first the code of git ref `--before`
(exported to a temporary directory and run with PYTHONPATH pointing there; "" skips it), then this
tree's. For each build:

- `sequential`: `--sequential` requests one after the other on ONE kept-alive connection, as an SDK
  sends them: plain HTTP/1.1 with a bearer token, and unmodified boto3 (SigV4). Their p50 shows a
  per-request floor at once (Nagle's algorithm meeting the client's delayed ACK costs ~40 ms each);
- `ladder`: vegeta (a Go load generator, a few microseconds of CPU per request, so the generator
  is not what is measured) offers each rate of `--rates` for `--step-seconds`, open loop, on
  kept-alive connections, for each caller kind -- `bearer` (a key Secret's token), `kubernetes`
  (a TokenRequest token, validated by TokenReview) and `sigv4` (requests signed with botocore's
  SigV4 signer beforehand, one fresh signature per write: the adapter refuses replayed writes) --
  and each of `reads` (round-robin DescribeClusters, DescribeServices, DescribeTasks, ListTasks,
  ListTaskDefinitions, DescribeTaskDefinition; the read-only role) and `writes` (RegisterTaskDefinition
  of the registered content: an impersonated PATCH of the custom resource per call, answered once the
  operator's verdict on it is in the cache; the full-access role). Each ladder starts with 2 s at
  the first rate, not measured (connections opened, authorization caches filled), and stops after
  two steps in a row whose p99 passes 20 ms; "passes at" is the lowest rate from which every step
  measured missed. Every rate up to `--always-up-to` (100/s) is measured whatever its p99, so the
  two builds are compared at the same rates.

Also per build: the hit rates of the authorization caches over each ladder (from the operator's
/metrics), and what `--runs` sequential RunTask calls through the adapter add, at the median, to the
same calls made straight to the emulator. Every call is authorized by SubjectAccessReview (cached a
few seconds). Loads go to 127.0.0.1 only,
bounded by the rates and seconds given. vegeta is installed, once, with `go install` from the Go
module proxy into ~/.cache/fargate-operator/tools (or $FARGATE_BENCH_TOOLS). Prints a table, writes
bench/results/rest_adapter.json and docs/bench/rest_adapter.png.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
import yaml
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from bench_world import REPO, BenchWorld, awsvpc, identity_support, pyplot, report, save_chart, wait_for
from fargate_devenv.ecs_emulator import REGION
from fargate_operator.web.auth import CREDENTIAL_LABEL

VEGETA = "github.com/tsenart/vegeta/v12"
VEGETA_VERSION = "v12.12.0"
TOOLS = Path(os.environ.get("FARGATE_BENCH_TOOLS") or Path.home() / ".cache" / "fargate-operator" / "tools")
TARGET = "AmazonEC2ContainerServiceV20141113"
P99_TARGET_MS = 20.0
WARM_UP_SECONDS = 2.0
READER_KEY, WRITER_KEY, SECRET_KEY = "BENCHREAD", "BENCHWRITE", "bench-secret"
READER_TOKEN, WRITER_TOKEN = "bench-read-token", "bench-write-token"
TASK_DEFINITION = {
    "family": "bench",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "256",
    "memory": "512",
    "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 256}],
}
READS: list[tuple[str, dict[str, Any]]] = [
    ("DescribeClusters", {"clusters": ["bench"]}),
    ("DescribeServices", {"cluster": "bench", "services": ["web"]}),
    ("DescribeTasks", {"cluster": "bench", "tasks": []}),  # filled in with the seeded task's ARN
    ("ListTasks", {"cluster": "bench"}),
    ("ListTaskDefinitions", {}),
    ("DescribeTaskDefinition", {"taskDefinition": "bench"}),
]
WRITES: list[tuple[str, dict[str, Any]]] = [("RegisterTaskDefinition", TASK_DEFINITION)]


def vegeta() -> Path:
    """The vegeta binary, built from the Go module proxy on first use (a cache outside the repo)."""
    binary = TOOLS / "vegeta"
    if not binary.exists():
        go = shutil.which("go")
        if go is None:
            raise SystemExit(f"vegeta is missing and there is no Go toolchain: go install {VEGETA}@{VEGETA_VERSION}")
        TOOLS.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "GOBIN": str(TOOLS)}
        subprocess.run([go, "install", f"{VEGETA}@{VEGETA_VERSION}"], check=True, env=env, cwd=tempfile.gettempdir())
    return binary


# -- what a caller sends ----------------------------------------------------------------------


def _headers(action: str) -> dict[str, str]:
    return {"X-Amz-Target": f"{TARGET}.{action}", "Content-Type": "application/x-amz-json-1.1"}


def _signed(endpoint: str, action: str, body: bytes, key: str, nonce: int) -> dict[str, str]:
    """SigV4 headers as an SDK computes them; `nonce` (a signed header) makes each signature fresh."""
    headers = {**_headers(action), "X-Bench-Nonce": str(nonce)}
    request = AWSRequest(method="POST", url=f"{endpoint}/", data=body, headers=headers)
    SigV4Auth(Credentials(key, SECRET_KEY), "ecs", REGION).add_auth(request)
    return dict(request.headers.items())


def targets(endpoint: str, kind: str, ops: str, count: int, tokens: dict[str, str]) -> list[dict[str, Any]]:
    """`count` vegeta targets (JSON format) for caller `kind` doing `ops` (reads or writes)."""
    calls = READS if ops == "reads" else WRITES
    key = READER_KEY if ops == "reads" else WRITER_KEY
    out = []
    for i in range(count):
        action, params = calls[i % len(calls)]
        body = json.dumps(params).encode()
        if kind == "sigv4":
            headers = _signed(endpoint, action, body, key, i)
        else:
            headers = {**_headers(action), "Authorization": f"Bearer {tokens[f'{kind}-{ops}']}"}
        out.append(
            {
                "method": "POST",
                "url": f"{endpoint}/",
                "body": base64.b64encode(body).decode(),
                "header": {k: [v] for k, v in headers.items()},
            }
        )
    return out


# -- measuring --------------------------------------------------------------------------------


def attack(endpoint: str, kind: str, ops: str, rate: int, seconds: float, tokens: dict[str, str]) -> dict[str, Any]:
    """One step of the ladder: vegeta at `rate`/s for `seconds`, kept-alive connections, open loop."""
    # A request may repeat, except a signed write: the adapter refuses a write's signature seen before.
    count = int(rate * seconds) + 10 if ops == "writes" and kind == "sigv4" else len(READS)
    with tempfile.TemporaryDirectory(prefix="vegeta-") as tmp:
        path = Path(tmp) / "targets.json"
        path.write_text("\n".join(json.dumps(t) for t in targets(endpoint, kind, ops, count, tokens)) + "\n")
        results = Path(tmp) / "results.bin"
        cmd = [
            str(vegeta()),
            "attack",
            "-format=json",
            f"-targets={path}",
            f"-rate={rate}/1s",
            f"-duration={seconds}s",
            "-timeout=10s",
            "-keepalive=true",
            "-workers=4",
            "-max-workers=64",
            f"-output={results}",
        ]
        subprocess.run(cmd, check=True, timeout=seconds + 60)
        answer = subprocess.run(
            [str(vegeta()), "report", "-type=json", str(results)], check=True, capture_output=True, text=True
        )
    r = json.loads(answer.stdout)
    ms = {q: round(r["latencies"][q] / 1e6, 2) for q in ("50th", "90th", "99th", "max")}
    return {
        "rate": rate,
        "requests": r["requests"],
        "throughput": round(r["throughput"], 1),
        "success": r["success"],
        "status_codes": r["status_codes"],
        "p50_ms": ms["50th"],
        "p90_ms": ms["90th"],
        "p99_ms": ms["99th"],
        "max_ms": ms["max"],
        "errors": sorted(set(r.get("errors") or []))[:5],
    }


def ladder(
    endpoint: str, kind: str, ops: str, rates: list[int], seconds: float, tokens: dict[str, str], up_to: int
) -> dict[str, Any]:
    """The rates in order, every one up to `up_to`, then until two steps in a row miss p99 <= 20 ms (one
    may be the shared machine's noise)."""
    attack(endpoint, kind, ops, rates[0], WARM_UP_SECONDS, tokens)  # connections, auth caches: not measured
    counts = cache_counts(endpoint)
    steps: list[dict[str, Any]] = []
    for rate in rates:
        step = attack(endpoint, kind, ops, rate, seconds, tokens)
        step["missed"] = step["p99_ms"] > P99_TARGET_MS or step["success"] < 1.0
        steps.append(step)
        print(f"  {kind} {ops} {rate}/s: p50 {step['p50_ms']} ms, p99 {step['p99_ms']} ms, success {step['success']}")
        if rate >= up_to and len(steps) >= 2 and steps[-1]["missed"] and steps[-2]["missed"]:
            break
    # The lowest rate from which every step measured missed the target (None: none did).
    passed_at = None
    for step in reversed(steps):
        if not step["missed"]:
            break
        passed_at = step["rate"]
    return {"steps": steps, "p99_passes_20ms_at": passed_at, "auth_caches": hit_rates(counts, cache_counts(endpoint))}


def sequential(endpoint: str, n: int, token: str) -> dict[str, Any]:
    """n DescribeClusters one after the other on one kept-alive connection: bearer (http.client) and boto3."""
    url = urlparse(endpoint)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10)
    body = json.dumps({"clusters": ["bench"]}).encode()
    headers = {**_headers("DescribeClusters"), "Authorization": f"Bearer {token}"}

    def bearer() -> None:
        conn.request("POST", "/", body, headers)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200, resp.status

    client = boto3.client(
        "ecs",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=READER_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"max_attempts": 1}, max_pool_connections=1),
    )
    out = {}
    for name, call in (("bearer", bearer), ("boto3", lambda: client.describe_clusters(clusters=["bench"]))):
        call()  # the connection is open and kept from here
        latencies = []
        started = time.perf_counter()
        for _ in range(n):
            t0 = time.perf_counter()
            call()
            latencies.append((time.perf_counter() - t0) * 1000)
        total = time.perf_counter() - started
        latencies.sort()
        out[name] = {
            "requests": n,
            "total_s": round(total, 3),
            "p50_ms": round(latencies[n // 2], 2),
            "p99_ms": round(latencies[min(n - 1, int(n * 0.99))], 2),
        }
    conn.close()
    return out


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


# -- the world --------------------------------------------------------------------------------


def _secret(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "labels": {CREDENTIAL_LABEL: "true"}},
        "stringData": data,
    }


def prepare(bw: BenchWorld) -> dict[str, str]:
    """Callers (a read-only and a full-access ServiceAccount, each with a key Secret and a Kubernetes token)."""
    identity_support.install_roles(bw.cp)
    reader = identity_support.service_account(bw.cp, bw.namespace, "reader", identity_support.READ_ONLY)
    writer = identity_support.service_account(bw.cp, bw.namespace, "writer", identity_support.FULL)
    common = {"secretAccessKey": SECRET_KEY, "namespace": bw.namespace}
    secrets = [
        _secret("bench-read", {**common, "accessKeyId": READER_KEY, "token": READER_TOKEN, "user": reader}),
        _secret("bench-write", {**common, "accessKeyId": WRITER_KEY, "token": WRITER_TOKEN, "user": writer}),
    ]
    bw.cp.kubectl("apply", "-n", bw.namespace, "-f", "-", input=yaml.safe_dump_all(secrets))
    return {
        "bearer-reads": READER_TOKEN,
        "bearer-writes": WRITER_TOKEN,
        "kubernetes-reads": identity_support.token(bw.cp, bw.namespace, "reader"),
        "kubernetes-writes": identity_support.token(bw.cp, bw.namespace, "writer"),
    }


def runtask_added(bw: BenchWorld, endpoint: str, runs: int) -> dict[str, float]:
    """p50 of `runs` RunTask calls through the adapter and the same calls made straight to the emulator."""
    network = bw.world.ecs.create_network()
    net = awsvpc(network.subnet_id, network.security_group_id)
    config = Config(retries={"max_attempts": 1})
    adapter = boto3.client(
        "ecs",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=WRITER_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=config,
    )
    direct = boto3.client(
        "ecs",
        endpoint_url=bw.world.ecs.endpoint,
        region_name=REGION,
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=config,
    )
    td_arn = direct.describe_task_definition(taskDefinition="bench")["taskDefinition"]["taskDefinitionArn"]
    via_adapter, via_ecs = [], []
    for _ in range(runs):
        started = time.perf_counter()
        adapter.run_task(cluster="bench", taskDefinition="bench", launchType="FARGATE", networkConfiguration=net)
        via_adapter.append(time.perf_counter() - started)
        started = time.perf_counter()
        direct.run_task(cluster="bench", taskDefinition=td_arn, launchType="FARGATE", networkConfiguration=net)
        via_ecs.append(time.perf_counter() - started)
    adapter_ms, direct_ms = statistics.median(via_adapter) * 1000, statistics.median(via_ecs) * 1000
    return {
        "adapter_p50_ms": round(adapter_ms, 1),
        "direct_p50_ms": round(direct_ms, 1),
        "added_p50_ms": round(adapter_ms - direct_ms, 1),
    }


def seed(bw: BenchWorld, endpoint: str) -> None:
    ecs = boto3.client(
        "ecs",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=WRITER_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"max_attempts": 1}),
    )
    wait_for("adapter", lambda: ecs.describe_clusters() is not None, timeout=60)
    network = bw.world.ecs.create_network()
    net = awsvpc(network.subnet_id, network.security_group_id)
    ecs.create_cluster(clusterName="bench")
    ecs.register_task_definition(**TASK_DEFINITION)
    ecs.create_service(
        cluster="bench", serviceName="web", taskDefinition="bench", desiredCount=1, networkConfiguration=net
    )
    task = ecs.run_task(cluster="bench", taskDefinition="bench", launchType="FARGATE", networkConfiguration=net)
    READS[2] = ("DescribeTasks", {"cluster": "bench", "tasks": [task["tasks"][0]["taskArn"]]})


@contextmanager
def operator_source(ref: str) -> Iterator[None]:
    """Run the operators started meanwhile from git ref `ref`'s code (PYTHONPATH), or this tree's ("")."""
    if not ref:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="bench-src-") as tmp:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "operator"], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        before = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = str(Path(tmp) / "operator")
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = before


def measure(bw: BenchWorld, ref: str, args: argparse.Namespace, tokens: dict[str, str], seeded: bool) -> dict[str, Any]:
    with operator_source(ref):
        op = bw.start_operator().wait_ready()
    try:
        if not seeded:
            seed(bw, op.rest_endpoint)
        wait_for("the adapter answers", lambda: _answers(op.rest_endpoint, tokens["bearer-reads"]), timeout=60)
        result: dict[str, Any] = {
            "code": ref or "this tree",
            "sequential": sequential(op.rest_endpoint, args.sequential, tokens["bearer-reads"]),
        }
        print(f"{result['code']}: sequential on one connection {result['sequential']}")
        result["ladders"] = {
            f"{kind} {ops}": ladder(
                op.rest_endpoint, kind, ops, args.rates, args.step_seconds, tokens, args.always_up_to
            )
            for kind in args.kinds
            for ops in args.ops
        }
        if args.runs and not ref:  # this tree only, last: its tasks would lengthen a later ListTasks
            result["runtask"] = runtask_added(bw, op.rest_endpoint, args.runs)
        return result
    finally:
        op.stop()
        bw.operator = None


def _answers(endpoint: str, token: str) -> bool:
    url = urlparse(endpoint)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=5)
    try:
        conn.request(
            "POST",
            "/",
            json.dumps(READS[2][1]).encode(),
            {**_headers("DescribeTasks"), "Authorization": f"Bearer {token}"},
        )
        resp = conn.getresponse()
        return resp.status == 200 and bool(json.loads(resp.read()).get("tasks"))
    except OSError:
        return False
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="main", help='git ref measured first ("" to measure this tree only)')
    parser.add_argument("--rates", default="10,25,50,100,200,400,800", help="requests per second, the ladder's steps")
    parser.add_argument("--step-seconds", type=float, default=8.0)
    parser.add_argument("--always-up-to", type=int, default=100, help="rates measured whatever their p99")
    parser.add_argument("--runs", type=int, default=20, help="RunTask calls through the adapter and direct")
    parser.add_argument("--kinds", default="bearer,kubernetes,sigv4")
    parser.add_argument("--ops", default="reads,writes")
    parser.add_argument("--sequential", type=int, default=200, help="requests one after the other on one connection")
    args = parser.parse_args()
    args.rates = [int(r) for r in args.rates.split(",")]
    args.kinds, args.ops = args.kinds.split(","), args.ops.split(",")
    vegeta()  # built before anything starts

    with BenchWorld.start(extra_args=("--credentials-namespace", "bench")) as bw:
        tokens = prepare(bw)
        runs = []
        for i, ref in enumerate(([args.before] if args.before else []) + [""]):
            runs.append(measure(bw, ref, args, tokens, seeded=i > 0))

    result = {
        "rates": args.rates,
        "step_seconds": args.step_seconds,
        "p99_target_ms": P99_TARGET_MS,
        "load_generator": f"vegeta {VEGETA_VERSION}, kept-alive connections",
        "runs": runs,
    }
    rows: list[tuple[str, Any, str]] = []
    for run in runs:
        code = run["code"]
        for client, s in run["sequential"].items():
            rows.append(
                (
                    f"{code}: {client}, {s['requests']} sequential on one connection, p50 / p99 ms",
                    f"{s['p50_ms']} / {s['p99_ms']}",
                    "well under 40",
                )
            )
        for name, lad in run["ladders"].items():
            for step in lad["steps"]:
                rows.append(
                    (
                        f"{code}: {name} at {step['rate']}/s, p50 / p99 ms",
                        f"{step['p50_ms']} / {step['p99_ms']}",
                        "p99 <= 20",
                    )
                )
            rows += [
                (
                    f"{code}: {name}, {cache} cache hit rate ({c['api_calls']} calls / {c['lookups']} lookups)",
                    c["hit_rate"],
                    "",
                )
                for cache, c in lad["auth_caches"].items()
            ]
            passed = lad["p99_passes_20ms_at"]
            rows.append(
                (f"{code}: {name}, p99 passes 20 ms at", f"{passed}/s" if passed else f"> {args.rates[-1]}/s", "")
            )
        if "runtask" in run:
            rows.append((f"{code}: RunTask p50 added by the adapter, ms", run["runtask"]["added_p50_ms"], ""))
    _chart(result)
    report("rest_adapter", result, rows)
    return 0


def _chart(result: dict[str, Any]) -> None:
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=110, sharex=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for run in result["runs"]:
        style = "-" if run["code"] == "this tree" else "--"
        for i, (name, lad) in enumerate(run["ladders"].items()):
            steps = lad["steps"]
            for ax, q in ((left, "p50_ms"), (right, "p99_ms")):
                ax.plot(
                    [s["rate"] for s in steps],
                    [s[q] for s in steps],
                    style,
                    color=colors[i % len(colors)],
                    marker="o",
                    markersize=3,
                    label=f"{run['code']}: {name}",
                )
    for ax, what in ((left, "p50"), (right, "p99")):
        ax.axhline(P99_TARGET_MS, color="tab:red", alpha=0.5, linestyle=":")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("offered requests/s (vegeta, kept-alive connections)")
        ax.set_ylabel(f"{what} latency (ms, log)")
    left.grid(alpha=0.3)
    left.set_title("p50: dashed = before (main), solid = this tree", fontsize=9)
    right.set_title("p99 (20 ms dotted); a shared, busy 2-core machine", fontsize=9)
    save_chart(fig, right, "rest_adapter", "upper left", 5)


if __name__ == "__main__":
    raise SystemExit(main())
