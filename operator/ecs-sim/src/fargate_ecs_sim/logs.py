"""What an `awslogs` container prints, in CloudWatch Logs where ECS puts it (moto's logs backend, same server).

ECS developer guide, "Send Amazon ECS logs to CloudWatch" (using_awslogs.html): the log group is
`awslogs-group`, in `awslogs-region`; with `awslogs-stream-prefix` the stream is
`prefix-name/container-name/ecs-task-id`; `awslogs-create-group` (default false) lets the task create a
missing group. Without it, a missing group keeps the task from starting: the task stops with
TaskFailedToStart and the awslogs driver's ResourceNotFoundException (docs/ecs-emulator.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from moto.logs.models import logs_backends

# Fargate platform 1.4's wording when the awslogs driver cannot create its stream.
MISSING_GROUP = (
    "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: "
    "failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist."
    " : exit status 1"
)


@dataclass(frozen=True)
class AwsLogs:
    group: str
    region: str
    stream_prefix: str | None
    create_group: bool


def awslogs_of(definition: dict[str, Any], task_region: str) -> AwsLogs | None:
    """The container's awslogs settings (None: another driver, or none)."""
    config = definition.get("logConfiguration") or {}
    options = config.get("options") or {}
    if config.get("logDriver") != "awslogs" or not options.get("awslogs-group"):
        return None
    return AwsLogs(
        group=str(options["awslogs-group"]),
        region=str(options.get("awslogs-region") or task_region),
        stream_prefix=options.get("awslogs-stream-prefix") or None,
        create_group=str(options.get("awslogs-create-group", "false")).lower() == "true",
    )


def stream_name(logs: AwsLogs, container: str, task_id: str) -> str:
    """`prefix/container/task-id` (Fargate requires a prefix; without one, the task id alone)."""
    return f"{logs.stream_prefix}/{container}/{task_id}" if logs.stream_prefix else task_id


def cannot_log(logs: AwsLogs, account: str) -> str | None:
    """Why the task cannot start its logging (a missing group it may not create), else None."""
    if logs.create_group or logs.group in logs_backends[account][logs.region].groups:
        return None
    return MISSING_GROUP


def write(logs: AwsLogs, account: str, stream: str, lines: list[tuple[int, str]]) -> None:
    """Append (epoch milliseconds, message) lines, creating the group (if allowed) and the stream."""
    backend = logs_backends[account][logs.region]
    if logs.group not in backend.groups:
        if not logs.create_group:
            return  # the group was deleted while the task ran: the driver's writes fail, nothing lands
        backend.create_log_group(logs.group, {})
    if stream not in backend.groups[logs.group].streams:
        backend.create_log_stream(logs.group, stream)
    if lines:
        backend.put_log_events(logs.group, stream, [{"timestamp": ms, "message": text} for ms, text in lines])
