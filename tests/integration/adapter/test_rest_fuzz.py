"""Hostile input: requests generated from botocore's ECS model, valid and mutated, against the live adapter.

A read-only credential is used, so generated writes are validated and refused
(403) without creating anything; generated reads run for real. Property: no
5xx, ever, and every refusal is an ECS error body naming what is wrong.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import botocore.session
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fargate_operator.service.api import EcsApi
from operator_support import OperatorProcess

MODEL = botocore.session.get_session().get_service_model("ecs")
OPERATIONS = sorted(EcsApi(None, 1).operations)  # type: ignore[arg-type]
TARGET = "AmazonEC2ContainerServiceV20141113."
EXAMPLES = 2500


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


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, bytes, str]:
    operation = draw(st.sampled_from(OPERATIONS))
    body: Any = draw(shape_strategy(MODEL.operation_model(operation).input_shape))
    mutation = draw(
        st.sampled_from(["none", "none", "wrong-type", "drop-required", "unknown-member", "not-an-object", "garbage"])
    )
    if mutation == "wrong-type" and body:
        body[draw(st.sampled_from(sorted(body)))] = draw(WRONG)
    elif mutation == "drop-required" and body:
        body.pop(draw(st.sampled_from(sorted(body))))
    elif mutation == "unknown-member":
        body["notAMember"] = draw(WRONG)
    elif mutation == "not-an-object":
        body = draw(st.lists(st.integers(), max_size=2))
    raw = draw(st.binary(max_size=40)) if mutation == "garbage" else json.dumps(body).encode()
    return operation, raw, mutation


def test_no_5xx_for_generated_and_mutated_requests(
    adapter: OperatorProcess, credentials: dict[str, dict[str, str]]
) -> None:
    url = urlsplit(adapter.rest_endpoint)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    seen: dict[str, int] = {}

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(requests())
    def check(case: tuple[str, bytes, str]) -> None:
        operation, raw, mutation = case
        conn.request(
            "POST",
            "/",
            body=raw,
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": TARGET + operation,
                "Authorization": f"Bearer {credentials['reader']['token']}",
            },
        )
        resp = conn.getresponse()
        payload = resp.read()
        assert resp.status < 500, (operation, mutation, raw[:300], payload[:300])
        if resp.status >= 400:
            err = json.loads(payload)
            assert err["__type"] and err["message"], (operation, payload)
        seen[f"{resp.status}"] = seen.get(f"{resp.status}", 0) + 1

    check()
    conn.close()
    assert sum(seen.values()) >= EXAMPLES and {"200", "400", "403"} <= set(seen), seen
    print(f"fuzz: {sum(seen.values())} requests, by HTTP status: {dict(sorted(seen.items()))}")
