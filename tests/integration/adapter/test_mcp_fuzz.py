"""Hostile input over MCP: tool arguments generated from botocore's model, valid and mutated, through the official client.

Read scope, so generated writes are refused after validation. Property: every
call answers (a result or `isError` with a reason), never a protocol failure,
and structured results fit the tool's output schema (the client checks that).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from anyio.from_thread import start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from botocore_strategies import MODEL, mutate, shape_strategy
from fargate_operator.service.api import EcsApi
from operator_support import OperatorProcess

OPERATIONS = sorted(EcsApi(None, 1).operations)  # type: ignore[arg-type]
EXAMPLES = int(os.environ.get("FARGATE_FUZZ_EXAMPLES", "1000"))


@st.composite
def tool_calls(draw: st.DrawFn) -> tuple[str, dict[str, Any], str]:
    operation = draw(st.sampled_from(OPERATIONS))
    mutation = draw(st.sampled_from(["none", "none", "wrong-type", "drop-required", "unknown-member"]))
    args = mutate(draw, draw(shape_strategy(MODEL.operation_model(operation).input_shape)), mutation)
    return operation.lower(), args, mutation


@asynccontextmanager
async def session_for(url: str, token: str) -> AsyncIterator[ClientSession]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http,
        streamable_http_client(url, http_client=http) as (read, write, *_),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def test_no_protocol_failure_for_generated_tool_calls(
    adapter: OperatorProcess, credentials: dict[str, dict[str, str]]
) -> None:
    outcomes = {"ok": 0, "isError": 0}
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(session_for(adapter.mcp_endpoint, credentials["reader"]["token"])) as session,
    ):

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(tool_calls())
        def check(case: tuple[str, dict[str, Any], str]) -> None:
            name, args, mutation = case
            result = portal.call(session.call_tool, name, args)
            if result.is_error:
                assert result.content and result.content[0].text.strip(), (name, mutation, args)
                outcomes["isError"] += 1
            else:
                assert isinstance(result.structured_content, dict), (name, args)
                outcomes["ok"] += 1

        check()
    assert sum(outcomes.values()) >= EXAMPLES and outcomes["ok"] and outcomes["isError"], outcomes
    print(f"MCP fuzz: {sum(outcomes.values())} tool calls: {outcomes}")
