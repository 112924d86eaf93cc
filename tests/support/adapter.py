"""Calling the front doors as a caller: the REST adapter over raw HTTP, MCP through the official client."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import anyio
import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from support.operator_process import OperatorProcess

TARGET = "AmazonEC2ContainerServiceV20141113."


def rest(
    adapter: OperatorProcess, operation: str, params: dict[str, Any], bearer: str, namespace: str | None = None
) -> tuple[int, dict[str, Any]]:
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": TARGET + operation,
        "Authorization": f"Bearer {bearer}",
    }
    if namespace:
        headers["X-Fargate-Namespace"] = namespace
    req = urllib.request.Request(f"{adapter.rest_endpoint}/", json.dumps(params).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def mcp(
    adapter: OperatorProcess, token: str, work: Callable[[ClientSession], Any], namespace: str | None = None
) -> Any:
    headers = {"Authorization": f"Bearer {token}", **({"X-Fargate-Namespace": namespace} if namespace else {})}

    async def run() -> Any:
        async with (
            httpx2.AsyncClient(headers=headers, timeout=60) as http,
            streamable_http_client(adapter.mcp_endpoint, http_client=http) as (read, write, *_),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await work(session)

    return anyio.run(run)
