"""Hypothesis strategies that generate ECS requests from botocore's model, then mutate some of them."""

from __future__ import annotations

import json
import os
from typing import Any

import botocore.session
from hypothesis import strategies as st

MODEL = botocore.session.get_session().get_service_model("ecs")
# make test runs a few thousand cases per suite; `make fuzz` sets 10,000+.
EXAMPLES = int(os.environ.get("FARGATE_FUZZ_EXAMPLES", "2500"))


def shape_strategy(shape: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    kind = shape.type_name
    if kind == "structure":
        members = shape.members
        required = {n: shape_strategy(members[n], depth + 1) for n in shape.required_members}
        optional = (
            {} if depth >= 3 else {n: shape_strategy(s, depth + 1) for n, s in members.items() if n not in required}
        )
        return st.fixed_dictionaries(required, optional=optional)
    if kind == "list":
        return st.lists(shape_strategy(shape.member, depth + 1), max_size=0 if depth >= 4 else 3)
    if kind == "map":
        return st.dictionaries(st.text(max_size=8), shape_strategy(shape.value, depth + 1), max_size=2)
    if kind == "string":
        if shape.enum:
            return st.sampled_from(shape.enum)
        return st.one_of(
            st.text(max_size=24), st.sampled_from(["default", "web", "web:1", "arn:aws:ecs:us-east-1:1:cluster/x"])
        )
    if kind in ("integer", "long"):
        return st.integers(min_value=-5, max_value=20_000)
    if kind in ("double", "float"):
        return st.floats(allow_nan=False, allow_infinity=False, width=32)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return st.integers(min_value=0, max_value=2_000_000_000)
    return st.none()


WRONG = st.one_of(
    st.integers(),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.none(),
    st.booleans(),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
MUTATIONS = ["none", "none", "wrong-type", "drop-required", "unknown-member", "not-an-object", "garbage"]


def mutate(draw: st.DrawFn, body: Any, mutation: str) -> Any:
    if mutation == "wrong-type" and body:
        body[draw(st.sampled_from(sorted(body)))] = draw(WRONG)
    elif mutation == "drop-required" and body:
        body.pop(draw(st.sampled_from(sorted(body))))
    elif mutation == "unknown-member":
        body["notAMember"] = draw(WRONG)
    elif mutation == "not-an-object":
        body = draw(st.lists(st.integers(), max_size=2))
    return body


@st.composite
def requests(draw: st.DrawFn, operations: list[str]) -> tuple[str, bytes, str]:
    """(operation, raw JSON body or garbage, mutation name)."""
    operation = draw(st.sampled_from(operations))
    mutation = draw(st.sampled_from(MUTATIONS))
    body = mutate(draw, draw(shape_strategy(MODEL.operation_model(operation).input_shape)), mutation)
    raw = draw(st.binary(max_size=40)) if mutation == "garbage" else json.dumps(body).encode()
    return operation, raw, mutation
