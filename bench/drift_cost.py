"""What drift detection costs: ECS calls per minute with N services and N task definitions, on vs off.

    .venv/bin/python bench/drift_cost.py [--count 1000] [--desired 0] [--minutes 1] [--status-interval 5]

Starts its own world (kube-apiserver + etcd, the ECS emulator behind the counting proxy, the
operator as a process; all on loopback), creates one FargateCluster, `--count`
FargateTaskDefinitions and `--count` FargateServices (each on its own task definition, `--desired`
tasks each: 0 keeps the emulator light; the status loop's task reads are the same with detection
on and off), waits until every object is converged, then counts every ECS call the operator makes
for `--minutes` with drift detection on (the default) and again, after a restart, with
FARGATE_OPERATOR_DRIFT_DETECTION=off. Services and clusters are judged on the describes the status
loop makes anyway; task definitions cost ListTaskDefinitions pages every
`FARGATE_OPERATOR_DRIFT_TASK_DEFINITION_EVERY` (2) cycles. Prints a table and writes
bench/results/drift_cost.json.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench_world import BenchWorld, OperatorProcess, awsvpc, manifest, report, task_definition_spec

PLURALS = ("fargatetaskdefinitions", "fargateservices")


def _count_ready(bw: BenchWorld, plural: str, condition: str = "Ready", states: tuple[str, ...] = ("True",)) -> int:
    out = bw.cp.kubectl(
        "get",
        plural,
        "-n",
        bw.namespace,
        "-o",
        f'jsonpath={{range .items[*]}}{{.status.conditions[?(@.type=="{condition}")].status}}{{"\\n"}}{{end}}',
    ).stdout
    return sum(1 for line in out.splitlines() if line.strip() in states)


def _start(bw: BenchWorld, detection: bool) -> OperatorProcess:
    bw.operator_starts += 1
    op = OperatorProcess(
        bw.cp,
        bw.proxy.endpoint,
        bw.namespace,
        bw.workdir / f"operator-{bw.operator_starts}.log",
        bw.status_interval,
        env={"FARGATE_OPERATOR_DRIFT_DETECTION": "on" if detection else "off"},
    )
    bw.operator = op.start()
    op.wait_ready(timeout=120)
    return op


def _measure(bw: BenchWorld, minutes: float) -> dict[str, float]:
    bw.proxy.reset()
    time.sleep(minutes * 60)
    calls = bw.proxy.reset()
    return {op: round(n / minutes, 1) for op, n in sorted(calls.items())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--desired", type=int, default=0, help="desiredCount of each service")
    parser.add_argument("--minutes", type=float, default=1.0, help="length of each measurement")
    parser.add_argument("--status-interval", type=float, default=5.0)
    parser.add_argument("--settle", type=float, default=60.0, help="seconds after a restart before measuring")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    n = args.count

    with BenchWorld.start(status_interval=args.status_interval) as bw:
        network = bw.world.ecs.create_network()
        bw.cp.kubectl(
            "apply",
            "-n",
            bw.namespace,
            "-f",
            "-",
            input=_yaml([manifest("FargateCluster", "bench", {"clusterName": "bench"})]),
        )
        _start(bw, detection=True)
        bw.wait_field("fargatecluster", "bench", ".status.clusterArn")
        started = time.monotonic()
        docs: list[dict[str, Any]] = []
        for i in range(n):
            docs.append(manifest("FargateTaskDefinition", f"td-{i}", task_definition_spec(f"bench-td-{i}")))
            spec = {
                "serviceName": f"svc-{i}",
                "clusterRef": {"name": "bench"},
                "taskDefinitionRef": {"name": f"td-{i}"},
                "desiredCount": args.desired,
                "launchType": "FARGATE",
                "networkConfiguration": awsvpc(network.subnet_id, network.security_group_id),
            }
            docs.append(manifest("FargateService", f"svc-{i}", spec))
        bw.create(docs)
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline and min(_count_ready(bw, p) for p in PLURALS) < n:
            time.sleep(5)
        ready = {p: _count_ready(bw, p) for p in PLURALS}
        converged = time.monotonic() - started
        if min(ready.values()) < n:
            print(f"not converged after {args.timeout:.0f}s: {ready}")
            return 1
        # The first judgement of every object (the Drifted condition) is one status write each: not
        # part of the steady state measured, and it slows the cycles it happens in.
        while (
            time.monotonic() < deadline and min(_count_ready(bw, p, "Drifted", ("True", "False")) for p in PLURALS) < n
        ):
            time.sleep(5)
        time.sleep(args.settle)
        on = _measure(bw, args.minutes)
        assert bw.operator is not None
        bw.operator.stop()
        _start(bw, detection=False)
        time.sleep(args.settle)  # resume handlers: every object is up to date, no ECS call
        off = _measure(bw, args.minutes)
        bw.operator.stop()
        bw.operator = None

    total_on, total_off = sum(on.values()), sum(off.values())
    operations = sorted(set(on) | set(off))
    # One DescribeClusters per status cycle (one cluster): cycles per minute, so that a slower cycle
    # (a loaded machine, the first judgement's writes) is not mistaken for fewer calls.
    cycles_on, cycles_off = on.get("DescribeClusters", 0.0), off.get("DescribeClusters", 0.0)
    per_cycle_on = round(total_on / cycles_on, 1) if cycles_on else None
    per_cycle_off = round(total_off / cycles_off, 1) if cycles_off else None
    result = {
        "services": n,
        "task_definitions": n,
        "desired_count": args.desired,
        "status_interval_s": args.status_interval,
        "minutes_measured": args.minutes,
        "seconds_to_converge": round(converged, 1),
        "calls_per_minute_detection_on": on,
        "calls_per_minute_detection_off": off,
        "total_per_minute_on": round(total_on, 1),
        "total_per_minute_off": round(total_off, 1),
        "extra_per_minute": round(total_on - total_off, 1),
        "status_cycles_per_minute_on": cycles_on,
        "status_cycles_per_minute_off": cycles_off,
        "calls_per_cycle_on": per_cycle_on,
        "calls_per_cycle_off": per_cycle_off,
        "writes_per_minute_on": {k: v for k, v in on.items() if not k.startswith(("Describe", "List"))},
    }
    rows: list[tuple[str, object, str]] = [
        (f"{op} / min (on | off)", f"{on.get(op, 0)} | {off.get(op, 0)}", "") for op in operations
    ]
    rows += [
        ("all ECS calls / min, detection on", round(total_on, 1), ""),
        ("all ECS calls / min, detection off", round(total_off, 1), ""),
        ("cost of drift detection / min", round(total_on - total_off, 1), "ListTaskDefinitions pages only"),
        ("status cycles / min (on | off)", f"{cycles_on} | {cycles_off}", ""),
        ("ECS calls / status cycle (on | off)", f"{per_cycle_on} | {per_cycle_off}", ""),
        ("ECS writes / min with detection on", sum(result["writes_per_minute_on"].values()), "0"),
    ]
    report("drift_cost", result, rows)
    return 0


def _yaml(docs: list[dict[str, Any]]) -> str:
    import yaml

    return yaml.safe_dump_all(docs)


if __name__ == "__main__":
    raise SystemExit(main())
