"""Hostile input: requests generated from botocore's ECS model, valid and mutated, against the live adapter.

Every way in is fuzzed with them (each acts as itself): a read-only key Secret's bearer token, a Kubernetes
token (TokenRequest) of a ServiceAccount with the chart's read-only role, the same addressing a
namespace it has no rights in, a token made for another audience, garbage tokens and garbage
X-Fargate-Namespace values. Generated writes are validated and refused (403) without creating
anything; generated reads run for real. Property: no 5xx, ever, and every refusal is an ECS error
body naming what is wrong.
"""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fargate_devenv.world import World
from fargate_operator.service.api import EcsApi
from support import identity as ids
from support.botocore_strategies import EXAMPLES, requests
from support.operator_process import OperatorProcess

OPERATIONS = sorted(EcsApi(None, 1).operations)  # type: ignore[arg-type]
TARGET = "AmazonEC2ContainerServiceV20141113."
# Header values HTTP allows (RFC 9110 field-vchar: visible ASCII and obs-text; no controls, no DEL).
HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f"), min_size=1, max_size=60
)


@pytest.fixture(scope="module")
def bearers(world: World, namespace: str, credentials: dict[str, dict[str, str]]) -> dict[str, str]:
    cp = world.control_plane
    ids.service_account(cp, namespace, "fuzz-ro", ids.READ_ONLY)
    return {
        "key": credentials["reader"]["token"],
        "kubernetes": ids.token(cp, namespace, "fuzz-ro"),
        "other audience": ids.token(cp, namespace, "fuzz-ro", audience="vault"),
    }


@st.composite
def auth(draw: st.DrawFn, bearers: dict[str, str], other_namespace: str) -> tuple[str, dict[str, str]]:
    """(how, headers): one of the ways a caller presents itself, valid or not."""
    how = draw(st.sampled_from(["key", "kubernetes", "kubernetes in B", "other audience", "garbage", "bad namespace"]))
    token = bearers.get(how.removesuffix(" in B")) or bearers["kubernetes"]
    headers = {"Authorization": f"Bearer {token}"}
    if how == "kubernetes in B":
        headers["X-Fargate-Namespace"] = other_namespace
    elif how == "garbage":
        headers["Authorization"] = f"Bearer {draw(HEADER_TEXT)}"
    elif how == "bad namespace":
        headers["X-Fargate-Namespace"] = draw(HEADER_TEXT)
    return how, headers


def test_no_5xx_for_generated_and_mutated_requests(
    adapter: OperatorProcess, bearers: dict[str, str], other_namespace: str
) -> None:
    url = urlsplit(adapter.rest_endpoint)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    seen: dict[str, int] = {}
    ways: dict[str, int] = {}

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(requests(OPERATIONS), auth(bearers, other_namespace))
    def check(case: tuple[str, bytes, str], caller: tuple[str, dict[str, str]]) -> None:
        operation, raw, mutation = case
        how, headers = caller
        conn.request(
            "POST",
            "/",
            body=raw,
            headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET + operation, **headers},
        )
        resp = conn.getresponse()
        payload = resp.read()
        assert resp.status < 500, (operation, mutation, how, raw[:300], payload[:300])
        if resp.status >= 400:
            err = json.loads(payload)
            assert err["__type"] and err["message"], (operation, payload)
        if how in ("other audience", "garbage"):
            # Never authenticated: refused as unknown, unless the request fails the protocol checks first.
            assert resp.status != 200 and json.loads(payload)["__type"] != "AccessDeniedException", (how, payload)
        seen[f"{resp.status}"] = seen.get(f"{resp.status}", 0) + 1
        ways[how] = ways.get(how, 0) + 1

    check()
    conn.close()
    assert sum(seen.values()) >= EXAMPLES and {"200", "400", "403"} <= set(seen), seen
    assert len(ways) == 6, ways
    print(f"fuzz: {sum(seen.values())} requests, by HTTP status: {dict(sorted(seen.items()))}, by caller: {ways}")
