"""FargateTask: the RunTask request, the idempotency keys, and phase/status from DescribeTasks."""

from __future__ import annotations

from typing import Any

from fargate_operator.reconcile.ownership import Owner, merge_tags
from fargate_operator.reconcile.requests import ecs_members

PENDING, RUNNING, SUCCEEDED, FAILED = "Pending", "Running", "Succeeded", "Failed"
TERMINAL = frozenset({SUCCEEDED, FAILED})
STARTED_BY_PREFIX = "fargate-operator/"


def started_by(uid: str) -> str:
    """RunTask's startedBy: findable with ListTasks(startedBy=...) after any restart (<= 128 chars)."""
    return STARTED_BY_PREFIX + uid


def run_request(spec: dict[str, Any], owner: Owner, cluster: str, task_definition: str) -> dict[str, Any]:
    req = ecs_members(spec, "RunTask")
    req["cluster"] = cluster
    req["taskDefinition"] = task_definition
    req["startedBy"] = started_by(owner.uid)
    req["clientToken"] = owner.uid  # RunTask is idempotent per token (<= 64 chars)
    req["tags"] = merge_tags(spec.get("tags"), owner.tags())
    return req


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _task_failed(task: dict[str, Any]) -> bool:
    if task.get("stopCode") == "TaskFailedToStart":
        return True
    return any(c.get("exitCode") not in (0, None) for c in task.get("containers") or [])


def phase_of(tasks: list[dict[str, Any]], expected: int) -> str:
    if not tasks:
        return PENDING
    if all(t.get("lastStatus") == "STOPPED" for t in tasks):
        return FAILED if any(_task_failed(t) for t in tasks) else SUCCEEDED
    if len(tasks) >= expected and all(t.get("lastStatus") in ("RUNNING", "STOPPED") for t in tasks):
        return RUNNING
    return RUNNING if any(t.get("lastStatus") == "RUNNING" for t in tasks) else PENDING


def _container(c: dict[str, Any]) -> dict[str, Any]:
    return {
        k: c[k] for k in ("name", "lastStatus", "exitCode", "reason", "healthStatus", "image") if c.get(k) is not None
    }


def _task(t: dict[str, Any]) -> dict[str, Any]:
    fields = ("taskArn", "lastStatus", "desiredStatus", "stopCode", "stoppedReason", "createdAt", "startedAt")
    out = {k: _iso(t[k]) for k in (*fields, "stoppedAt") if t.get(k) is not None}
    out["containers"] = [_container(c) for c in t.get("containers") or []]
    return out


def status_from(tasks: list[dict[str, Any]], expected: int) -> dict[str, Any]:
    tasks = sorted(tasks, key=lambda t: t.get("taskArn", ""))
    phase = phase_of(tasks, expected)
    first = tasks[0] if tasks else {}
    status: dict[str, Any] = {
        "phase": phase,
        "tasks": [_task(t) for t in tasks],
        "lastStatus": first.get("lastStatus"),
        "desiredStatus": first.get("desiredStatus"),
    }
    for key in ("clusterArn", "taskDefinitionArn", "stoppedReason", "startedAt", "stoppedAt"):
        if first.get(key) is not None:
            status[key] = _iso(first[key])
    return status


def health(phase: str, stopped_reason: str | None) -> tuple[bool, bool, bool, str, str]:
    if phase == RUNNING:
        return True, False, False, "Running", "task running"
    if phase == SUCCEEDED:
        return True, False, False, "Succeeded", "task finished successfully"
    if phase == FAILED:
        return False, False, True, "Failed", stopped_reason or "task failed"
    return False, True, False, "Pending", "task starting"
