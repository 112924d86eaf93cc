"""Status kept fresh by polling vs by ECS's events: ECS reads/s, freshness, drift latency, operator RSS.

    .venv/bin/python bench/event_status.py [--services 10000] [--window 120] [--samples 20]
        [--resync-interval 300] [--modes polling,events]

One world (kube-apiserver + etcd, the ECS emulator with --cloudtrail-events behind the counting
proxy, the operator as a process; all on loopback). The fleet: one FargateCluster, `--services`
FargateTaskDefinitions and FargateServices (one each, `--desired` tasks each: 20,000 tasks for
10,000 services), and 2 x `--samples` FargateTasks to stop. Built through the operator's own create
path (kubectl create in bulk, the operator makes every ECS call): the emulator takes ~76 creates/s
(bench/emulator_capacity.py), the operator's create path is the slower of the two, and going
around it would measure a fleet the operator never made.

Then, for each mode (`--modes`, in order; the operator is restarted between them):
- polling: FARGATE_OPERATOR_STATUS_INTERVAL (5 s), no queue -- today's loop;
- events: an EventBridge rule (source aws.ecs: task, service, deployment and CloudTrail events) and
  an SQS queue on the emulator; the operator gets FARGATE_OPERATOR_EVENTS_QUEUE_URL,
  FARGATE_OPERATOR_RESYNC_INTERVAL and AWS_ENDPOINT_URL_SQS (interfaces.md, issue 29).
and measures, once every live object's status.freshness names the mode and `--settle` seconds later:
- ECS reads/s in steady state over `--window` seconds (in events mode a whole number of resync
  intervals, at least one: any window of exactly k intervals holds k resyncs), counted by the proxy
  by operation, with a timeline of 10 s buckets; Kubernetes writes in the same window;
- operator RSS (highest of 10 s of samples), per 1,000 Kubernetes objects, and its CPU in the window;
- freshness, `--samples` each: a task stopped out of band (StopTask on the emulator) until the
  FargateTask shows STOPPED, from ECS's stoppedAt; a service scaled by one through the operator until
  its status shows the new runningCount, from the SERVICE_STEADY_STATE event's createdAt (read from
  a queue of the bench's own); a console-style UpdateService (desiredCount, on the emulator, with
  CloudTrail events routed) until Drifted=True, from the call. p50 / p95 / max; missed = not seen
  within `--sample-timeout`;
- which mode the probes' status.freshness names (the operator's own word).

Prints a table, writes bench/results/event_status.json.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import Any

import kubernetes
import psutil

import status_probes as probes
from bench_world import (
    BenchWorld,
    OperatorProcess,
    Sampler,
    apiserver_writes,
    awsvpc,
    manifest,
    operator_writes,
    report,
    steady_rss,
    task_definition_spec,
)
from support.event_queue import EventQueue

CLUSTER = "bench"
READS = ("Describe", "List")
BUCKET = 10.0
# What the operator's queue gets: everything ECS says, and the API calls CloudTrail records.
OPERATOR_PATTERN = {"source": ["aws.ecs"]}
STEADY_PATTERN = {"source": ["aws.ecs"], "detail-type": ["ECS Service Action"]}


def _probe(doc: dict[str, Any]) -> dict[str, Any]:
    doc["metadata"]["labels"] = {probes.PROBE_LABEL: "true"}
    return doc


def fleet(args: argparse.Namespace, network: Any) -> tuple[list[dict[str, Any]], dict[str, dict[str, list[str]]]]:
    """The manifests, and per mode the names of the objects its samples use (labelled probes)."""
    n, s = args.services, args.samples
    modes = args.modes.split(",")
    if len(modes) * 2 * s > n:
        raise SystemExit(f"--services {n} is fewer than the {len(modes) * 2 * s} probe services --samples needs")
    net = awsvpc(network.subnet_id, network.security_group_id)
    docs = [manifest("FargateTaskDefinition", "probe-job", task_definition_spec("bench-probe-job"))]
    plan: dict[str, dict[str, list[str]]] = {}
    for m, mode in enumerate(modes):
        base = m * 2 * s
        plan[mode] = {
            "tasks": [f"task-{m}-{i}" for i in range(s)],
            "steady": [f"svc-{i}" for i in range(base, base + s)],
            "drift": [f"svc-{i}" for i in range(base + s, base + 2 * s)],
        }
    probe_services = {name for p in plan.values() for name in p["steady"] + p["drift"]}
    drift_services = {name for p in plan.values() for name in p["drift"]}
    for i in range(n):
        docs.append(manifest("FargateTaskDefinition", f"td-{i}", task_definition_spec(f"bench-td-{i}")))
        spec = {
            "serviceName": f"svc-{i}",
            "clusterRef": {"name": CLUSTER},
            "taskDefinitionRef": {"name": f"td-{i}"},
            "desiredCount": args.desired,
            "launchType": "FARGATE",
            "networkConfiguration": net,
        }
        if f"svc-{i}" in drift_services:
            spec["driftPolicy"] = "Report"  # Drifted stays True: the sample is not raced by the correction
        doc = manifest("FargateService", f"svc-{i}", spec)
        docs.append(_probe(doc) if doc["metadata"]["name"] in probe_services else doc)
    for p in plan.values():
        for name in p["tasks"]:
            spec = {
                "clusterRef": {"name": CLUSTER},
                "taskDefinitionRef": {"name": "probe-job"},
                "launchType": "FARGATE",
                "networkConfiguration": net,
            }
            docs.append(_probe(manifest("FargateTask", name, spec)))
    return docs, plan


def _count(bw: BenchWorld, plural: str, path: str, wanted: str) -> int:
    out = bw.cp.kubectl(
        "get", plural, "-n", bw.namespace, "-o", f"jsonpath={{range .items[*]}}{{{path}}}{{'\\n'}}{{end}}", check=False
    ).stdout
    return sum(1 for line in out.splitlines() if line.strip() == wanted)


READY = '.status.conditions[?(@.type=="Ready")].status'


def wait_converged(bw: BenchWorld, n: int, tasks: int, timeout: float) -> dict[str, int]:
    """Until every task definition and service is Ready and every FargateTask RUNNING; the counts seen."""
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    while True:
        counts = {
            "fargatetaskdefinitions": _count(bw, "fargatetaskdefinitions", READY, "True"),
            "fargateservices": _count(bw, "fargateservices", READY, "True"),
            "fargatetasks": _count(bw, "fargatetasks", ".status.lastStatus", "RUNNING"),
        }
        print(f"  {time.monotonic() - started:6.0f}s converged: {counts}", flush=True)
        done = counts["fargatetaskdefinitions"] >= n + 1 and counts["fargateservices"] >= n
        if (done and counts["fargatetasks"] >= tasks) or time.monotonic() > deadline:
            return counts
        time.sleep(5 if n <= 1000 else 15)


def start_operator(bw: BenchWorld, env: dict[str, str]) -> OperatorProcess:
    bw.operator_starts += 1
    log = bw.workdir / f"operator-{bw.operator_starts}.log"
    op = OperatorProcess(bw.cp, bw.proxy.endpoint, bw.namespace, log, bw.status_interval, env=env)
    bw.operator = op.start()
    op.wait_ready(timeout=600)
    return op


def measure_window(bw: BenchWorld, op: OperatorProcess, seconds: float) -> dict[str, Any]:
    """ECS calls (by operation, and reads per 10 s bucket), Kubernetes writes, operator CPU, status cycles."""
    assert op.proc is not None
    proc = psutil.Process(op.proc.pid)
    writes_before = apiserver_writes(bw.cp)
    cycles_before = op.metric("fargate_operator_status_cycles_total")
    cpu_before = sum(proc.cpu_times()[:2])
    bw.proxy.reset()
    total: Counter[str] = Counter()
    timeline: list[int] = []
    start = time.monotonic()
    while (left := seconds - (time.monotonic() - start)) > 0:
        time.sleep(min(BUCKET, left))
        calls = bw.proxy.reset()
        total.update(calls)
        timeline.append(sum(v for k, v in calls.items() if k.startswith(READS)))
    elapsed = time.monotonic() - start
    cpu = sum(proc.cpu_times()[:2]) - cpu_before
    writes = operator_writes(apiserver_writes(bw.cp) - writes_before)
    reads = sum(v for k, v in total.items() if k.startswith(READS))
    return {
        "seconds": round(elapsed, 1),
        "ecs_calls": dict(sorted(total.items())),
        "ecs_reads": reads,
        "ecs_reads_per_s": round(reads / elapsed, 3),
        "ecs_writes": sum(v for k, v in total.items() if not k.startswith(READS) and not k.startswith("sts:")),
        "reads_per_bucket": timeline,
        "bucket_s": BUCKET,
        "k8s_writes": dict(writes),
        "status_cycles": op.metric("fargate_operator_status_cycles_total") - cycles_before,
        "operator_cpu_percent": round(100 * cpu / elapsed, 1),
    }


FRESHNESS_PLURALS = ("fargateclusters", "fargateservices", "fargatetasks")
FINISHED = ("Succeeded", "Failed", "Stopped")  # a finished FargateTask is described no more: its word stays


def wait_freshness(api: Any, namespace: str, word: str, timeout: float) -> float:
    """Seconds until every live cluster, service and task says `word` in status.freshness."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        behind = [
            o
            for plural in FRESHNESS_PLURALS
            for o in api.list_namespaced_custom_object("ecs.fargate.dev", "v1alpha1", namespace, plural)["items"]
            if (o.get("status") or {}).get("phase") not in FINISHED and (o.get("status") or {}).get("freshness") != word
        ]
        if not behind:
            return time.monotonic() - started
        time.sleep(2)
    raise TimeoutError(f"status.freshness is not {word} on every object after {timeout:.0f} s")


def run_mode(
    bw: BenchWorld, args: argparse.Namespace, mode: str, names: dict[str, list[str]], objects: int
) -> dict[str, Any]:
    emulator = bw.world.ecs
    env: dict[str, str] = {}
    window = args.window
    if mode == "events":
        url = probes.event_queue(emulator.client("events"), emulator.client("sqs"), OPERATOR_PATTERN, "operator")
        env = {
            "FARGATE_OPERATOR_EVENTS_QUEUE_URL": url,
            "FARGATE_OPERATOR_RESYNC_INTERVAL": str(args.resync_interval),
            "AWS_ENDPOINT_URL_SQS": emulator.endpoint,
        }
        window = max(1, round(args.window / args.resync_interval)) * args.resync_interval
    if bw.operator is not None:
        bw.operator.stop()
    print(f"{mode}: starting the operator", flush=True)
    started = time.monotonic()
    op = start_operator(bw, env)
    ready_s = round(time.monotonic() - started, 1)
    cfg = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=str(bw.cp.kubeconfig), client_configuration=cfg)
    api = kubernetes.client.CustomObjectsApi(kubernetes.client.ApiClient(cfg))
    # The new mode is written onto every object's status.freshness once (Polling -> Events): at 1,000
    # services that takes longer than any fixed settle, and counted in the window it looked like the
    # resync rewriting every status.
    flipped_s = wait_freshness(api, bw.namespace, "Events" if mode == "events" else "Polling", args.timeout)
    print(f"{mode}: status.freshness written on every object after {flipped_s:.0f} s", flush=True)
    time.sleep(args.settle)
    print(f"{mode}: measuring {window:.0f} s of steady state", flush=True)
    steady = measure_window(bw, op, window)
    assert op.proc is not None
    sampler = Sampler(lambda: {"operator": op.proc.pid if op.proc else 0})
    rss = steady_rss(sampler)

    tasks = probes.ProbeWatch(api, bw.namespace, "fargatetasks").start()
    services = probes.ProbeWatch(api, bw.namespace, "fargateservices").start()
    tasks.wait_listed(names["tasks"])
    services.wait_listed(names["steady"] + names["drift"])
    ecs = emulator.client()  # out of band: straight to the emulator, not through the counting proxy
    queue = EventQueue.create(emulator.client("events"), emulator.client("sqs"), STEADY_PATTERN)
    spacing, timeout = args.status_interval / 5, args.sample_timeout
    print(f"{mode}: sampling", flush=True)
    stops = probes.task_stops(ecs, tasks, CLUSTER, names["tasks"], spacing, timeout)
    steadies = probes.steady_states(api, bw.namespace, queue, services, names["steady"], spacing, timeout)
    drifts = probes.drifts(ecs, services, CLUSTER, names["drift"], spacing, timeout)
    mine = [tasks.last[n] for n in names["tasks"]] + [services.last[n] for n in names["steady"] + names["drift"]]
    freshness = Counter(str(s.get("freshness")) for s in mine)  # this mode's probes: the operator's own word
    tasks.stop()
    services.stop()
    return {
        "operator_ready_s": ready_s,
        "window_s": window,
        "steady": steady,
        "operator_rss_mib": rss,
        "operator_rss_mib_per_1000_objects": round(rss / (objects / 1000), 2),
        "task_stopped": probes.summary(stops),
        "service_steady": probes.summary(steadies),
        "drift": probes.summary(drifts),
        "probe_freshness": dict(freshness),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10000)
    parser.add_argument("--desired", type=int, default=2, help="desiredCount of each service")
    parser.add_argument("--samples", type=int, default=20, help="freshness samples of each kind, per mode")
    parser.add_argument("--window", type=float, default=120, help="seconds of steady state counted")
    parser.add_argument("--resync-interval", type=float, default=300, help="FARGATE_OPERATOR_RESYNC_INTERVAL")
    parser.add_argument("--status-interval", type=float, default=5.0)
    parser.add_argument("--settle", type=float, default=30, help="seconds after the operator is ready")
    parser.add_argument("--sample-timeout", type=float, default=120)
    parser.add_argument("--modes", default="polling,events")
    parser.add_argument("--parallel", type=int, default=4, help="kubectl processes creating the fleet")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds for the fleet to converge")
    args = parser.parse_args()
    n = args.services

    with BenchWorld.start(status_interval=args.status_interval, cloudtrail_events=True) as bw:
        network = bw.world.ecs.create_network()
        docs, plan = fleet(args, network)
        tasks = sum(len(p["tasks"]) for p in plan.values())
        bw.cp.kubectl(
            "create",
            "-n",
            bw.namespace,
            "-f",
            "-",
            input=_yaml([manifest("FargateCluster", CLUSTER, {"clusterName": CLUSTER})]),
        )
        start_operator(bw, {})
        bw.wait_field("fargatecluster", CLUSTER, ".status.clusterArn")
        started = time.monotonic()
        print(f"creating {len(docs)} objects", flush=True)
        bw.create(docs, parallel=args.parallel)
        created_s = round(time.monotonic() - started, 1)
        counts = wait_converged(bw, n, tasks, args.timeout)
        converged_s = round(time.monotonic() - started, 1)
        if counts["fargateservices"] < n or counts["fargatetaskdefinitions"] < n + 1 or counts["fargatetasks"] < tasks:
            print(f"not converged after {args.timeout:.0f}s: {counts}")
            return 1
        objects = len(docs) + 1
        modes = {mode: run_mode(bw, args, mode, plan[mode], objects) for mode in args.modes.split(",")}

    result = {
        "services": n,
        "task_definitions": n + 1,
        "service_tasks": n * args.desired,
        "fargate_tasks": tasks,
        "kubernetes_objects": objects,
        "fleet_created_s": created_s,
        "fleet_converged_s": converged_s,
        "status_interval_s": args.status_interval,
        "resync_interval_s": args.resync_interval,
        "modes": modes,
    }
    report("event_status", result, rows(result))
    return 0


def rows(result: dict[str, Any]) -> list[tuple[str, Any, str]]:
    out: list[tuple[str, Any, str]] = [
        ("fleet: services / service tasks", f"{result['services']} / {result['service_tasks']}", ""),
        ("fleet: create -> converged (s)", result["fleet_converged_s"], ""),
    ]
    for mode, m in result["modes"].items():
        out += [
            (f"{mode}: ECS reads/s, steady ({m['window_s']:.0f} s)", m["steady"]["ecs_reads_per_s"], "<= 1 (events)"),
            (f"{mode}: ECS writes in the window", m["steady"]["ecs_writes"], "0"),
            (f"{mode}: k8s writes in the window", sum(m["steady"]["k8s_writes"].values()), ""),
            (f"{mode}: status cycles in the window", m["steady"]["status_cycles"], ""),
            (f"{mode}: operator CPU % in the window", m["steady"]["operator_cpu_percent"], ""),
        ]
        for key, label in (("task_stopped", "task STOPPED"), ("service_steady", "service steady"), ("drift", "drift")):
            s = m[key]
            shown = f"{s['p50_s']} / {s['p95_s']}" + (f" ({s['missed']} missed)" if s["missed"] else "")
            out.append((f"{mode}: {label} p50 / p95 (s)", shown, "p95 <= 5 s (events)"))
        out += [
            (f"{mode}: operator RSS MiB", m["operator_rss_mib"], ""),
            (f"{mode}: RSS MiB / 1,000 objects", m["operator_rss_mib_per_1000_objects"], ""),
            (f"{mode}: probes' status.freshness", ", ".join(f"{k} {v}" for k, v in m["probe_freshness"].items()), mode),
        ]
    return out


def _yaml(docs: list[dict[str, Any]]) -> str:
    import yaml

    return yaml.safe_dump_all(docs)


if __name__ == "__main__":
    raise SystemExit(main())
