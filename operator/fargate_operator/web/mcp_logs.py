"""The schemas of the MCP tool `gettasklogs`: a task's container output from CloudWatch Logs (service/task_logs.py).

Not an ECS operation, so its schemas are written here rather than generated from botocore's model
(its row, description included, is GetTaskLogs in service/operations.py).
Authorised as `get fargatetasks/log` (as `get pods/log` is for pods): tools/list shows it to callers
who have that verb in the namespace they address.
"""

from __future__ import annotations

from typing import Any

from fargate_operator.service.task_logs import DEFAULT_LINES, MAX_LINES

INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "task": {"type": "string", "description": "The task's ARN or id (a task of a FargateTask)."},
        "cluster": {"type": "string", "description": "The cluster's short name or ARN (default: default)."},
        "container": {
            "type": "string",
            "description": "The container (default: the only one, else the first essential one).",
        },
        "limit": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_LINES,
            "description": f"At most this many of the newest lines (default {DEFAULT_LINES}).",
        },
        "startTime": {
            "type": "number",
            "minimum": 0,
            "description": "Only lines at or after this time (epoch seconds).",
        },
    },
    "required": ["task"],
    "additionalProperties": False,
}

OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "taskArn": {"type": "string"},
        "container": {"type": "string"},
        "logGroupName": {"type": "string"},
        "logStreamName": {"type": "string"},
        "events": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"timestamp": {"type": "integer"}, "message": {"type": "string"}},
                "required": ["timestamp", "message"],
            },
        },
        "truncated": {"type": "boolean"},
        "note": {"type": "string"},
    },
    "required": ["taskArn", "container", "logGroupName", "logStreamName", "events", "truncated"],
}
