"""A task's container logs (awslogs) from CloudWatch Logs, for callers who may `get fargatetasks/log`.

Where to read comes from the task's own task definition revision as ECS registered it (its
container's logConfiguration), never from the caller: the group and stream a caller reads are those
of a FargateTask it may see, in the object's account and region (its gateway's credentials). Answers
are bounded (lines, bytes per line, bytes in all) and say when they were cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fargate_operator.ecs.errors import EcsError
from fargate_operator.service.access import Caller
from fargate_operator.service.errors import ApiError, from_ecs, invalid
from fargate_operator.service.lookups import Store
from fargate_operator.service.task_definitions import TaskDefinitions

DEFAULT_LINES = 100
MAX_LINES = 1000  # GetLogEvents answers at most 10,000 events; an agent's context wants far fewer
MAX_LINE_CHARS = 2048
MAX_TOTAL_CHARS = 64 * 1024
MEMBERS = frozenset({"task", "cluster", "container", "limit", "startTime"})


@dataclass(frozen=True)
class LogPlace:
    container: str
    group: str
    region: str
    stream: str


def awslogs_place(task_definition: dict[str, Any], task_arn: str, container: str | None) -> LogPlace:
    """Where ECS sends a container's awslogs output: `awslogs-group`, stream `prefix/container/task-id`
    (ECS developer guide, using_awslogs.html). `container` None: the only one, else the first essential."""
    definitions = task_definition.get("containerDefinitions") or []
    names = [str(d.get("name")) for d in definitions]
    if container is None:
        chosen = (
            definitions[0]
            if len(definitions) == 1
            else next((d for d in definitions if d.get("essential", True)), None)
        )
    else:
        chosen = next((d for d in definitions if d.get("name") == container), None)
    if chosen is None:
        raise invalid(f"container: {container!r} is not a container of this task; its containers: {', '.join(names)}")
    name = str(chosen["name"])
    config = chosen.get("logConfiguration") or {}
    options = config.get("options") or {}
    if config.get("logDriver") != "awslogs" or not options.get("awslogs-group"):
        driver = config.get("logDriver") or "none"
        raise invalid(
            f"container {name} does not use the awslogs log driver (logDriver: {driver}): its output is not in "
            "CloudWatch Logs"
        )
    prefix = options.get("awslogs-stream-prefix")
    if not prefix:
        raise invalid(f"container {name} has no awslogs-stream-prefix: its log stream cannot be named")
    task_id = task_arn.rsplit("/", 1)[-1]
    region = str(options.get("awslogs-region") or task_arn.split(":")[3])
    return LogPlace(name, str(options["awslogs-group"]), region, f"{prefix}/{name}/{task_id}")


def bounded(events: list[dict[str, Any]], max_line: int, max_total: int) -> tuple[list[dict[str, Any]], bool]:
    """The newest events that fit `max_total` characters, each cut at `max_line`; whether anything was cut."""
    kept: list[dict[str, Any]] = []
    total, cut = 0, False
    for event in reversed(events):
        message = str(event.get("message", ""))
        if len(message) > max_line:
            message, cut = message[:max_line] + " [line truncated]", True
        if total + len(message) > max_total:
            cut = True
            break
        total += len(message)
        kept.append({"timestamp": event.get("timestamp"), "message": message})
    kept.reverse()
    return kept, cut


class TaskLogs:
    def __init__(self, store: Store, task_definitions: TaskDefinitions) -> None:
        self.store = store
        self.task_definitions = task_definitions

    async def get_task_logs(self, caller: Caller, p: dict[str, Any]) -> dict[str, Any]:
        ns = caller.ns
        unknown = sorted(set(p) - MEMBERS)
        if unknown:
            raise invalid(f"unknown member(s) {', '.join(unknown)}; allowed: {', '.join(sorted(MEMBERS))}")
        for name in ("cluster", "container"):
            if p.get(name) is not None and not isinstance(p[name], str):
                raise invalid(f"{name}: a name (string)")
        ref = p.get("task")
        if not isinstance(ref, str) or not ref:
            raise invalid("task: required, a task ARN or id")
        limit = p.get("limit", DEFAULT_LINES)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LINES:
            raise invalid(f"limit: a whole number of lines from 1 to {MAX_LINES}")
        since = p.get("startTime")
        if since is not None and (not isinstance(since, (int, float)) or isinstance(since, bool) or since < 0):
            raise invalid("startTime: epoch seconds (lines at or after it)")
        container = p.get("container")
        cluster = self.store.require_cluster(ns, p.get("cluster")).name
        obj = self.store.find_task(ns, cluster, ref)
        if obj is None:
            raise invalid("The specified task was not found.")
        task_id = ref.rsplit("/", 1)[-1]
        task = next(t for t in obj["status"]["tasks"] if str(t.get("taskArn", "")).endswith(f"/{task_id}"))
        td_arn = task.get("taskDefinitionArn") or obj["status"].get("taskDefinitionArn")
        if not td_arn:
            raise invalid("the task's task definition revision is not recorded yet")
        definition, _, _ = await self.task_definitions.registered(ns, str(td_arn))
        place = awslogs_place(definition, str(task["taskArn"]), container)
        gateway = self.store.gateway_for(obj)
        if place.region != gateway.region:
            raise invalid(
                f"container {place.container} logs to awslogs-region {place.region}, not the task's region "
                f"{gateway.region}: not read across regions"
            )
        start = None if since is None else int(since * 1000)
        note = ""
        try:
            events = await gateway.logs.get_log_events(place.group, place.stream, limit, start)
        except EcsError as err:
            if err.code != "ResourceNotFoundException":
                raise from_ecs(err) from err
            events, note = [], "no log stream yet: the container has not started, or its log group is missing"
        lines, cut = bounded(events, MAX_LINE_CHARS, MAX_TOTAL_CHARS)
        answer: dict[str, Any] = {
            "taskArn": task["taskArn"],
            "container": place.container,
            "logGroupName": place.group,
            "logStreamName": place.stream,
            "events": lines,  # oldest first: the newest line is last
            "truncated": cut,
        }
        if cut:
            note = f"cut to the newest lines within {MAX_TOTAL_CHARS} characters, each at most {MAX_LINE_CHARS}"
        elif len(events) == limit:
            note = f"the newest {limit} lines: earlier ones may exist (a larger limit, or startTime)"
        if note:
            answer["note"] = note
        return answer


__all__ = ["ApiError", "LogPlace", "TaskLogs", "awslogs_place", "bounded"]
