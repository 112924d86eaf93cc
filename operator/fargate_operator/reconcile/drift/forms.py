"""Typed forms of ECS members: pydantic models generated from botocore's ECS shapes.

The same shapes generate the CRDs (schema/shapes.py), so a spec member and the
member ECS answers with parse into one model. Parsing does two jobs for drift detection:
members that are not part of the request shape (read-only ones ECS adds to its answers,
e.g. a deployment's counts) are dropped at every depth, and an answer whose types are not
the model's fails loudly instead of comparing unequal forever.
"""

from __future__ import annotations

import datetime
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, create_model

from fargate_operator.schema import model

_CONFIG = ConfigDict(extra="ignore", frozen=True, strict=True)
_SCALARS: dict[str, Any] = {
    "string": str,
    "integer": int,
    "long": int,
    "boolean": bool,
    "double": float,
    "float": float,
    "timestamp": datetime.datetime,
    "blob": bytes,
}


def _type_of(shape: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return shape_model(shape.name)
    if kind == "list":
        return list[_type_of(shape.member)]  # type: ignore[misc]
    if kind == "map":
        return dict[str, _type_of(shape.value)]  # type: ignore[misc]
    if kind in ("double", "float"):
        return float | int  # JSON has one number type
    return _SCALARS[kind]


@cache
def shape_model(name: str) -> type[BaseModel]:
    """The pydantic model of one botocore structure shape; every member optional."""
    shape = model.service_model().shape_for(name)
    fields: dict[str, Any] = {member: (_type_of(sub) | None, None) for member, sub in shape.members.items()}
    built: type[BaseModel] = create_model(name, __config__=_CONFIG, **fields)
    return built


@cache
def request_form(operation: str, members: frozenset[str]) -> type[BaseModel]:
    """A model of `members` of an operation's request shape (e.g. what drift compares of UpdateService)."""
    shape = model.service_model().operation_model(operation).input_shape
    fields: dict[str, Any] = {m: (_type_of(shape.members[m]) | None, None) for m in sorted(members)}
    built: type[BaseModel] = create_model(f"{operation}Form", __config__=_CONFIG, **fields)
    return built


def parse(form: type[BaseModel], values: dict[str, Any]) -> dict[str, Any]:
    """`values` through `form`: unknown members dropped at every depth, types checked; unset stay unset."""
    dumped: dict[str, Any] = form.model_validate(values).model_dump(mode="json", exclude_unset=True)
    return dumped
