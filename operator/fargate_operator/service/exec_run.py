"""The non-interactive ExecuteCommand result: bounded time, bounded output, the exit code read back."""

from __future__ import annotations

import time
from typing import Any

import aiohttp

from fargate_operator.execs import channel
from fargate_operator.service.errors import ApiError

DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_TIMEOUT_SECONDS = 300.0
DEFAULT_OUTPUT_BYTES = 64 * 1024
MAX_OUTPUT_BYTES = 1024 * 1024


def bounds(p: dict[str, Any]) -> tuple[float, int]:
    """timeoutSeconds and maxOutputBytes, checked; ApiError naming the field when out of range."""
    timeout = p.get("timeoutSeconds", DEFAULT_TIMEOUT_SECONDS)
    size = p.get("maxOutputBytes", DEFAULT_OUTPUT_BYTES)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 1 <= timeout <= MAX_TIMEOUT_SECONDS:
        raise ApiError(
            "InvalidParameterException", f"timeoutSeconds must be a number from 1 to {MAX_TIMEOUT_SECONDS:g}"
        )
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_OUTPUT_BYTES:
        raise ApiError("InvalidParameterException", f"maxOutputBytes must be an integer from 1 to {MAX_OUTPUT_BYTES}")
    return float(timeout), size


async def run(resp: dict[str, Any], marker: str, p: dict[str, Any], started: float) -> dict[str, Any]:
    timeout, size = bounds(p)
    session = resp.get("session") or {}
    left = max(timeout - (time.monotonic() - started), 0.1)
    try:
        async with aiohttp.ClientSession() as http:
            got = await channel.collect(
                http,
                str(session.get("streamUrl", "")),
                str(session.get("tokenValue", "")),
                timeout=left,
                max_bytes=size,
                marker=marker.encode(),
            )
    except channel.ChannelError as err:
        raise ApiError("TargetNotConnectedException", f"the data channel failed: {err}") from err
    output, code = channel.exit_code(got, marker)
    return {
        "taskArn": resp.get("taskArn"),
        "containerName": resp.get("containerName"),
        # A TTY joins stdout and stderr (ECS Exec sessions are interactive): one stream, \r\n line ends.
        "output": output.decode("utf-8", errors="replace"),
        "outputTruncated": got.truncated,
        "exitCode": code if code is not None else got.agent_exit_code,
        "timedOut": got.timed_out,
        "durationSeconds": round(time.monotonic() - started, 3),
    }
