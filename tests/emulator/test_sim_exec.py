"""The emulator's ExecuteCommand: ECS's refusals, and a session served over the Session Manager data channel.

The client is the operator's data-channel client (fargate_operator.execs.channel), which follows
aws/session-manager-plugin's message flow; docs/ecs-emulator.md cites the sources.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest
from botocore.exceptions import ClientError

from fargate_devenv.ecs_emulator import Network
from fargate_operator.execs import channel, frames
from support.emulator import container, register, run, running, stopped, wait_task


def _exec_task(ecs: Any, cluster: str, network: Network, *containers: dict[str, Any], enable: bool = True) -> str:
    td = register(ecs, "execd", *(containers or (container("app", environment=[{"name": "GREETING", "value": "hi"}]),)))
    arn = run(ecs, cluster, td, network, enableExecuteCommand=enable)["taskArn"]
    wait_task(ecs, cluster, arn, running, "RUNNING")
    return arn


def _code(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


async def _collect(session: dict[str, str], marker: str | None = None, timeout: float = 20) -> channel.Collected:
    async with aiohttp.ClientSession() as http:
        return await channel.collect(
            http,
            session["streamUrl"],
            session["tokenValue"],
            timeout=timeout,
            max_bytes=1 << 16,
            marker=marker.encode() if marker else None,
        )


def test_execute_command_runs_the_command_and_closes_the_channel(ecs: Any, cluster: str, network: Network) -> None:
    arn = _exec_task(ecs, cluster, network)
    out = ecs.execute_command(cluster=cluster, task=arn, command="echo $GREETING world", interactive=True)
    assert out["containerName"] == "app" and out["interactive"] is True
    assert out["session"]["streamUrl"].startswith("ws://127.0.0.1:")
    got = asyncio.run(_collect(out["session"]))
    assert got.closed and not got.timed_out
    assert got.output == b"hi world\r\n"


def test_wrapped_command_reports_its_exit_code(ecs: Any, cluster: str, network: Network) -> None:
    arn = _exec_task(ecs, cluster, network)
    command, marker = channel.wrap("echo before; exit 7")
    out = ecs.execute_command(cluster=cluster, task=arn, command=command, interactive=True)
    got = asyncio.run(_collect(out["session"], marker))
    output, code = channel.exit_code(got, marker)
    assert (output, code) == (b"before\r\n", 7)


def test_a_session_token_opens_the_channel_once(ecs: Any, cluster: str, network: Network) -> None:
    arn = _exec_task(ecs, cluster, network)
    session = ecs.execute_command(cluster=cluster, task=arn, command="true", interactive=True)["session"]
    asyncio.run(_collect(session))
    again = asyncio.run(_collect(session, timeout=5))
    assert again.closed and again.output == b""


def test_execute_command_refusals_are_ecs_errors(ecs: Any, cluster: str, network: Network) -> None:
    plain = _exec_task(ecs, cluster, network, enable=False)
    code, message = _code(lambda: ecs.execute_command(cluster=cluster, task=plain, command="ls", interactive=True))
    assert code == "InvalidParameterException" and "execute command was not enabled" in message
    arn = _exec_task(ecs, cluster, network)
    code, message = _code(lambda: ecs.execute_command(cluster=cluster, task=arn, command="ls", interactive=False))
    assert (code, message) == ("InvalidParameterException", "Interactive is the only mode supported currently.")
    code, _ = _code(
        lambda: ecs.execute_command(cluster=cluster, task=arn, container="nope", command="ls", interactive=True)
    )
    assert code == "InvalidParameterException"
    code, _ = _code(lambda: ecs.execute_command(cluster="nocluster", task=arn, command="ls", interactive=True))
    assert code == "ClusterNotFoundException"
    ecs.stop_task(cluster=cluster, task=arn)
    wait_task(ecs, cluster, arn, stopped, "STOPPED")
    code, _ = _code(lambda: ecs.execute_command(cluster=cluster, task=arn, command="ls", interactive=True))
    assert code == "TargetNotConnectedException"


def test_a_task_of_several_containers_needs_the_container_named(ecs: Any, cluster: str, network: Network) -> None:
    arn = _exec_task(ecs, cluster, network, container("a"), container("b"))
    code, _ = _code(lambda: ecs.execute_command(cluster=cluster, task=arn, command="ls", interactive=True))
    assert code == "InvalidParameterException"
    out = ecs.execute_command(cluster=cluster, task=arn, container="b", command="hostname", interactive=True)
    assert out["containerName"] == "b"
    assert asyncio.run(_collect(out["session"])).output.startswith(b"ip-")


async def _converse(session: dict[str, str], keys: list[bytes]) -> tuple[bytes, float]:
    """Message by message as the plugin: open, answer the handshake, ack output; after each output, the next keys."""
    started = time.monotonic()
    out = b""
    keys = list(keys)
    async with aiohttp.ClientSession() as http, http.ws_connect(session["streamUrl"]) as ws:
        opening = {"MessageSchemaVersion": "1.0", "RequestId": "r", "ClientId": "c", "ClientVersion": "test"}
        await ws.send_str(json.dumps({**opening, "TokenValue": session["tokenValue"]}))
        sent = 0

        async def send(payload_type: int, payload: bytes) -> None:
            nonlocal sent
            await ws.send_bytes(frames.encode(frames.Frame(frames.INPUT, payload, payload_type, sent)))
            sent += 1

        async for msg in ws:
            frame = frames.decode(msg.data)
            if frame.message_type == frames.CHANNEL_CLOSED:
                return out, time.monotonic() - started
            if frame.message_type != frames.OUTPUT:
                continue
            await ws.send_bytes(frames.encode(frames.acknowledgement(frame)))
            if frame.payload_type == frames.HANDSHAKE_REQUEST:
                action = {"ActionType": "SessionType", "ActionStatus": 1}
                body = {"ClientVersion": "test", "ProcessedClientActions": [action], "Errors": []}
                await send(frames.HANDSHAKE_RESPONSE, json.dumps(body).encode())
            elif frame.payload_type == frames.OUTPUT_PAYLOAD:
                out += frame.payload
                if keys:
                    await send(frames.OUTPUT_PAYLOAD, keys.pop(0))
    raise AssertionError(f"the channel ended without channel_closed; output {out!r}")


def test_ctrl_c_stops_the_command_and_closes_the_channel(ecs: Any, cluster: str, network: Network) -> None:
    arn = _exec_task(ecs, cluster, network)
    session = ecs.execute_command(cluster=cluster, task=arn, command="echo go; sleep 60", interactive=True)["session"]
    out, seconds = asyncio.run(_converse(session, [b"\x03"]))
    assert out == b"go\r\n" and seconds < 10


def test_a_bare_shell_is_interactive_and_echoes_keystrokes(ecs: Any, cluster: str, network: Network) -> None:
    """`--command /bin/sh`: a prompt, keystrokes echoed as a terminal does, a line runs on Enter, exit ends it."""
    arn = _exec_task(ecs, cluster, network)
    session = ecs.execute_command(cluster=cluster, task=arn, command="/bin/sh", interactive=True)["session"]
    out, _ = asyncio.run(_converse(session, [b"echo $GREETING\r", b"exit 4\r"]))
    assert out.startswith(b"# echo $GREETING\r\nhi\r\n# ") and out.endswith(b"exit 4\r\n"), out
