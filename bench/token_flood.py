"""Valid callers' latency while a client floods the adapter with made-up bearer tokens.

    .venv/bin/python bench/token_flood.py [--rate 50] [--seconds 15] [--flood 3000] [--flood-threads 16]

Starts its own world on loopback (kube-apiserver + etcd, moto, the operator with its adapter).
Valid callers: `--callers` ServiceAccounts with the chart's read-only role, each with a
Kubernetes token (TokenRequest, audience fargate-operator), reading DescribeClusters through the
REST adapter from 127.0.0.1 at `--rate` reads a second in all (open loop: latency counts from
each request's scheduled send time). Two phases of `--seconds` each:
- `quiet`: the valid reads alone;
- `flood`: the same reads while one client (127.0.0.2, also loopback; the target stays 127.0.0.1)
  sends up to `--flood` distinct random JWT-shaped tokens from `--flood-threads` keep-alive
  connections, as fast as they are answered, for at most the phase's length.
Reports the valid reads' p50/p99 and errors per phase, the flood's answers (403 reviewed and
refused, 429 over the bounds), the TokenReviews the operator asked and its token cache hits
(from its /metrics). Prints a table and writes bench/results/token_flood.json.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import secrets
import threading
import time
import urllib.request
import uuid
from collections import Counter
from typing import Any

from bench_world import BenchWorld, identity_support, report

TARGET = "AmazonEC2ContainerServiceV20141113.DescribeClusters"
FLOODER = "127.0.0.2"


def made_up_token() -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    claims = {"iss": "https://kubernetes.default.svc", "sub": f"system:serviceaccount:x:{uuid.uuid4().hex}"}
    header = part(json.dumps({"alg": "RS256", "kid": "made-up"}).encode())
    return f"{header}.{part(json.dumps(claims).encode())}.{part(secrets.token_bytes(256))}"


class Client:
    """One keep-alive connection to the adapter, from `source`."""

    def __init__(self, port: int, source: str = "127.0.0.1") -> None:
        self.port, self.source = port, source
        self.conn: http.client.HTTPConnection | None = None

    def describe(self, token: str) -> tuple[int, str]:
        body = json.dumps({"clusters": ["none-here"]})
        headers = {
            "X-Amz-Target": TARGET,
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": f"Bearer {token}",
        }
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=30, source_address=(self.source, 0)
                )
            try:
                self.conn.request("POST", "/", body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                code = json.loads(data).get("__type", "") if response.status != 200 and data else ""
                return response.status, str(code)
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    return 0, "connection"
        return 0, "connection"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def token_cache(endpoint: str) -> Counter[str]:
    with urllib.request.urlopen(f"{endpoint}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        if line.startswith('fargate_operator_auth_cache_total{cache="tokenreview"'):
            labels, value = line.rsplit(" ", 1)
            counts[labels.split('outcome="')[1].split('"')[0]] = int(float(value))
        elif line.startswith("fargate_operator_token_reviews_refused_total{"):
            labels, value = line.rsplit(" ", 1)
            counts["refused_" + labels.split('bound="')[1].split('"')[0]] = int(float(value))
    return counts


def valid_reads(port: int, tokens: list[str], rate: float, seconds: float) -> dict[str, Any]:
    """Open-loop reads at `rate`/s spread over one thread per token; latency from the scheduled time."""
    latencies: list[float] = []
    answers: Counter[str] = Counter()
    lock = threading.Lock()
    start = time.monotonic() + 0.2
    per_thread = rate / len(tokens)

    def run(index: int, token: str) -> None:
        client = Client(port)
        n = 0
        while True:
            due = start + (n + index / len(tokens)) / per_thread
            if due > start + seconds:
                return
            time.sleep(max(0.0, due - time.monotonic()))
            status, code = client.describe(token)
            took = time.monotonic() - due
            with lock:
                latencies.append(took)
                answers[str(status) if status == 200 else f"{status} {code}"] += 1
            n += 1

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "reads": len(latencies),
        "answers": dict(answers),
        "p50_ms": round(pct(latencies, 0.5) * 1000, 1),
        "p99_ms": round(pct(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies, default=0) * 1000, 1),
    }


def flood(port: int, count: int, threads: int, seconds: float, stop: threading.Event) -> dict[str, Any]:
    answers: Counter[str] = Counter()
    lock = threading.Lock()
    remaining = [count]
    deadline = time.monotonic() + seconds
    started = time.monotonic()

    def run() -> None:
        client = Client(port, FLOODER)
        while not stop.is_set() and time.monotonic() < deadline:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            status, code = client.describe(made_up_token())
            with lock:
                answers[f"{status} {code}"] += 1

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    sent = sum(answers.values())
    elapsed = time.monotonic() - started
    return {
        "sent": sent,
        "seconds": round(elapsed, 1),
        "per_second": round(sent / elapsed, 1),
        "answers": dict(answers),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50.0, help="valid reads a second, in all")
    parser.add_argument("--callers", type=int, default=4, help="valid callers (ServiceAccount tokens)")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each phase")
    parser.add_argument("--flood", type=int, default=3000, help="made-up tokens sent at most")
    parser.add_argument("--flood-threads", type=int, default=16)
    args = parser.parse_args()

    with BenchWorld.start() as bw:
        op = bw.start_operator()
        op.wait_ready(120)
        identity_support.install_roles(bw.cp)
        tokens = []
        for i in range(args.callers):
            identity_support.service_account(bw.cp, bw.namespace, f"reader-{i}", identity_support.READ_ONLY)
            tokens.append(identity_support.token(bw.cp, bw.namespace, f"reader-{i}"))
        warm = Client(op.rest_port)
        assert all(warm.describe(t)[0] == 200 for t in tokens), "valid callers are let in"

        phases: dict[str, Any] = {}
        for phase in ("quiet", "flood"):
            before = token_cache(op.rest_endpoint)
            stop = threading.Event()
            flooding: dict[str, Any] = {}
            flooder = None
            if phase == "flood":

                def run_flood(out: dict[str, Any] = flooding, done: threading.Event = stop) -> None:
                    out.update(flood(op.rest_port, args.flood, args.flood_threads, args.seconds, done))

                flooder = threading.Thread(target=run_flood)
                flooder.start()
            reads = valid_reads(op.rest_port, tokens, args.rate, args.seconds)
            stop.set()
            if flooder is not None:
                flooder.join()
            after = token_cache(op.rest_endpoint)
            phases[phase] = {
                "valid": reads,
                "flood": flooding,
                # A miss over a bound is refused, not reviewed.
                "token_reviews": after["miss"]
                - before["miss"]
                - sum(after[k] - before[k] for k in after if k.startswith("refused_")),
                "token_cache_hits": after["hit"] - before["hit"],
                "refused": {k[8:]: after[k] - before[k] for k in after if k.startswith("refused_")},
            }

    quiet, flooded = phases["quiet"], phases["flood"]
    result = {"args": vars(args), "phases": phases}
    rows = [
        ("valid reads quiet p50 / p99 (ms)", f"{quiet['valid']['p50_ms']} / {quiet['valid']['p99_ms']}", ""),
        ("valid reads flood p50 / p99 (ms)", f"{flooded['valid']['p50_ms']} / {flooded['valid']['p99_ms']}", ""),
        ("valid reads quiet / flood", f"{quiet['valid']['reads']} / {flooded['valid']['reads']}", ""),
        ("valid answers under flood", json.dumps(flooded["valid"]["answers"]), "all 200"),
        ("flood sent (per s)", f"{flooded['flood']['sent']} ({flooded['flood']['per_second']})", ""),
        ("flood answers", json.dumps(flooded["flood"]["answers"]), "403 or 429, no 5xx"),
        ("TokenReviews asked under flood", flooded["token_reviews"], "burst 40 + 10/s"),
        ("token cache hits under flood", flooded["token_cache_hits"], ">= valid reads"),
    ]
    report("token_flood", result, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
