"""RunTask's answer: which tasks started, which failed, and whether trying again can help.

RunTask answers HTTP 200 with `tasks` and `failures` (ECS Failure: arn, reason, detail); with
count > 1 some tasks can start while others fail. Failure reasons are listed in ECS's
developer guide, "API failure reasons" (api_failures_messages). The ones a later attempt can
overcome, because they describe capacity of the moment, not the request:
- Fargate: "Capacity is unavailable at this time. Please try again later or in a different
  availability zone" (AWS re:Post knowledge center, ecs-fargate-runtask-capacity: "wait before
  you retry the RunTask API");
- EC2: `RESOURCE:CPU`, `RESOURCE:MEMORY`, `RESOURCE:PORTS*`, `RESOURCE:ENI`, `RESOURCE:GPU`
  (no container instance has room now) and `AGENT` (the instance's agent is disconnected).
Any other reason (ATTRIBUTE, LOCATION, MISSING, ...) describes the request: permanent until
the spec changes.
"""

from __future__ import annotations

from typing import Any

FAILURE_KEYS = ("arn", "reason", "detail")
RETRYABLE_PREFIXES = ("RESOURCE:", "AGENT")
RETRYABLE_PHRASES = ("capacity is unavailable", "try again later")


def failures_of(answer: dict[str, Any]) -> list[dict[str, str]]:
    """RunTask's `failures`, as stored in status.failures (the ECS Failure shape)."""
    return [{k: str(f[k]) for k in FAILURE_KEYS if f.get(k) is not None} for f in answer.get("failures") or []]


def retryable(failure: dict[str, str]) -> bool:
    reason = failure.get("reason", "")
    text = f"{reason} {failure.get('detail', '')}".lower()
    return reason.startswith(RETRYABLE_PREFIXES) or any(p in text for p in RETRYABLE_PHRASES)


def all_retryable(failures: list[dict[str, str]]) -> bool:
    return bool(failures) and all(retryable(f) for f in failures)


def describe(failures: list[dict[str, str]]) -> str:
    """One line for conditions and Events: the distinct reasons (with detail), in order."""
    seen: dict[str, None] = {}
    for f in failures:
        seen[" ".join(f[k] for k in ("reason", "detail") if f.get(k))] = None
    return "; ".join(seen) or "no reason given"


def not_started_note(failures: list[dict[str, str]], expected: int) -> str:
    """What a partial RunTask left out, for the condition message ('' when nothing failed)."""
    if not failures:
        return ""
    return f"{len(failures)} of {expected} task(s) not started: {describe(failures)}"
