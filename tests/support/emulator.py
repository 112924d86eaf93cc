"""Helpers for the ECS emulator's own tests (tests/emulator): boto3 over HTTP, Fargate shapes, polling.

The tests talk to the emulator process exactly as the operator does (boto3, JSON 1.1 over
HTTP) and never reach into it. Waits poll with generous deadlines and never assert elapsed
wall time, so a loaded 2-core machine slows them down instead of failing them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from fargate_devenv.ecs_emulator import Network
from support import operator_process as operator_support

T = TypeVar("T")

BUSYBOX = "public.ecr.aws/docker/library/busybox:1.36"
# RFC 6761 reserves the .invalid TLD: a registry there can never resolve (the emulator's
# convention for "this image cannot be pulled").
UNPULLABLE = "registry.invalid/team/app:1.0"
LIFECYCLE = [
    "PROVISIONING",
    "PENDING",
    "ACTIVATING",
    "RUNNING",
    "DEACTIVATING",
    "STOPPING",
    "DEPROVISIONING",
    "STOPPED",
]
DEADLINE = 90.0


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = DEADLINE, interval: float = 0.1) -> T:
    return operator_support.wait_for(what, probe, timeout, interval)


def wait_until(what: str, fetch: Callable[[], T], pred: Callable[[T], bool], timeout: float = DEADLINE) -> T:
    """Fetch until `pred` holds for what was fetched; return that value."""

    def probe() -> T | None:
        value = fetch()
        return value if pred(value) else None

    return wait_for(what, probe, timeout)


def awsvpc(network: Network) -> dict[str, Any]:
    return {
        "awsvpcConfiguration": {
            "subnets": [network.subnet_id],
            "securityGroups": [network.security_group_id],
            "assignPublicIp": "DISABLED",
        }
    }


def container(
    name: str = "app", image: str = BUSYBOX, command: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    """A container with NO container-level memory: the usual Fargate shape (task-level size only)."""
    c: dict[str, Any] = {"name": name, "image": image, "essential": True, **extra}
    if command is not None:
        c["command"] = command
    return c


def register(ecs: Any, family: str, *containers: dict[str, Any], cpu: str = "256", memory: str = "512") -> str:
    td = ecs.register_task_definition(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu=cpu,
        memory=memory,
        containerDefinitions=list(containers) or [container()],
    )
    arn: str = td["taskDefinition"]["taskDefinitionArn"]
    return arn


def run(ecs: Any, cluster: str, td: str, network: Network, **extra: Any) -> dict[str, Any]:
    out = ecs.run_task(
        cluster=cluster, taskDefinition=td, launchType="FARGATE", networkConfiguration=awsvpc(network), **extra
    )
    assert not out["failures"], out["failures"]
    task: dict[str, Any] = out["tasks"][0]
    return task


def describe(ecs: Any, cluster: str, arn: str) -> dict[str, Any]:
    out = ecs.describe_tasks(cluster=cluster, tasks=[arn])
    assert len(out["tasks"]) == 1, out
    task: dict[str, Any] = out["tasks"][0]
    return task


def wait_task(
    ecs: Any, cluster: str, arn: str, pred: Callable[[dict[str, Any]], bool], what: str, timeout: float = DEADLINE
) -> dict[str, Any]:
    return wait_until(what, lambda: describe(ecs, cluster, arn), pred, timeout)


def stopped(task: dict[str, Any]) -> bool:
    return bool(task["lastStatus"] == "STOPPED")


def running(task: dict[str, Any]) -> bool:
    return bool(task["lastStatus"] == "RUNNING")


def service(ecs: Any, cluster: str, svc: str) -> dict[str, Any]:
    out = ecs.describe_services(cluster=cluster, services=[svc])
    assert len(out["services"]) == 1, out
    s: dict[str, Any] = out["services"][0]
    return s


def messages(svc: dict[str, Any]) -> list[str]:
    """The service's event messages, oldest first (ECS lists them newest first)."""
    return [e["message"] for e in reversed(svc.get("events", []))]


def steady(svc: dict[str, Any], count: int) -> bool:
    deployments = svc["deployments"]
    return (
        svc["runningCount"] == count
        and svc["pendingCount"] == 0
        and len(deployments) == 1
        and deployments[0]["rolloutState"] == "COMPLETED"
    )


def task_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]
