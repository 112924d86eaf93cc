"""When a task that DescribeTasks answers MISSING for may still show up, and when it is gone.

ECS is eventually consistent: right after RunTask, DescribeTasks can answer MISSING for a
task RunTask just returned. ECS's advice (botocore's RunTask documentation) is to retry
DescribeTasks with backoff "up to five minutes". A task ECS once reported does not vanish
legitimately sooner: "stopped tasks appear in the returned results for at least one hour"
(DescribeTasks documentation). So MISSING means "not yet" for MISSING_GRACE_SECONDS after
the task was created, and "gone" only after that.

The window counts from the task's `createdAt` (ECS's own time), else from the RunTask mark's
time (written just before RunTask), else from the object's creation. All three are already
stored, so the window survives restarts and costs no write; counting from "first seen
missing" would need a status write per MISSING answer to survive a restart.
"""

from __future__ import annotations

import datetime
from typing import Any

MISSING_GRACE_SECONDS = 300.0
GONE_REASON = "ECS no longer reports this task"


def _epoch(value: Any) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value:
        try:
            return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def created_at(entry: dict[str, Any], fallback: Any) -> float | None:
    """When a task (a status.tasks entry) was created: its createdAt, else `fallback` (epoch or ISO)."""
    return _epoch(entry.get("createdAt")) or _epoch(fallback)


def still_expected(entry: dict[str, Any], fallback: Any, now: float, grace: float = MISSING_GRACE_SECONDS) -> bool:
    """Whether a task ECS answered MISSING for may still appear (eventual consistency)."""
    since = created_at(entry, fallback)
    return since is not None and now - since < grace


def gone(entry: dict[str, Any]) -> dict[str, Any]:
    """A status.tasks entry for a task ECS no longer reports: its last known state, stopped, outcome unknown."""
    return {**entry, "lastStatus": "STOPPED", "desiredStatus": "STOPPED", "stoppedReason": GONE_REASON}


def any_gone(tasks: list[dict[str, Any]]) -> bool:
    return any(t.get("stoppedReason") == GONE_REASON for t in tasks)


def merge(
    entries: list[dict[str, Any]], described: dict[str, dict[str, Any]], fallback: Any, now: float
) -> list[dict[str, Any]] | None:
    """The object's tasks (its status.tasks `entries`) as ECS `described` them (by ARN).

    A task ECS answered MISSING for keeps its last known entry within the grace window and
    becomes `gone()` after it. None while every task is MISSING within the window: there is
    nothing new to record, and nothing to conclude yet.
    """
    tasks, waiting = [], 0
    for entry in entries:
        if entry["taskArn"] in described:
            tasks.append(described[entry["taskArn"]])
        elif still_expected(entry, fallback, now):
            tasks.append(entry)
            waiting += 1
        else:
            tasks.append(gone(entry))
    return None if waiting == len(tasks) else tasks
