"""The Drifted condition and status.drift from one look at ECS: pure, so every branch is unit-tested.

status.drift holds the differences seen (values rendered, secrets hashed), since when, the
corrections made (policy.Corrections) and the last correction; the Drifted condition says the
same in one line for `kubectl get` and Argo CD. Events and metrics are due only on a change of
verdict (new fields, a correction), so a steady drift costs no Kubernetes write per cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fargate_operator.reconcile.drift.compare import Difference
from fargate_operator.reconcile.drift.policy import Action, Corrections, Decision, iso

DRIFTED = "Drifted"
IN_SYNC = "InSync"
# reason of the Drifted condition (True) per decision
REASONS = {
    Action.CORRECT: "Corrected",
    Action.REPORT: "DriftReported",
    Action.BACKING_OFF: "CorrectionBackingOff",
    Action.SUSPENDED: "CorrectionSuspended",
    Action.DEFERRED: "CorrectionDeferred",
}
FAILED = "CorrectionFailed"
WARNING_REASONS = frozenset({"DriftReported", "CorrectionSuspended", "CorrectionDeferred", FAILED})


@dataclass(frozen=True)
class Verdict:
    drift: dict[str, Any]  # status.drift
    condition: tuple[bool, str, str]  # Drifted: status, reason, message
    new_fields: list[str] = field(default_factory=list)  # fields not reported before: metric, Event
    event: tuple[str, str] | None = None  # (reason, message) to post, if any


def _texts(diffs: list[Difference]) -> str:
    return "; ".join(d.text() for d in diffs)


def verdict(
    diffs: list[Difference],
    decision: Decision | None,
    previous: dict[str, Any] | None,
    now: float,
    *,
    policy: str,
    error: str | None = None,
) -> Verdict:
    """status.drift, the Drifted condition and what to announce, from this look's differences.

    `decision` is None when there is nothing to decide (no differences); `error` is the message
    of a correction that ECS refused.
    """
    previous = previous or {}
    record = decision.record if decision else Corrections.of(previous)
    drift: dict[str, Any] = {**record.fields(), "policy": policy}
    if previous.get("lastCorrected"):
        drift["lastCorrected"] = previous["lastCorrected"]
    if not diffs:
        last = drift.get("lastCorrected")
        message = f"last correction {last['at']}: {', '.join(last['fields'])}" if last else ""
        return Verdict({**drift, "fields": [], "since": None, "reason": IN_SYNC}, (False, IN_SYNC, message))
    assert decision is not None
    seen = {f.get("field") for f in previous.get("fields") or []}
    new = [d.field for d in diffs if d.field not in seen]
    # One episode lasts while anything differs: its start stays put.
    drift |= {"fields": [d.record() for d in diffs], "since": (seen and previous.get("since")) or iso(now)}
    texts, action = _texts(diffs), decision.action
    if error is not None:
        message = f"correcting {texts} failed: {error}"
        return Verdict({**drift, "reason": FAILED}, (True, FAILED, message), new, (FAILED, message))
    reason = REASONS[action]
    drift["reason"] = reason
    if action is Action.CORRECT:
        drift["lastCorrected"] = {"at": iso(now), "fields": [d.field for d in diffs]}
        message = f"corrected {texts} (correction {record.count} since {iso(record.window_start)})"
        return Verdict(drift, (True, reason, message), new, ("DriftCorrected", message))
    if action is Action.REPORT:
        message = f"ECS differs from spec (driftPolicy Report): {texts}"
    elif action is Action.BACKING_OFF:
        message = (
            f"ECS differs from spec: {texts}; corrected {record.count} times since {iso(record.window_start)}, "
            f"next correction not before {iso(decision.next_at)}"
        )
    elif action is Action.SUSPENDED:
        message = (
            f"ECS differs from spec: {texts}; corrected {record.count} times since {iso(record.window_start)} and "
            f"changed again each time: reporting only until {iso(decision.next_at)} or the spec changes"
        )
    else:
        message = f"ECS differs from spec: {texts}; not corrected while ECS rolls the service back"
    # Backing off between corrections is said in the condition only: the corrections have their Events.
    due = action is not Action.BACKING_OFF and (new or previous.get("reason") != reason)
    event = (reason, message) if due else None
    return Verdict(drift, (True, reason, message), new, event)
