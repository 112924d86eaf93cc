"""SIGKILL the operator at random moments while FargateTasks and FargateServices are created, changed and deleted.

After several rounds and a final restart: exactly one ECS task per FargateTask,
every object converged, and nothing left in ECS for deleted objects. Bounded by
CHAOS_* below; `make chaos` runs a longer variant (FARGATE_CHAOS_SCALE=5).
"""

from __future__ import annotations

import os
import random
import time
import uuid
from typing import Any

import yaml

from fargate_operator.devenv.ecs_emulator import Network
from fargate_operator.devenv.ecs_proxy import EcsProxy
from fargate_operator.devenv.world import World
from fargate_operator.reconcile.task import started_by
from operator_support import (
    Kube,
    OperatorProcess,
    awsvpc,
    manifest,
    service_manifest,
    task_definition_spec,
    task_manifest,
    wait_for,
)

SCALE = int(os.environ.get("FARGATE_CHAOS_SCALE", "1"))
TASKS, SERVICES, ROUNDS = 200 * SCALE, 20 * SCALE, 4 + SCALE
WAIT = float(os.environ.get("FARGATE_CHAOS_WAIT", "240"))


def test_sigkill_rounds_start_nothing_twice_and_lose_nothing(world: World, network: Network, tmp_path: Any) -> None:
    rng = random.Random(20261124)
    ns = f"kill-{uuid.uuid4().hex[:8]}"
    cp = world.control_plane
    cp.kubectl("create", "namespace", ns)
    kube = Kube(cp, ns)
    proxy = EcsProxy(world.ecs.endpoint).start()
    op = OperatorProcess(cp, proxy.endpoint, ns, tmp_path / "operator.log").start()
    cluster = f"kill-{ns}"
    net = awsvpc(network.subnet_id, network.security_group_id)
    try:
        kube.apply(manifest("FargateCluster", "c", {"clusterName": cluster}))
        kube.apply(manifest("FargateTaskDefinition", "td", task_definition_spec(f"kill-{ns}")))
        tasks = [task_manifest(f"t{i:04d}", net) for i in range(TASKS)]
        services = [service_manifest(f"s{i:03d}", net) for i in range(SERVICES)]
        batches = [tasks[i::ROUNDS] + services[i::ROUNDS] for i in range(ROUNDS)]
        deleted_tasks: set[str] = set()
        deleted_services: set[str] = set()
        kills = 0
        applied: list[dict[str, Any]] = []
        for round_no, batch in enumerate(batches):
            cp.kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump_all(batch))
            earlier = list(applied)
            applied += batch
            if round_no:
                # Change some services, delete some tasks and services applied in earlier rounds.
                earlier_tasks = [d for d in earlier if d["kind"] == "FargateTask"]
                earlier_services = [d for d in earlier if d["kind"] == "FargateService"]
                for doc in earlier_services[::3]:
                    cp.kubectl(
                        "patch",
                        "fargateservice",
                        doc["metadata"]["name"],
                        "-n",
                        ns,
                        "--type=merge",
                        "-p",
                        f'{{"spec":{{"desiredCount":{round_no + 1}}}}}',
                        check=False,
                    )
                for doc in earlier_tasks[:: 7 + round_no]:
                    deleted_tasks.add(doc["metadata"]["name"])
                    kube.delete("fargatetask", doc["metadata"]["name"])
                victim = next(d for d in earlier_services if d["metadata"]["name"] not in deleted_services)
                deleted_services.add(victim["metadata"]["name"])
                kube.delete("fargateservice", victim["metadata"]["name"])
            time.sleep(rng.uniform(0.5, 3.0))
            op.kill()
            kills += 1
            op.start()
        live_tasks = [t["metadata"]["name"] for t in tasks if t["metadata"]["name"] not in deleted_tasks]
        live_services = [s["metadata"]["name"] for s in services if s["metadata"]["name"] not in deleted_services]

        last_state = [""]

        def converged() -> str | None:
            task_items, service_items = _items(cp, ns, "fargatetasks"), _items(cp, ns, "fargateservices")
            running = sorted(o["metadata"]["name"] for o in task_items if o.get("status", {}).get("phase") == "Running")
            with_arn = sorted(o["metadata"]["name"] for o in service_items if o.get("status", {}).get("serviceArn"))
            present = {o["metadata"]["name"] for o in task_items + service_items}
            lingering = sorted(present & (deleted_tasks | deleted_services))
            last_state[0] = (
                f"running {len(running)}/{len(live_tasks)}, services {len(with_arn)}/{len(live_services)}, "
                f"deleted still present {lingering}, not running {sorted(set(live_tasks) - set(running))[:5]}"
            )
            done = running == sorted(live_tasks) and with_arn == sorted(live_services) and not lingering
            return last_state[0] if done else None

        try:
            wait_for("all objects converged after the last kill", converged, timeout=WAIT, interval=2)
        except AssertionError as err:
            raise AssertionError(f"{err}; {last_state[0]}") from None
        ecs: Any = world.ecs.client()
        items = {o["metadata"]["name"]: o for o in _items(cp, ns, "fargatetasks")}
        duplicates = []
        for name in live_tasks:
            uid = items[name]["metadata"]["uid"]
            found = ecs.list_tasks(cluster=cluster, startedBy=started_by(uid))["taskArns"]
            if len(found) != 1:
                duplicates.append((name, len(found)))
        assert not duplicates, duplicates
        expected = {t["taskArn"] for o in items.values() for t in o["status"]["tasks"]}

        def orphans() -> list[str] | None:
            """Running tasks that neither a FargateTask nor a live FargateService's scheduler accounts for."""
            stray = [
                t["taskArn"]
                for t in _all_running(ecs, cluster)
                if t["taskArn"] not in expected and t.get("group", "").removeprefix("service:") not in live_services
            ]
            return None if stray else []

        try:  # a deleted service's tasks are stopped by ECS's scheduler as the service drains
            wait_for("no orphan tasks", lambda: orphans() == [], timeout=60, interval=2)
        except AssertionError:
            raise AssertionError(f"ECS tasks run for no FargateTask or live FargateService: {orphans()}") from None
        ecs_services = {
            s["serviceName"]: s["status"]
            for s in _describe_services(ecs, cluster, [s["metadata"]["name"] for s in services])
        }
        assert all(ecs_services[n] == "ACTIVE" for n in live_services)
        assert all(ecs_services.get(n) in (None, "INACTIVE", "DRAINING") for n in deleted_services)
        print(
            f"chaos: {kills} SIGKILLs, {TASKS} tasks ({len(deleted_tasks)} deleted), {SERVICES} services "
            f"({len(deleted_services)} deleted), duplicates 0, orphans 0, ECS calls {sum(proxy.calls.values())}"
        )
    finally:
        op.stop()
        proxy.stop()


def _items(cp: Any, ns: str, plural: str) -> list[dict[str, Any]]:
    import json

    items: list[dict[str, Any]] = json.loads(cp.kubectl("get", plural, "-n", ns, "-o", "json").stdout)["items"]
    return items


def _all_running(ecs: Any, cluster: str) -> list[dict[str, Any]]:
    arns: list[str] = []
    for page in ecs.get_paginator("list_tasks").paginate(cluster=cluster, desiredStatus="RUNNING"):
        arns += page["taskArns"]
    described = [
        t
        for i in range(0, len(arns), 100)
        for t in ecs.describe_tasks(cluster=cluster, tasks=arns[i : i + 100])["tasks"]
    ]
    return [t for t in described if t["desiredStatus"] == "RUNNING"]


def _describe_services(ecs: Any, cluster: str, names: list[str]) -> list[dict[str, Any]]:
    return [
        s
        for i in range(0, len(names), 10)
        for s in ecs.describe_services(cluster=cluster, services=names[i : i + 10])["services"]
    ]
