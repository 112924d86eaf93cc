"""Which of a FargateTask's tasks to stop: the `ecs.fargate.dev/stop-requested` annotation.

ECS StopTask stops one task ("Stops a running task", botocore model, StopTask), while one
FargateTask may hold up to 10 (RunTask `count`). So the annotation names the tasks:
- a JSON object `{"<task ARN>": "<reason>", ...}` -- what the ECS API adapter writes, one entry
  added per StopTask call;
- any other value (e.g. `kubectl annotate ... stop-requested="maintenance"`) asks to stop every
  task of the object, with that value as the reason.
Only ARNs that are the object's own tasks count: the annotation can never stop anything else.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

DEFAULT_REASON = "stopped through the ECS API"


def requested(value: str | None, task_arns: Iterable[str]) -> dict[str, str]:
    """task ARN -> reason, for those of `task_arns` the annotation value asks to stop."""
    arns = list(task_arns)
    if value is None:
        return {}
    try:
        parsed: Any = json.loads(value)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        return dict.fromkeys(arns, value or DEFAULT_REASON)
    return {arn: str(parsed[arn]) or DEFAULT_REASON for arn in arns if arn in parsed}


def adding(value: str | None, task_arns: Iterable[str], arn: str, reason: str) -> str:
    """The annotation value with one more task to stop (earlier requests kept)."""
    return json.dumps({**requested(value, task_arns), arn: reason}, sort_keys=True)


def to_stop(old: str | None, new: str | None, tasks: list[dict[str, Any]]) -> dict[str, str]:
    """Tasks asked to stop by the change from `old` to `new` that ECS does not already stop."""
    arns = [t["taskArn"] for t in tasks if t.get("taskArn")]
    stopping = {t["taskArn"] for t in tasks if t.get("desiredStatus") == "STOPPED"}
    before = requested(old, arns)
    return {
        arn: reason for arn, reason in requested(new, arns).items() if before.get(arn) != reason and arn not in stopping
    }
