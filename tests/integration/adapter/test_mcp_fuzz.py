"""Hostile input over MCP: tool arguments generated from botocore's model, valid and mutated, through the official client.

Three callers take turns (each acts as itself): a read-only key Secret's token, a Kubernetes token
(TokenRequest) of a ServiceAccount with the chart's read-only role, and the same token addressing
a namespace it has no rights in. Generated writes are refused after validation. The operator's own
executecommandoutput tool (arguments from its schema, mutated alike) also gets a caller with the
exec verb, so its checks past RBAC are fuzzed too (it writes nothing; generated tasks do not exist). Property: every
call answers (a result or `isError` with a reason), never a protocol failure, and structured
results fit the tool's output schema (the client checks that). Garbage bearer tokens get 401
with the WWW-Authenticate challenge, never anything else.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from typing import Any

import httpx2
from anyio.from_thread import start_blocking_portal
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from fargate_devenv.world import World
from fargate_operator.service.api import EcsApi
from support import identity as ids
from support.botocore_strategies import MODEL, mutate, shape_strategy
from support.operator_process import OperatorProcess

OPERATIONS = sorted(EcsApi(None, 1).operations)  # type: ignore[arg-type]
EXAMPLES = int(os.environ.get("FARGATE_FUZZ_EXAMPLES", "1000"))
# The fuzzer sends a new token per example as fast as it can: a flood, which the operator's review bounds
# answer with 429 (test_token_flood.py). Here the bounds are out of the way, so every token is judged.
ADAPTER_ENV = {"FARGATE_OPERATOR_TOKEN_REVIEW_RATE": "100000", "FARGATE_OPERATOR_TOKEN_REVIEW_BURST": "100000"}
CALLERS = ("key", "kubernetes", "kubernetes in B")
LOG_READER = "kubernetes, run-tasks role"  # for gettasklogs only: the role has get fargatetasks/log


LOGS_TOOL = "gettasklogs"  # not an ECS operation: its arguments come from its JSON schema (web/mcp_logs.py)
_ANY_JSON = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40))


def _logs_arguments(draw: st.DrawFn, mutation: str) -> dict[str, Any]:
    members: dict[str, st.SearchStrategy[Any]] = {
        "cluster": st.text(max_size=60),
        "container": st.text(max_size=60),
        "limit": st.integers(min_value=-5, max_value=5000),
        "startTime": st.one_of(st.integers(min_value=-10, max_value=2**40), st.floats(allow_nan=False)),
    }
    task = st.one_of(st.text(max_size=100), st.from_regex(r"[0-9a-f]{32}", fullmatch=True))
    args = draw(st.fixed_dictionaries({"task": task}, optional=members))
    if mutation == "wrong-type" and args:
        args[draw(st.sampled_from(sorted(args)))] = draw(_ANY_JSON)
    elif mutation == "drop-required":
        args.pop("task", None)
    elif mutation == "unknown-member":
        args[draw(st.text(min_size=1, max_size=20))] = draw(_ANY_JSON)
    return args


RUN_TOOL = "executecommandoutput"  # the operator's own tool: its arguments are not an ECS shape
_ANY = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20), st.lists(st.integers()))


@st.composite
def run_tool_arguments(draw: st.DrawFn, mutation: str) -> dict[str, Any]:
    """executecommandoutput's arguments: texts and bounds, in range or not, then the same mutations."""
    args: dict[str, Any] = {"task": draw(st.text(max_size=80)), "command": draw(st.text(max_size=200))}
    for name in ("cluster", "container"):
        if draw(st.booleans()):
            args[name] = draw(st.text(max_size=40))
    if draw(st.booleans()):
        args["timeoutSeconds"] = draw(st.one_of(st.floats(allow_nan=True), st.integers(-5, 1000)))
    if draw(st.booleans()):
        args["maxOutputBytes"] = draw(st.integers(-5, 2 << 20))
    if mutation == "wrong-type":
        args[draw(st.sampled_from(sorted(args)))] = draw(_ANY)
    elif mutation == "drop-required":
        args.pop(draw(st.sampled_from(["task", "command"])))
    elif mutation == "unknown-member":
        args[draw(st.text(min_size=1, max_size=12))] = draw(_ANY)
    return args


@st.composite
def tool_calls(draw: st.DrawFn) -> tuple[str, dict[str, Any], str, str]:
    operation = draw(st.sampled_from([*OPERATIONS, RUN_TOOL, LOGS_TOOL]))
    mutation = draw(st.sampled_from(["none", "none", "wrong-type", "drop-required", "unknown-member"]))
    if operation == RUN_TOOL:  # a caller with the exec verb too: the tool reads, it writes nothing
        return RUN_TOOL, draw(run_tool_arguments(mutation)), mutation, draw(st.sampled_from([*CALLERS, "exec"]))
    if operation == LOGS_TOOL:  # also a caller who may read logs, so its arguments get past the check
        return LOGS_TOOL, _logs_arguments(draw, mutation), mutation, draw(st.sampled_from([*CALLERS, LOG_READER]))
    args = mutate(draw, draw(shape_strategy(MODEL.operation_model(operation).input_shape)), mutation)
    return operation.lower(), args, mutation, draw(st.sampled_from(CALLERS))


@asynccontextmanager
async def session_for(url: str, headers: dict[str, str]) -> AsyncIterator[ClientSession]:
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        streamable_http_client(url, http_client=http) as (read, write, *_),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def test_no_protocol_failure_for_generated_tool_calls(
    world: World,
    adapter: OperatorProcess,
    namespace: str,
    other_namespace: str,
    credentials: dict[str, dict[str, str]],
) -> None:
    ids.service_account(world.control_plane, namespace, "fuzz-mcp-ro", ids.READ_ONLY)
    token = ids.token(world.control_plane, namespace, "fuzz-mcp-ro")
    ids.service_account(world.control_plane, namespace, "fuzz-mcp-logs", ids.RUN_TASKS)
    logs_token = ids.token(world.control_plane, namespace, "fuzz-mcp-logs")
    headers = {
        "key": {"Authorization": f"Bearer {credentials['reader']['token']}"},
        "kubernetes": {"Authorization": f"Bearer {token}"},
        "kubernetes in B": {"Authorization": f"Bearer {token}", "X-Fargate-Namespace": other_namespace},
        "exec": {"Authorization": f"Bearer {credentials['writer']['token']}"},
        LOG_READER: {"Authorization": f"Bearer {logs_token}"},
    }
    outcomes = {"ok": 0, "isError": 0}
    run_tool_calls = 0
    callers = dict.fromkeys([*CALLERS, "exec", LOG_READER], 0)
    with start_blocking_portal() as portal, ExitStack() as stack:
        sessions = {
            who: stack.enter_context(portal.wrap_async_context_manager(session_for(adapter.mcp_endpoint, h)))
            for who, h in headers.items()
        }

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(tool_calls())
        # Once at least, whatever the draws: the exec caller is drawn only for one tool of 22 (one in ~88 calls,
        # and Hypothesis's draws are not uniform), and its checks past RBAC are what it is there for.
        @example(
            (RUN_TOOL, {"task": "arn:aws:ecs:us-east-1:123456789012:task/none/0", "command": "true"}, "none", "exec")
        )
        def check(case: tuple[str, dict[str, Any], str, str]) -> None:
            name, args, mutation, who = case
            nonlocal run_tool_calls
            result = portal.call(sessions[who].call_tool, name, args)
            callers[who] += 1
            run_tool_calls += name == RUN_TOOL
            if result.is_error:
                assert result.content and result.content[0].text.strip(), (name, mutation, args)
                text = result.content[0].text
                # A reason in ECS's words (or the tool table's), never an exception that escaped the server.
                assert not text.startswith("ServerException"), (name, mutation, args, text)
                if name == RUN_TOOL:
                    assert re.match(
                        r"(InvalidParameterException|AccessDeniedException|ClientException|ClusterNotFoundException): ",
                        text,
                    ), (
                        args,
                        text,
                    )
                outcomes["isError"] += 1
            else:
                assert who != "kubernetes in B", ("no tool works where the caller has no rights", name)
                assert isinstance(result.structured_content, dict), (name, args)
                outcomes["ok"] += 1

        check()
    assert sum(outcomes.values()) >= EXAMPLES and outcomes["ok"] and outcomes["isError"], outcomes
    assert all(callers[who] for who in [*CALLERS, "exec"]), callers
    assert run_tool_calls, "the exec tool was never called"
    print(
        f"MCP fuzz: {sum(outcomes.values())} tool calls: {outcomes}, by caller: {callers}, exec tool: {run_tool_calls}"
    )


def test_garbage_bearer_tokens_get_the_401_challenge(adapter: OperatorProcess) -> None:
    metadata = adapter.mcp_endpoint.replace("/mcp", "/.well-known/oauth-protected-resource/mcp")
    statuses: dict[int, int] = {}

    @settings(max_examples=max(50, EXAMPLES // 10), deadline=None, database=None)
    @given(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=400))
    def check(token: str) -> None:
        answer = httpx2.post(
            adapter.mcp_endpoint,
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"},
            timeout=30,
        )
        statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
        assert answer.status_code == 401, (token[:40], answer.text[:200])
        assert f'resource_metadata="{metadata}"' in answer.headers["www-authenticate"]

    check()
    print(f"MCP garbage tokens: {statuses}")
