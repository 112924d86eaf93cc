"""Hostile input: requests generated from botocore's ECS model, valid and mutated, against the live adapter.

A read-only credential is used, so generated writes are validated and refused
(403) without creating anything; generated reads run for real. Property: no
5xx, ever, and every refusal is an ECS error body naming what is wrong.
"""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

from hypothesis import HealthCheck, given, settings

from botocore_strategies import EXAMPLES, requests
from fargate_operator.service.api import EcsApi
from operator_support import OperatorProcess

OPERATIONS = sorted(EcsApi(None, 1).operations)  # type: ignore[arg-type]
TARGET = "AmazonEC2ContainerServiceV20141113."


def test_no_5xx_for_generated_and_mutated_requests(
    adapter: OperatorProcess, credentials: dict[str, dict[str, str]]
) -> None:
    url = urlsplit(adapter.rest_endpoint)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    seen: dict[str, int] = {}

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(requests(OPERATIONS))
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
