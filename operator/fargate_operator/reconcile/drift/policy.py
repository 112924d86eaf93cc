"""What to do about drift, per object: correct it, report it, or only observe; and how often.

- spec.managementPolicy: Manage (default) creates, updates and deletes; Observe mirrors an
  existing ECS resource into status and never writes to ECS (ACK's read-only resources,
  Crossplane's Observe management policy).
- spec.driftPolicy: Correct (default) undoes a change made behind the operator's back; Report
  only says so (condition Drifted, an Event, the metric).

Corrections are rationed per object, so that a person changing a value in the console (or a
second controller) cannot put the operator into a tight update loop: after each correction the
next one waits twice as long (one status interval, then 2, 4, 8 ...), and at most MAX_CORRECTIONS
are made in WINDOW_SECONDS; after that the object only reports until the window has passed or
its spec changes (a new generation starts a new budget). The record lives in status.drift, so a
restart does not reset it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import Enum
from typing import Any

MANAGE, OBSERVE = "Manage", "Observe"
CORRECT, REPORT = "Correct", "Report"
MAX_CORRECTIONS = 5
WINDOW_SECONDS = 600.0


def management_policy(spec: dict[str, Any]) -> str:
    return str(spec.get("managementPolicy") or MANAGE)


def drift_policy(spec: dict[str, Any]) -> str:
    return str(spec.get("driftPolicy") or CORRECT)


class Action(Enum):
    CORRECT = "Correct"  # make the correction now
    REPORT = "Report"  # driftPolicy Report: say so, write nothing to ECS
    BACKING_OFF = "BackingOff"  # a correction was made recently: the next one waits
    SUSPENDED = "Suspended"  # the budget of this window is spent: report until it ends
    DEFERRED = "Deferred"  # ECS itself is changing the resource (a circuit-breaker rollback)


@dataclass(frozen=True)
class Budget:
    base_delay: float  # seconds before a second correction: the status interval
    max_corrections: int = MAX_CORRECTIONS
    window: float = WINDOW_SECONDS


@dataclass(frozen=True)
class Corrections:
    """The rationing record (status.drift): corrections made in the current window."""

    count: int = 0
    window_start: float | None = None  # epoch seconds of the window's first correction
    last: float | None = None  # epoch seconds of the latest correction
    generation: int | None = None  # the spec generation the count belongs to

    @classmethod
    def of(cls, record: dict[str, Any] | None) -> Corrections:
        record = record or {}
        return cls(
            int(record.get("corrections") or 0),
            _epoch(record.get("windowStart")),
            _epoch(record.get("lastCorrection")),
            record.get("generation"),
        )

    def fields(self) -> dict[str, Any]:
        return {
            "corrections": self.count,
            "windowStart": iso(self.window_start),
            "lastCorrection": iso(self.last),
            "generation": self.generation,
        }


@dataclass(frozen=True)
class Decision:
    action: Action
    record: Corrections  # after this decision (a correction counted)
    next_at: float | None = None  # BACKING_OFF / SUSPENDED: when a correction may be made again


def decide(policy: str, record: Corrections, generation: int | None, now: float, budget: Budget) -> Decision:
    """Whether to correct drift now, given the object's policy and its corrections so far."""
    if policy == REPORT:
        return Decision(Action.REPORT, record)
    if record.generation != generation or (
        record.window_start is not None and now - record.window_start >= budget.window
    ):
        record = Corrections(generation=generation)  # a new spec, or the window has passed: a new budget
    if record.count >= budget.max_corrections:
        assert record.window_start is not None
        return Decision(Action.SUSPENDED, record, record.window_start + budget.window)
    if record.last is not None and record.count:
        ready_at = record.last + budget.base_delay * 2 ** (record.count - 1)
        if now < ready_at:
            return Decision(Action.BACKING_OFF, record, ready_at)
    counted = Corrections(record.count + 1, record.window_start if record.window_start else now, now, generation)
    return Decision(Action.CORRECT, counted)


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    stamp = datetime.datetime.fromtimestamp(epoch, datetime.UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def _epoch(value: Any) -> float | None:
    if not value:
        return None
    return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
