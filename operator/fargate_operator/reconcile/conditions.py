"""status.conditions: Ready, Progressing, Degraded, each stamped with observedGeneration."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

READY, PROGRESSING, DEGRADED = "Ready", "Progressing", "Degraded"

# Degraded reasons the status loop derives from ECS itself (handlers/refresh.py); any other Degraded
# was set by a handler (an ECS error applying the spec) and stands until a handler clears it.
OBSERVED_DEGRADED_REASONS = frozenset({"RolloutFailed", "RolledBack", "Failed", "ServiceMissing", "ClusterMissing"})


def find(conditions: Iterable[Mapping[str, Any]] | None, type_: str) -> dict[str, Any]:
    """The condition of `type_` as written (empty when there is none)."""
    return dict(next((c for c in conditions or [] if c.get("type") == type_), {}))


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def set_condition(
    conditions: list[dict[str, Any]] | None,
    type_: str,
    status: bool,
    reason: str,
    message: str,
    generation: int | None,
    now: str | None = None,
) -> list[dict[str, Any]]:
    """A new list with one condition set; lastTransitionTime moves only when status flips."""
    value = "True" if status else "False"
    result = [dict(c) for c in conditions or [] if c.get("type") != type_]
    old = next((c for c in conditions or [] if c.get("type") == type_), None)
    transition = now or now_iso()
    if old is not None and old.get("status") == value and old.get("lastTransitionTime"):
        transition = old["lastTransitionTime"]
    cond = {
        "type": type_,
        "status": value,
        "reason": reason,
        "message": message[:1024],
        "observedGeneration": generation,
        "lastTransitionTime": transition,
    }
    result.append(cond)
    order = {READY: 0, PROGRESSING: 1, DEGRADED: 2}
    return sorted(result, key=lambda c: order.get(c["type"], 9))


def summarize(
    conditions: list[dict[str, Any]] | None,
    *,
    ready: bool,
    progressing: bool,
    degraded: bool,
    reason: str,
    message: str,
    generation: int | None,
) -> list[dict[str, Any]]:
    """Set all three conditions from one observation."""
    now = now_iso()
    out = set_condition(conditions, READY, ready, reason, message, generation, now)
    out = set_condition(out, PROGRESSING, progressing, reason, message if progressing else "", generation, now)
    return set_condition(out, DEGRADED, degraded, reason, message if degraded else "", generation, now)


def same_conditions(a: list[dict[str, Any]] | None, b: list[dict[str, Any]] | None) -> bool:
    """Equal apart from timestamps (so a refresh that changes nothing writes nothing)."""

    def strip(cs: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        return [{k: v for k, v in c.items() if k != "lastTransitionTime"} for c in cs or []]

    return strip(a) == strip(b)


def held_degraded(conditions: list[dict[str, Any]] | None) -> str | None:
    """The reason of a Degraded condition that is True, else None."""
    held = find(conditions, DEGRADED)
    return str(held.get("reason")) if held.get("status") == "True" else None
