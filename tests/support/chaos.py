"""The chaos workload: FargateTasks and FargateServices created, changed and deleted in rounds, and the final checks.

Shared by the single-replica SIGKILL rounds (integration/chaos/test_sigkill_rounds.py) and
the two-replica leader-kill rounds (integration/ha/test_ha_failover.py): between rounds the
caller kills whatever it kills; at the end every object must have converged with exactly
one ECS task per FargateTask, nothing orphaned and deleted services gone.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from fargate_devenv.control_plane import ControlPlane
from fargate_devenv.ecs_emulator import Network
from fargate_operator.reconcile.task import started_by
from support.operator_process import (
    Kube,
    awsvpc,
    manifest,
    service_manifest,
    task_definition_spec,
    task_manifest,
    wait_for,
)


@dataclass
class ChaosWorkload:
    cp: ControlPlane
    namespace: str
    network: Network
    tasks: int
    services: int
    rounds: int
    rng: random.Random
    deleted_tasks: set[str] = field(default_factory=set)
    deleted_services: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.kube = Kube(self.cp, self.namespace)
        self.cluster = f"kill-{self.namespace}"
        net = awsvpc(self.network.subnet_id, self.network.security_group_id)
        self.task_docs = [task_manifest(f"t{i:04d}", net) for i in range(self.tasks)]
        self.service_docs = [service_manifest(f"s{i:03d}", net) for i in range(self.services)]

    def setup(self) -> None:
        self.kube.apply(manifest("FargateCluster", "c", {"clusterName": self.cluster}))
        self.kube.apply(manifest("FargateTaskDefinition", "td", task_definition_spec(f"kill-{self.namespace}")))

    def play(self, between: Callable[[int], None]) -> None:
        """Each round: apply a batch, change and delete some of earlier rounds' objects, then between(round)."""
        n = self.rounds
        batches = [self.task_docs[i::n] + self.service_docs[i::n] for i in range(n)]
        applied: list[dict[str, Any]] = []
        for round_no, batch in enumerate(batches):
            self.cp.kubectl("apply", "-n", self.namespace, "-f", "-", input=yaml.safe_dump_all(batch))
            earlier = list(applied)
            applied += batch
            if round_no:
                self._change(round_no, earlier)
            between(round_no)

    def _change(self, round_no: int, earlier: list[dict[str, Any]]) -> None:
        """Scale some services, delete some tasks and one service applied in earlier rounds."""
        earlier_tasks = [d for d in earlier if d["kind"] == "FargateTask"]
        earlier_services = [d for d in earlier if d["kind"] == "FargateService"]
        for doc in earlier_services[::3]:
            self.cp.kubectl(
                "patch",
                "fargateservice",
                doc["metadata"]["name"],
                "-n",
                self.namespace,
                "--type=merge",
                "-p",
                f'{{"spec":{{"desiredCount":{min(round_no + 1, 5)}}}}}',
                check=False,
            )
        for doc in earlier_tasks[:: 7 + round_no]:
            self.deleted_tasks.add(doc["metadata"]["name"])
            self.kube.delete("fargatetask", doc["metadata"]["name"])
        victim = next((d for d in earlier_services if d["metadata"]["name"] not in self.deleted_services), None)
        if victim is not None and len(self.deleted_services) < self.services // 2:
            self.deleted_services.add(victim["metadata"]["name"])
            self.kube.delete("fargateservice", victim["metadata"]["name"])

    @property
    def live_tasks(self) -> list[str]:
        return sorted(t["metadata"]["name"] for t in self.task_docs if t["metadata"]["name"] not in self.deleted_tasks)

    @property
    def live_services(self) -> list[str]:
        return sorted(
            s["metadata"]["name"] for s in self.service_docs if s["metadata"]["name"] not in self.deleted_services
        )

    def items(self, plural: str) -> list[dict[str, Any]]:
        out = self.cp.kubectl("get", plural, "-n", self.namespace, "-o", "json").stdout
        items: list[dict[str, Any]] = json.loads(out)["items"]
        return items

    def wait_converged(self, timeout: float) -> None:
        """Every live FargateTask Running, every live FargateService with its ARN, every deleted object gone."""
        names = {t["metadata"]["name"] for t in self.task_docs} | {s["metadata"]["name"] for s in self.service_docs}
        last = [""]

        def converged() -> str | None:
            task_items = [o for o in self.items("fargatetasks") if o["metadata"]["name"] in names]
            service_items = [o for o in self.items("fargateservices") if o["metadata"]["name"] in names]
            running = sorted(o["metadata"]["name"] for o in task_items if o.get("status", {}).get("phase") == "Running")
            with_arn = sorted(o["metadata"]["name"] for o in service_items if o.get("status", {}).get("serviceArn"))
            present = {o["metadata"]["name"] for o in task_items + service_items}
            lingering = sorted(present & (self.deleted_tasks | self.deleted_services))
            last[0] = (
                f"running {len(running)}/{len(self.live_tasks)}, services {len(with_arn)}/{len(self.live_services)}, "
                f"deleted still present {lingering}, not running {sorted(set(self.live_tasks) - set(running))[:5]}"
            )
            done = running == self.live_tasks and with_arn == self.live_services and not lingering
            return last[0] if done else None

        try:
            wait_for("all objects converged after the last kill", converged, timeout=timeout, interval=2)
        except AssertionError as err:
            raise AssertionError(f"{err}; {last[0]}") from None

    def check_ecs(self, ecs: Any) -> None:
        """Exactly one ECS task per live FargateTask, no orphans, live services ACTIVE, deleted ones gone."""
        items = {o["metadata"]["name"]: o for o in self.items("fargatetasks")}
        duplicates = []
        for name in self.live_tasks:
            found = ecs.list_tasks(cluster=self.cluster, startedBy=started_by(items[name]["metadata"]["uid"]))
            if len(found["taskArns"]) != 1:
                duplicates.append((name, len(found["taskArns"])))
        assert not duplicates, duplicates
        expected = {t["taskArn"] for o in items.values() for t in o.get("status", {}).get("tasks", [])}
        live_services = set(self.live_services)

        def orphans() -> list[str]:
            """Running tasks that neither a FargateTask nor a live FargateService's scheduler accounts for."""
            return [
                t["taskArn"]
                for t in _describe_running(ecs, self.cluster)
                if t["taskArn"] not in expected and t.get("group", "").removeprefix("service:") not in live_services
            ]

        try:  # a deleted service's tasks are stopped by ECS's scheduler as the service drains
            wait_for("no orphan tasks", lambda: not orphans() or None, timeout=60, interval=2)
        except AssertionError:
            raise AssertionError(f"ECS tasks run for no FargateTask or live FargateService: {orphans()}") from None
        names = [s["metadata"]["name"] for s in self.service_docs]
        ecs_services = {s["serviceName"]: s["status"] for s in _describe_services(ecs, self.cluster, names)}
        assert all(ecs_services[n] == "ACTIVE" for n in self.live_services)
        assert all(ecs_services.get(n) in (None, "INACTIVE", "DRAINING") for n in self.deleted_services)


def _describe_running(ecs: Any, cluster: str) -> list[dict[str, Any]]:
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
