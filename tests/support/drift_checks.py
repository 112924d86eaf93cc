"""What the drift tests (tests/integration/controller/drift/) build and read back: the specs they
apply, the probes they wait on, the operator's drift metrics and the Events it wrote.

The status interval of those modules' operators is INTERVAL seconds.
"""

from __future__ import annotations

import datetime
import re
import urllib.request
from collections.abc import Callable
from typing import Any

from fargate_devenv.ecs_emulator import Network
from support.operator_process import Kube, OperatorProcess, awsvpc, condition, manifest, wait_for

INTERVAL = 2.0  # status interval of the drift modules' operators
# "Detected within two status intervals": two intervals, plus one for a cycle's own work on a
# loaded 2-core machine (the describes are paced, the kubectl polling of the test adds its own).
DETECTION_BOUND = 3 * INTERVAL


def writes(calls: dict[str, int]) -> dict[str, int]:
    return {a: n for a, n in calls.items() if not a.startswith(("Describe", "List")) and n}


def td_spec(family: str, **extra: Any) -> dict[str, Any]:
    image = "public.ecr.aws/docker/library/busybox:1.36"
    return {
        "family": family,
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{"name": "app", "image": image}],
        **extra,
    }


def service(name: str, network: Network, **extra: Any) -> dict[str, Any]:
    spec = {
        "serviceName": name,
        "clusterRef": {"name": "drift"},
        "taskDefinitionRef": {"name": "app"},
        "desiredCount": 1,
        "networkConfiguration": awsvpc(network.subnet_id, network.security_group_id),
        # set, so compared (ECS's defaults fill in the rest: maximumPercent 200, minimumHealthyPercent 100)
        "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": False, "rollback": False}},
        "tags": [{"key": "team", "value": "drift"}],
        **extra,
    }
    return manifest("FargateService", name, spec)


def ready(kube: Kube, kind: str, name: str) -> Callable[[], dict[str, Any] | None]:
    def probe() -> dict[str, Any] | None:
        status = kube.status(kind, name)
        ok = condition(status, "Ready").get("status") == "True" and condition(status, "Drifted").get("reason")
        return status if ok else None

    return probe


def drifted(kube: Kube, kind: str, name: str, reason: str) -> Callable[[], dict[str, Any] | None]:
    return lambda: ((s := kube.status(kind, name)) and condition(s, "Drifted").get("reason") == reason and s) or None


def metrics(op: OperatorProcess) -> dict[tuple[str, str, str], float]:
    """fargate_operator_drift_*_total by (metric, kind, field), from the operator's /metrics."""
    with urllib.request.urlopen(f"{op.rest_endpoint}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    found: dict[tuple[str, str, str], float] = {}
    for line in text.splitlines():
        m = re.match(r'^(fargate_operator_drift_\w+_total)\{field="([^"]*)",kind="([^"]*)"\} (\S+)$', line)
        if m:
            found[(m.group(1), m.group(3), m.group(2))] = float(m.group(4))
    return found


def status_patches(op: OperatorProcess) -> float:
    """The operator's own status writes so far (fargate_operator_k8s_writes_total{verb="patch_status"})."""
    with urllib.request.urlopen(f"{op.rest_endpoint}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    m = re.search(r'^fargate_operator_k8s_writes_total\{verb="patch_status"\} (\S+)$', text, re.M)
    return float(m.group(1)) if m else 0.0


def events(kube: Kube, name: str, reason: str) -> list[dict[str, Any]]:
    return [e for e in kube.events(name) if e.get("reason") == reason]


def epoch(stamp: str) -> float:
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def event_time(event: dict[str, Any]) -> float:
    return epoch(event.get("eventTime") or event.get("firstTimestamp") or event["metadata"]["creationTimestamp"])


def converged_service(kube: Kube, name: str, timeout: float = 90) -> dict[str, Any]:
    return wait_for(f"{name} Ready and judged", ready(kube, "fargateservice", name), timeout=timeout)


def cluster_emptied(ecs_client: Any, cluster: str) -> bool:
    """Whether ECS would delete `cluster` now: no service left in it and every task STOPPED (else
    DeleteCluster answers ClusterContainsServicesException / ClusterContainsTasksException)."""
    if ecs_client.list_services(cluster=cluster)["serviceArns"]:
        return False
    pages = ecs_client.get_paginator("list_tasks")
    arns = [
        arn
        for wanted in ("RUNNING", "STOPPED")
        for page in pages.paginate(cluster=cluster, desiredStatus=wanted)
        for arn in page["taskArns"]
    ]
    for at in range(0, len(arns), 100):  # DescribeTasks: at most 100 tasks a call
        tasks = ecs_client.describe_tasks(cluster=cluster, tasks=arns[at : at + 100])["tasks"]
        if any(t["lastStatus"] != "STOPPED" for t in tasks):
            return False
    return True
