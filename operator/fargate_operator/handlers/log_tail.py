"""The last lines a failed task's essential container printed, for its Degraded condition (people debugging).

Asked once, when the status loop first sees the task Failed: where to read comes from the task's
task definition revision (the FargateTaskDefinition's spec when it is that revision, else one
DescribeTaskDefinition), then one GetLogEvents of at most TAIL_LINES events, in the task's account and
region. What could leak is bounded: only what the container itself printed (never the task
definition's environment or secrets), at most TAIL_LINES lines of TAIL_LINE_CHARS and TAIL_CHARS in
all. Any failure (no awslogs, no permission, no stream) leaves the message as it was.
"""

from __future__ import annotations

import logging
from typing import Any

from fargate_operator.ecs.errors import EcsError
from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.models.kinds import TASK_DEFINITION
from fargate_operator.runtime import Runtime
from fargate_operator.service.errors import ApiError
from fargate_operator.service.task_logs import awslogs_place, bounded

log = logging.getLogger(__name__)

TAIL_LINES = 5
TAIL_LINE_CHARS = 200
TAIL_CHARS = 1024
STOPPED_BY_ECS = frozenset({128 + 15, 128 + 9})


def failed_container(task: dict[str, Any], essential: list[str] | None) -> str | None:
    """The essential container that ended the task: one that exited non-zero by itself (not the SIGTERM or
    SIGKILL of ECS stopping it: 143, 137), else any non-zero one, else the first essential one."""
    containers = [c for c in task.get("containers") or [] if essential is None or c.get("name") in essential]
    failing = [c for c in containers if c.get("exitCode") not in (None, 0)]
    own = next((c for c in failing if c.get("exitCode") not in STOPPED_BY_ECS), None)
    chosen = own or (failing[0] if failing else None) or (containers[0] if containers else None)
    return str(chosen["name"]) if chosen else None


async def _definition(rt: Runtime, gw: EcsGateway, ns: str, arn: str) -> dict[str, Any]:
    for obj in rt.watch_cache.in_namespace(TASK_DEFINITION, ns):
        if obj.get("status", {}).get("taskDefinitionArn") == arn:
            return dict(obj.get("spec") or {})  # the current revision is its spec
    resp = await gw.call("DescribeTaskDefinition", taskDefinition=arn)
    return dict(resp.get("taskDefinition") or {})


async def last_lines(rt: Runtime, gw: EcsGateway, obj: dict[str, Any], task: dict[str, Any]) -> str | None:
    """`last log lines of container app: "…" | "…"`, or None when there is nothing to say."""
    status = obj.get("status", {})
    arn = task.get("taskDefinitionArn") or status.get("taskDefinitionArn")
    container = failed_container(task, status.get("essentialContainers"))
    if not arn or not container:
        return None
    try:
        definition = await _definition(rt, gw, obj["metadata"]["namespace"], str(arn))
        place = awslogs_place(definition, str(task["taskArn"]), container)
        if place.region != gw.region:
            return None
        events = await gw.logs.get_log_events(place.group, place.stream, TAIL_LINES)
    except (ApiError, EcsError) as err:
        log.info("no log lines for failed task %s: %s", task.get("taskArn"), getattr(err, "message", err))
        return None
    lines, _ = bounded(events, TAIL_LINE_CHARS, TAIL_CHARS)
    if not lines:
        return None
    quoted = " | ".join(repr(str(e["message"]).rstrip("\n")) for e in lines)
    return f"last log lines of container {place.container}: {quoted}"
