"""A non-interactive client of the Session Manager data channel: run one command, collect its output.

The message flow follows aws/session-manager-plugin (src/datachannel/streaming.go): a text frame
with the token opens the channel; the agent's output_stream_data frames are taken in sequence-number
order and each acknowledged; a handshake request is answered with a handshake response
(SessionType accepted; KMS encryption refused: the operator holds no KMS key); channel_closed ends
it. ECS Exec reports no exit code (aws/amazon-ecs-agent#2846), so the caller wraps the command to
print one after a marker (wrap) and reads it back (exit_code).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import shlex
import time
import uuid
from dataclasses import dataclass

import aiohttp

from fargate_operator.execs import frames

CLIENT_VERSION = "fargate-operator"
RESEND_SECONDS = 1.0  # the plugin resends unacknowledged input after a timeout too
CTRL_C = b"\x03"
TERMINATE_SESSION = (2).to_bytes(4, "big")  # plugin: PayloadTypeFlag TerminateSession (SendFlag, big-endian)


class ChannelError(Exception):
    """The data channel refused or broke: the reason, in words."""


@dataclass
class Collected:
    output: bytes
    truncated: bool
    timed_out: bool
    closed: bool  # the agent closed the channel (the command ended)
    agent_exit_code: int | None  # an ExitCode payload, if the agent sent one
    tail: bytes  # the last bytes that arrived, kept or not (where the exit marker is)


def wrap(command: str) -> tuple[str, str]:
    """The command run through `sh -c`, then a line with a one-time marker and its exit status."""
    marker = f"__FARGATE_EXIT_{secrets.token_hex(6)}__"
    script = f'sh -c "$1"; echo "{marker}$?"'
    return f"sh -c {shlex.quote(script)} sh {shlex.quote(command)}", marker


def exit_code(collected: Collected, marker: str) -> tuple[bytes, int | None]:
    """The output without the marker line, and the status it carries (None: the command never got there)."""
    pattern = re.escape(marker.encode()) + rb"(\d+)\r?\n?"
    found = re.search(pattern, collected.tail)
    code = int(found.group(1)) if found else None
    kept = collected.output
    line = re.search(pattern, kept)
    if line is not None:
        kept = kept[: line.start()] + kept[line.end() :]
    else:  # cut off by the bound: drop a partial marker at the end too
        for size in range(len(marker), 0, -1):
            if kept.endswith(marker.encode()[:size]):
                kept = kept[:-size]
                break
    return kept, code


def _handshake_response(request: bytes) -> tuple[bytes, str | None]:
    """HandshakeResponsePayload for the agent's request; a reason when the session cannot go on."""
    actions, refused = [], None
    for action in json.loads(request or b"{}").get("RequestedClientActions") or []:
        kind = action.get("ActionType")
        if kind == "SessionType":
            actions.append({"ActionType": kind, "ActionStatus": 1})
        else:  # KMSEncryption: ActionStatus 3 (unsupported)
            refused = f"the session asks for {kind}, which the operator does not support"
            actions.append({"ActionType": kind, "ActionStatus": 3, "Error": refused})
    body = {"ClientVersion": CLIENT_VERSION, "ProcessedClientActions": actions, "Errors": []}
    return json.dumps(body).encode(), refused


async def collect(
    session: aiohttp.ClientSession,
    stream_url: str,
    token: str,
    *,
    timeout: float,
    max_bytes: int,
    marker: bytes | None = None,
) -> Collected:
    """Read the channel until it closes, the marker line arrived, or `timeout` seconds passed."""
    deadline = time.monotonic() + timeout
    out = bytearray()
    truncated = timed_out = closed = False
    agent_code: int | None = None
    expected = 0
    early: dict[int, frames.Frame] = {}
    unacked: dict[int, tuple[frames.Frame, float]] = {}
    next_input = 0
    try:
        ws = await session.ws_connect(stream_url, heartbeat=None, max_msg_size=4 << 20)
    except (aiohttp.ClientError, OSError) as err:
        raise ChannelError(f"cannot open the data channel: {err}") from err
    async with ws:
        opening = {
            "MessageSchemaVersion": "1.0",
            "RequestId": str(uuid.uuid4()),
            "TokenValue": token,
            "ClientId": str(uuid.uuid4()),
            "ClientVersion": CLIENT_VERSION,
        }
        await ws.send_str(json.dumps(opening))

        async def send_input(payload_type: int, payload: bytes) -> None:
            nonlocal next_input
            frame = frames.Frame(frames.INPUT, payload, payload_type, next_input)
            next_input += 1
            unacked[frame.sequence_number] = (frame, time.monotonic())
            await ws.send_bytes(frames.encode(frame))

        async def take(frame: frames.Frame) -> str | None:
            nonlocal agent_code, truncated
            if frame.payload_type == frames.HANDSHAKE_REQUEST:
                body, refused = _handshake_response(frame.payload)
                await send_input(frames.HANDSHAKE_RESPONSE, body)
                return refused
            if frame.payload_type in (frames.OUTPUT_PAYLOAD, frames.STDERR_PAYLOAD):
                room = max_bytes - len(out)
                if len(frame.payload) > room:
                    truncated = True
                out.extend(frame.payload[: max(room, 0)])
            elif frame.payload_type == frames.EXIT_CODE_PAYLOAD:
                text = frame.payload.decode(errors="replace").strip()
                agent_code = int(text) if text.lstrip("-").isdigit() else None
            return None

        def done() -> bool:
            # The marker may sit past the kept bytes: look for it in what arrived, kept or not.
            return marker is not None and re.search(re.escape(marker) + rb"\d+\r?\n", tail) is not None

        tail = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                # Out of time: Ctrl-C to the command (its terminal sends SIGINT), then end the session.
                with contextlib.suppress(ConnectionError, aiohttp.ClientError):
                    await send_input(frames.OUTPUT_PAYLOAD, CTRL_C)
                    await send_input(frames.FLAG_PAYLOAD, TERMINATE_SESSION)
                break
            for seq, (frame, sent) in list(unacked.items()):
                if time.monotonic() - sent > RESEND_SECONDS:
                    unacked[seq] = (frame, time.monotonic())
                    await ws.send_bytes(frames.encode(frame))
            try:
                msg = await asyncio.wait_for(ws.receive(), timeout=min(left, RESEND_SECONDS))
            except TimeoutError:
                continue
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                closed = True
                break
            if msg.type == aiohttp.WSMsgType.ERROR:
                raise ChannelError(f"the data channel broke: {ws.exception()}")
            if msg.type != aiohttp.WSMsgType.BINARY:
                continue
            try:
                frame = frames.decode(msg.data)
            except frames.FrameError as err:
                raise ChannelError(f"the data channel sent a bad frame: {err}") from err
            if frame.message_type == frames.ACKNOWLEDGE:
                acked = json.loads(frame.payload or b"{}").get("AcknowledgedMessageSequenceNumber")
                unacked.pop(acked, None)
                continue
            if frame.message_type == frames.CHANNEL_CLOSED:
                closed = True
                break
            if frame.message_type != frames.OUTPUT:
                continue  # start/pause_publication: nothing to do
            if frame.sequence_number < expected:
                await ws.send_bytes(frames.encode(frames.acknowledgement(frame)))  # a resend: ack again
                continue
            early[frame.sequence_number] = frame
            while expected in early:
                current = early.pop(expected)
                refused = await take(current)
                await ws.send_bytes(frames.encode(frames.acknowledgement(current)))
                if refused:
                    raise ChannelError(refused)
                if current.payload_type in (frames.OUTPUT_PAYLOAD, frames.STDERR_PAYLOAD):
                    tail = (tail + current.payload)[-4096:]
                expected += 1
            if done():
                break
    return Collected(bytes(out), truncated, timed_out, closed, agent_code, tail)
