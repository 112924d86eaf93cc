"""The operation table (service/operations.py) is complete and consistent with what reads it.

Every operation the service layer implements has exactly one row; every MCP tool and every REST
operation comes from a row; the rows that say they write are exactly those the access check keeps
from a read-only key. Unit tests: the table and the decisions, not the API server.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest
from mcp.server.auth.provider import AccessToken

from fargate_operator.schema import model
from fargate_operator.service.access import Access, Permission
from fargate_operator.service.api import EcsApi
from fargate_operator.service.identity import Principal
from fargate_operator.service.lookups import Store
from fargate_operator.service.operations import OPERATIONS, TABLE, Implementations
from fargate_operator.web import mcp
from fargate_operator.web.mcp_lazy import McpSettings
from fargate_operator.web.rest import RestAdapter

ECS_OPERATIONS = {
    "RegisterTaskDefinition",
    "DescribeTaskDefinition",
    "ListTaskDefinitions",
    "DeregisterTaskDefinition",
    "RunTask",
    "StopTask",
    "DescribeTasks",
    "ListTasks",
    "CreateService",
    "UpdateService",
    "DeleteService",
    "DescribeServices",
    "ListServices",
    "CreateCluster",
    "DescribeClusters",
    "ExecuteCommand",
    "ContinueServiceDeployment",
    "StopServiceDeployment",
    "ListServiceDeployments",
    "DescribeServiceDeployments",
}
OWN_TOOLS = {"ExecuteCommandOutput", "GetTaskLogs"}  # MCP's own tools: not ECS operations


def implementations() -> Implementations:
    return Implementations.over(Store(None, 1))  # type: ignore[arg-type]  # nothing is called


def operation_methods(impl: Implementations) -> dict[str, Any]:
    """Every public coroutine method of the per-resource modules that takes a call: (caller, p)."""
    found = {}
    for holder in vars(impl).values():
        for name, method in inspect.getmembers(holder, inspect.iscoroutinefunction):
            if not name.startswith("_") and list(inspect.signature(method).parameters) == ["caller", "p"]:
                found[f"{type(holder).__name__}.{name}"] = method
    return found


def test_every_served_operation_has_exactly_one_row() -> None:
    assert len({op.name for op in TABLE}) == len(TABLE), "an operation named twice"
    assert len({op.tool for op in TABLE}) == len(TABLE), "two rows make the same MCP tool"
    assert {op.name for op in TABLE if op.ecs} == ECS_OPERATIONS
    assert {op.name for op in TABLE if not op.ecs} == OWN_TOOLS
    assert ECS_OPERATIONS <= set(model.service_model().operation_names), "an ECS row names no ECS operation"
    impl = implementations()
    methods = operation_methods(impl)
    implemented = [op.implementation(impl) for op in TABLE]
    for op, handler in zip(TABLE, implemented, strict=True):
        assert handler in methods.values(), f"{op.name}: its implementation is no operation method"
    # Each implementing method serves one row, and none is left without a row.
    unserved = [name for name, method in methods.items() if implemented.count(method) != 1]
    assert not unserved, f"operation methods served by no row or by several: {unserved}"


def test_every_rest_operation_and_mcp_tool_comes_from_the_table() -> None:
    api = EcsApi(None, 1, access=Access(review=allow_everything))  # type: ignore[arg-type]
    assert RestAdapter(api, None).operations == ECS_OPERATIONS  # type: ignore[arg-type]
    assert set(api.operations) == ECS_OPERATIONS
    assert set(mcp.OWN_TOOLS) == OWN_TOOLS, "an own tool without schemas, or schemas without a row"
    every_tool = {op.tool for op in TABLE}
    read_tools = {op.tool for op in TABLE if not op.write}
    assert listed_tools(api, read_only=False) == every_tool
    assert listed_tools(api, read_only=True) == read_tools
    assert "executecommandoutput" in every_tool - read_tools and "gettasklogs" in read_tools


async def allow_everything(principal: Principal, namespace: str, permission: Permission) -> bool:
    return True


def listed_tools(api: EcsApi, *, read_only: bool) -> set[str]:
    """tools/list of an MCP server over `api`, for a caller whom RBAC lets do anything."""
    token = AccessToken(
        token="t",
        client_id="u",
        scopes=[],
        claims={"user": "u", "groups": [], "namespace": "team-a", "read_only": False, "via": "test"},
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mcp, "get_access_token", lambda: token)  # the SDK's auth middleware is not running here
        server = mcp.build_server(api, McpSettings(read_only=read_only))
        entry = server.get_request_handler("tools/list")
        assert entry is not None

        async def list_tools() -> Any:
            return await entry.handler(None, None)  # type: ignore[arg-type]  # no request context outside a session

        result = asyncio.run(list_tools())
    return {tool.name for tool in result.tools}


def test_writes_are_exactly_the_rows_the_access_check_keeps_from_a_read_only_key() -> None:
    access = Access(review=allow_everything)
    read_only_key = Principal("u", (), "team-a", read_only=True, via="key ro")

    async def allowed(op_name: str) -> list[bool]:
        return [await access.allowed(read_only_key, "team-a", p) for p in OPERATIONS[op_name].permissions]

    for op in TABLE:
        decisions = asyncio.run(allowed(op.name))
        assert decisions == [not op.write] * len(decisions), f"{op.name}: write={op.write}, read-only key {decisions}"
        assert all(p.acts == op.write for p in op.permissions), op.name
    assert {op.name for op in TABLE if op.write} == {
        "CreateCluster",
        "RegisterTaskDefinition",
        "DeregisterTaskDefinition",
        "RunTask",
        "StopTask",
        "CreateService",
        "UpdateService",
        "DeleteService",
        "ExecuteCommand",
        "ExecuteCommandOutput",
        "ContinueServiceDeployment",
        "StopServiceDeployment",
    }


def test_steering_a_deployment_needs_patch_and_reading_one_get_or_list_on_fargateservices() -> None:
    verbs = {
        name: [str(p) for p in OPERATIONS[name].permissions]
        for name in (
            "ContinueServiceDeployment",
            "StopServiceDeployment",
            "ListServiceDeployments",
            "DescribeServiceDeployments",
        )
    }
    assert verbs == {
        "ContinueServiceDeployment": ["patch fargateservices"],
        "StopServiceDeployment": ["patch fargateservices"],
        "ListServiceDeployments": ["list fargateservices"],
        "DescribeServiceDeployments": ["get fargateservices"],
    }
    assert OPERATIONS["StopServiceDeployment"].destructive and not OPERATIONS["ContinueServiceDeployment"].destructive


def test_only_writes_are_destructive_or_refuse_a_replay() -> None:
    for op in TABLE:
        if not op.write:
            assert not op.destructive and not op.replay_sensitive and op.idempotent is False, op.name
    assert [op.name for op in TABLE if op.replay_sensitive] == ["RunTask"]
