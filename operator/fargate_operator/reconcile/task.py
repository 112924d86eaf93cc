"""FargateTask: the RunTask request, the idempotency keys, and phase/status from DescribeTasks."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from fargate_operator.models.ownership import Owner, merge_tags
from fargate_operator.models.verdict import Verdict
from fargate_operator.reconcile.placement import launch_default
from fargate_operator.reconcile.requests import ecs_members

PENDING, RUNNING, SUCCEEDED, FAILED, STOPPED = "Pending", "Running", "Succeeded", "Failed", "Stopped"
TERMINAL = frozenset({SUCCEEDED, FAILED, STOPPED})
STARTED_BY_PREFIX = "fargate-operator/"


def started_by(uid: str) -> str:
    """RunTask's startedBy: findable with ListTasks(startedBy=...) after any restart (<= 128 chars)."""
    return STARTED_BY_PREFIX + uid


def run_request(
    spec: dict[str, Any], owner: Owner, cluster: str, task_definition: str, cluster_has_default_strategy: bool = False
) -> dict[str, Any]:
    req = ecs_members(spec, "RunTask") | launch_default(spec, cluster_has_default_strategy)
    req["cluster"] = cluster
    req["taskDefinition"] = task_definition
    req["startedBy"] = started_by(owner.uid)
    req["clientToken"] = owner.uid  # RunTask is idempotent per token (<= 64 chars)
    req["tags"] = merge_tags(spec.get("tags"), owner.tags())
    return req


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


# ECS's task lifecycle (Task.lastStatus; developerguide/task-lifecycle-explanation.html): up to
# RUNNING, then down through these to STOPPED. A task on its way down has not finished yet.
STOPPING_STATES = frozenset({"DEACTIVATING", "STOPPING", "DEPROVISIONING"})
# TaskStopCode (botocore's ECS model; developerguide/stopped-task-error-codes.html). Exit codes
# decide only when the task ended on its own: EssentialContainerExited (or no stop code at all);
# UserInitiated is StopTask (ours on deletion, or a user's through ECS or the adapter).
ENDED_ON_ITS_OWN = "EssentialContainerExited"
STOPPED_ON_REQUEST = "UserInitiated"
FAILED_TO_START = "TaskFailedToStart"
# When an essential container exits, ECS stops the others: SIGTERM, then SIGKILL after
# stopTimeout, which the runtime reports as 128+15 and 128+9.
SIGNAL_EXITS = frozenset({143, 137})


def _started(task: dict[str, Any]) -> bool:
    """Task.startedAt: "the time when the task transitioned from the PENDING state to the RUNNING state"."""
    return task.get("lastStatus") == "RUNNING" or task.get("startedAt") is not None


def _stopped_by_ecs(container: dict[str, Any]) -> bool:
    """Killed by ECS's SIGTERM/SIGKILL after another container ended the task (no reason of its own,
    unlike e.g. "OutOfMemoryError: Container killed due to memory usage" with 137)."""
    return container.get("exitCode") in SIGNAL_EXITS and not container.get("reason")


def _deciding_containers(task: dict[str, Any], essential: Collection[str] | None) -> list[dict[str, Any]]:
    """The containers whose exit codes decide the outcome of a task that ended on its own.

    Non-essential containers never count (ContainerDefinition.essential: "its failure doesn't
    affect the rest of the containers in a task"); when the essential ones are unknown, all
    count. Of those, the ones ECS stopped with a signal after another exited do not decide,
    unless every one of them was stopped that way.
    """
    containers: list[dict[str, Any]] = task.get("containers") or []
    if essential is not None:
        containers = [c for c in containers if c.get("name") in essential] or containers
    if task.get("stopCode") == ENDED_ON_ITS_OWN:
        containers = [c for c in containers if not _stopped_by_ecs(c)] or containers
    return containers


def _describe(c: dict[str, Any]) -> str:
    return f"container {c.get('name')} exited {c.get('exitCode')}" + (f" ({c['reason']})" if c.get("reason") else "")


def _outcome(task: dict[str, Any], essential: Collection[str] | None) -> tuple[str, str]:
    """(phase, message) of one STOPPED task."""
    code, why = task.get("stopCode"), task.get("stoppedReason") or ""
    if code == STOPPED_ON_REQUEST:
        return STOPPED, f"stopped before it finished: {why or 'StopTask'}"
    if code == FAILED_TO_START:
        reasons = "; ".join(f"{c.get('name')}: {c['reason']}" for c in task.get("containers") or [] if c.get("reason"))
        return FAILED, f"{FAILED_TO_START}: {why}" + (f" ({reasons})" if reasons else "")
    if code not in (None, ENDED_ON_ITS_OWN):
        # SpotInterruption, TerminationNotice, ServiceSchedulerInitiated, ...: stopped by AWS before
        # it finished, whatever the exit codes say (a SIGTERM handler may well exit 0).
        return FAILED, f"{code}: {why or 'stopped by ECS'}; the task did not finish"
    failed = [c for c in _deciding_containers(task, essential) if c.get("exitCode") not in (0, None)]
    if failed:
        return FAILED, "; ".join(_describe(c) for c in failed) + (f" ({why})" if why else "")
    return SUCCEEDED, "task finished successfully"


def classify(
    tasks: list[dict[str, Any]],
    expected: int,
    essential: Collection[str] | None = None,
    previous: str | None = None,
) -> tuple[str, str]:
    """(phase, message) of a RunTask's tasks; the table is in the README ("Task phases").

    `essential`: names of the task definition's essential containers, when known.
    `previous`: the phase reported before; phases only move forward, so a task on its way down
    stays Running even when ECS gave no startedAt.
    """
    if not tasks:
        return PENDING, "waiting for ECS to report the task"
    if all(t.get("lastStatus") == "STOPPED" for t in tasks):
        outcomes = [_outcome(t, essential) for t in tasks]
        for phase in (FAILED, STOPPED, SUCCEEDED):
            messages = [m for p, m in outcomes if p == phase]
            if messages:
                return phase, "; ".join(dict.fromkeys(messages))
    if any(_started(t) for t in tasks) or previous == RUNNING:
        down = sorted({str(t.get("lastStatus")) for t in tasks if t.get("lastStatus") in STOPPING_STATES})
        return RUNNING, f"task stopping ({', '.join(down)})" if down else "task running"
    states = sorted({str(t.get("lastStatus")) for t in tasks})
    return PENDING, f"task starting ({', '.join(states)}; {len(tasks)}/{expected} reported)"


def phase_of(
    tasks: list[dict[str, Any]],
    expected: int,
    essential: Collection[str] | None = None,
    previous: str | None = None,
) -> str:
    return classify(tasks, expected, essential, previous)[0]


def _container(c: dict[str, Any]) -> dict[str, Any]:
    return {
        k: c[k]
        for k in ("name", "lastStatus", "exitCode", "reason", "healthStatus", "image", "runtimeId")
        if c.get(k) is not None
    }


def _task(t: dict[str, Any]) -> dict[str, Any]:
    fields = ("taskArn", "lastStatus", "desiredStatus", "stopCode", "stoppedReason", "createdAt", "startedAt")
    out = {k: _iso(t[k]) for k in (*fields, "stoppedAt") if t.get(k) is not None}
    out["containers"] = [_container(c) for c in t.get("containers") or []]
    return out


def status_from(
    tasks: list[dict[str, Any]],
    expected: int,
    essential: Collection[str] | None = None,
    previous: str | None = None,
) -> dict[str, Any]:
    return observe(tasks, expected, essential, previous)[0]


def observe(
    tasks: list[dict[str, Any]],
    expected: int,
    essential: Collection[str] | None = None,
    previous: str | None = None,
) -> tuple[dict[str, Any], Verdict]:
    """Status and the verdict on it from DescribeTasks."""
    tasks = sorted(tasks, key=lambda t: t.get("taskArn", ""))
    phase, message = classify(tasks, expected, essential, previous)
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
    return status, health(phase, message)


def health(phase: str, message: str | None) -> Verdict:
    """Conditions per phase: Running and Succeeded are Ready; Failed is Degraded; Stopped is neither
    (stopped on request: not a failure, not done); Pending is Progressing."""
    if phase == RUNNING:
        return Verdict(True, False, False, "Running", message or "task running")
    if phase == SUCCEEDED:
        return Verdict(True, False, False, "Succeeded", message or "task finished successfully")
    if phase == FAILED:
        return Verdict(False, False, True, "Failed", message or "task failed")
    if phase == STOPPED:
        return Verdict(False, False, False, "Stopped", message or "task stopped before it finished")
    return Verdict(False, True, False, "Pending", message or "task starting")
