"""Create N FargateTasks at once and measure what it takes until every one shows Running.

    .venv/bin/python bench/create_to_running.py [--count 200] [--status-interval 1]

Starts its own world (kube-apiserver + etcd, moto behind a counting proxy, the
operator as a process), all on loopback. Reports: wall time and rate to Running,
ECS calls per object (by action, from the proxy), Kubernetes writes per object
(from kube-apiserver's own request metrics, the benchmark's creates excluded).
Prints a table and writes bench/results/create_to_running.json.
"""

from __future__ import annotations

import argparse
import json
import re
import ssl
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from operator_support import OperatorProcess, awsvpc, manifest, task_definition_spec  # noqa: E402

from fargate_operator.devenv.control_plane import ControlPlane  # noqa: E402
from fargate_operator.devenv.ecs_proxy import EcsProxy  # noqa: E402
from fargate_operator.devenv.world import World  # noqa: E402

METRIC = re.compile(r'^apiserver_request_total\{([^}]*)\} (\d+(?:\.\d+)?)$')


def apiserver_writes(cp: ControlPlane) -> Counter[str]:
    """kube-apiserver's own count of write requests, by resource/subresource and verb."""
    assert cp.workdir is not None
    ctx = ssl.create_default_context(cafile=str(cp.workdir / "pki" / "ca.crt"))
    req = urllib.request.Request(f"{cp.url}/metrics", headers={"Authorization": f"Bearer {cp.admin_token}"})
    with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
        text = resp.read().decode()
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        m = METRIC.match(line)
        if not m:
            continue
        labels = dict(kv.split("=", 1) for kv in re.findall(r'\w+="[^"]*"', m.group(1)))
        labels = {k: v.strip('"') for k, v in labels.items()}
        if labels.get("verb") in ("POST", "PATCH", "PUT", "DELETE", "APPLY"):
            resource = labels.get("resource", "") + (f"/{labels['subresource']}" if labels.get("subresource") else "")
            counts[f"{labels['verb']} {resource}"] += int(float(m.group(2)))
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--status-interval", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "create_to_running.json")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-ctr-"))
    world = World.start(REPO / "crds", workdir=workdir / "world")
    proxy = EcsProxy(world.ecs.endpoint).start()
    op = None
    try:
        cp = world.control_plane
        network = world.ecs.create_network()
        world.ecs.set_task_transition({"progression": "time", "seconds": 3600})  # tasks stay RUNNING
        ns = "bench"
        cp.kubectl("create", "namespace", ns)
        op = OperatorProcess(cp, proxy.endpoint, ns, workdir / "operator.log", args.status_interval).start()
        setup = [
            manifest("FargateCluster", "bench", {"clusterName": "bench"}),
            manifest("FargateTaskDefinition", "job", task_definition_spec("bench-job")),
        ]
        cp.kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump_all(setup))
        _wait(cp, ns, "fargatetaskdefinition", "job", ".status.taskDefinitionArn", 60)
        _wait(cp, ns, "fargatecluster", "bench", ".status.clusterArn", 60)

        spec = {
            "clusterRef": {"name": "bench"},
            "taskDefinitionRef": {"name": "job"},
            "launchType": "FARGATE",
            "networkConfiguration": awsvpc(network.subnet_id, network.security_group_id),
        }
        docs = [manifest("FargateTask", f"t-{i:05d}", spec) for i in range(args.count)]
        proxy.reset()
        writes_before = apiserver_writes(cp)
        started = time.monotonic()
        cp.kubectl("create", "-n", ns, "-f", "-", input=yaml.safe_dump_all(docs))
        created = time.monotonic()
        running = 0
        while time.monotonic() - started < 600:
            out = cp.kubectl("get", "fargatetasks", "-n", ns, "-o", "jsonpath={.items[*].status.phase}").stdout
            running = out.split().count("Running")
            if running >= args.count:
                break
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        time.sleep(args.status_interval * 2)  # let trailing status writes land before counting
        ecs_calls = proxy.reset()
        writes = apiserver_writes(cp) - writes_before
        writes[f"POST {'fargatetasks'}"] -= args.count  # the benchmark's own creates
        writes = +writes
    finally:
        if op:
            op.stop()
        proxy.stop()
        world.stop()

    n = args.count
    result = {
        "count": n,
        "all_running": running >= n,
        "seconds_to_all_running": round(elapsed, 2),
        "kubectl_create_seconds": round(created - started, 2),
        "resources_per_second": round(n / elapsed, 1),
        "ecs_calls_per_resource": round(sum(ecs_calls.values()) / n, 3),
        "ecs_calls": dict(ecs_calls),
        "k8s_writes_per_resource": round(sum(writes.values()) / n, 3),
        "k8s_writes": dict(writes),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'metric':<34} {'value':>12}")
    for key in ("count", "seconds_to_all_running", "resources_per_second", "ecs_calls_per_resource", "k8s_writes_per_resource"):
        print(f"{key:<34} {result[key]!s:>12}")
    print("ECS calls:", dict(ecs_calls))
    print("Kubernetes writes:", dict(writes))
    print(f"wrote {args.out}")
    return 0 if result["all_running"] else 1


def _wait(cp: ControlPlane, ns: str, kind: str, name: str, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cp.kubectl("get", kind, name, "-n", ns, "-o", f"jsonpath={{{path}}}", check=False).stdout.strip():
            return
        time.sleep(0.3)
    raise TimeoutError(f"{kind}/{name} has no {path}")


if __name__ == "__main__":
    raise SystemExit(main())
