"""Turn shapes of botocore's bundled ECS model into Kubernetes structural schemas.

The model is the machine-readable source of truth for member names, types,
enums, required members, ranges and documentation. Everything here is a pure
function of that JSON plus the small table of documented limits in
``limits.py``.
"""

from __future__ import annotations

import html
import re
from functools import cache
from typing import Any

from fargate_operator.schema import model
from fargate_operator.schema.limits import MEMBER_LIMITS, SHAPE_REQUIRED

JSONSchema = dict[str, Any]

# Short descriptions keep each CRD under the 256 KiB that client-side
# `kubectl apply` can store in its last-applied annotation.
MAX_DESCRIPTION = 300


@cache
def ecs_model() -> dict[str, Any]:
    return model.raw()


def shapes() -> dict[str, Any]:
    result: dict[str, Any] = ecs_model()["shapes"]
    return result


def request_shape(operation: str) -> str:
    name: str = ecs_model()["operations"][operation]["input"]["shape"]
    return name


_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def doc_text(documentation: str | None, limit: int = MAX_DESCRIPTION) -> str:
    """Plain text of a botocore HTML doc string: its first paragraph, cut at a sentence."""
    if not documentation:
        return ""
    first = documentation.split("</p>", 1)[0]
    text = _SPACE.sub(" ", html.unescape(_TAG.sub("", first))).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    ends = [m.start() for m in _SENTENCE_END.finditer(cut)]
    return cut[: ends[-1]].rstrip() if ends else cut.rsplit(" ", 1)[0] + " …"


def _scalar(shape: dict[str, Any]) -> JSONSchema:
    kind = shape["type"]
    schema: JSONSchema
    if kind == "string":
        schema = {"type": "string"}
        if "enum" in shape:
            schema["enum"] = list(shape["enum"])
        if "min" in shape:
            schema["minLength"] = shape["min"]
        if "max" in shape:
            schema["maxLength"] = shape["max"]
        if "pattern" in shape:
            schema["pattern"] = "^" + shape["pattern"] + "$"
    elif kind in ("integer", "long"):
        schema = {"type": "integer"}
        if kind == "long":
            schema["format"] = "int64"
        if "min" in shape:
            schema["minimum"] = shape["min"]
        if "max" in shape:
            schema["maximum"] = shape["max"]
    elif kind in ("double", "float"):
        schema = {"type": "number"}
        if "min" in shape:
            schema["minimum"] = shape["min"]
        if "max" in shape:
            schema["maximum"] = shape["max"]
    elif kind == "boolean":
        schema = {"type": "boolean"}
    elif kind == "timestamp":
        schema = {"type": "string", "format": "date-time"}
    elif kind == "blob":
        schema = {"type": "string", "format": "byte"}
    else:
        raise ValueError(f"unsupported botocore shape type {kind!r}")
    return schema


def shape_schema(shape_name: str, path: str = "", _stack: tuple[str, ...] = ()) -> JSONSchema:
    """The structural schema of one botocore shape, members documented and required marked.

    ``path`` is the dotted location (e.g. ``ContainerDefinition.healthCheck``)
    used to look up limits that ECS documents but the model does not declare.
    """
    if shape_name in _stack:
        raise ValueError(f"recursive botocore shape {' -> '.join((*_stack, shape_name))}")
    stack = (*_stack, shape_name)
    shape = shapes()[shape_name]
    kind = shape["type"]
    schema: JSONSchema
    if kind == "structure":
        schema = {"type": "object", "properties": {}}
        for member, ref in shape["members"].items():
            member_path = f"{shape_name}.{member}"
            sub = shape_schema(ref["shape"], member_path, stack)
            description = doc_text(ref.get("documentation"))
            if description:
                sub = {"description": description, **sub}
            sub.update(MEMBER_LIMITS.get(member_path, {}))
            schema["properties"][member] = sub
        required = [*shape.get("required", []), *SHAPE_REQUIRED.get(shape_name, [])]
        if required:
            schema["required"] = required
    elif kind == "list":
        schema = {"type": "array", "items": shape_schema(shape["member"]["shape"], path, stack)}
        if "min" in shape and shape["min"] > 0:
            schema["minItems"] = shape["min"]
        if "max" in shape:
            schema["maxItems"] = shape["max"]
    elif kind == "map":
        schema = {"type": "object", "additionalProperties": shape_schema(shape["value"]["shape"], path, stack)}
    else:
        schema = _scalar(shape)
    return schema


def request_members(operation: str) -> dict[str, JSONSchema]:
    """Every member of an operation's request shape, as schemas, in model order."""
    props: dict[str, JSONSchema] = shape_schema(request_shape(operation))["properties"]
    return props


def required_members(operation: str) -> list[str]:
    required: list[str] = shapes()[request_shape(operation)].get("required", [])
    return required
