"""A Task State Change's task in the shape the service-task index keeps (handlers/refresh.py
refresh_service_tasks): DescribeTasks' answer with timestamps as epoch seconds.

The event carries the task as DescribeTasks shows it, its timestamps ISO 8601 strings; which members
are timestamps is read from botocore's ECS model (the Task shape), not listed by hand.
"""

from __future__ import annotations

import datetime
from functools import cache
from typing import Any

import botocore.model

from fargate_operator.schema import model

Paths = tuple[tuple[str, ...], ...]


@cache
def _timestamp_paths() -> Paths:
    found: list[tuple[str, ...]] = []

    def walk(shape: botocore.model.Shape, path: tuple[str, ...], seen: frozenset[str]) -> None:
        if shape.type_name == "timestamp":
            found.append(path)
        elif shape.name not in seen and isinstance(shape, botocore.model.StructureShape):
            for name, member in shape.members.items():
                walk(member, (*path, name), seen | {shape.name})
        elif shape.name not in seen and isinstance(shape, botocore.model.ListShape):
            walk(shape.member, (*path, "[]"), seen | {shape.name})

    walk(model.service_model().shape_for("Task"), (), frozenset())
    return tuple(found)


def _epoch(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return value


def _convert(value: Any, path: tuple[str, ...]) -> Any:
    if not path:
        return _epoch(value)
    head, rest = path[0], path[1:]
    if head == "[]":
        return [_convert(v, rest) for v in value] if isinstance(value, list) else value
    if isinstance(value, dict) and head in value:
        return {**value, head: _convert(value[head], rest)}
    return value


def indexed_task(detail: dict[str, Any]) -> dict[str, Any]:
    """The event's task (its `detail`) with its timestamps as epoch seconds; updatedAt, the event's own, dropped."""
    task = {k: v for k, v in detail.items() if k != "updatedAt"}
    for path in _timestamp_paths():
        task = _convert(task, path)
    return task
