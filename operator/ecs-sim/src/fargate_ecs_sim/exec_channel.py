"""The emulator's Session Manager data channel: a WebSocket server on loopback for ExecuteCommand sessions.

The agent's side of the flow aws/session-manager-plugin expects (src/datachannel/streaming.go):
the client's first text frame carries the session token; the agent sends a handshake request
(SessionType InteractiveCommands) as output_stream_data seq 0, waits for the handshake response,
sends handshake complete, then the command's output (payload type Output) in sequence, and
channel_closed when the command ends. Every client input_stream_data is acknowledged; the
client's acknowledgements are taken and unacknowledged output is resent. No ExitCode payload is
sent: ECS Exec reports none (aws/amazon-ecs-agent#2846), and the plugin would print it.
What runs is exec_shell's simulated shell, never a host process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from fargate_ecs_sim import ssm_frames as frames
from fargate_ecs_sim.exec_shell import MAX_SESSION_SECONDS, SHELLS, Shell, Stop

log = logging.getLogger("ecs_sim.exec")
PORT_ENV = "FARGATE_ECS_SIM_EXEC_PORT"  # the data channel's loopback port (default: any free one)
TOKEN_TTL = 60.0  # an unopened session expires (the plugin opens it at once)
TERMINATE_SESSION = (2).to_bytes(4, "big")  # plugin: PayloadTypeFlag TerminateSession, as SendFlag writes it


@dataclass
class ExecSession:
    session_id: str
    token: str
    command: str
    env: dict[str, str]
    host: str
    created: float = field(default_factory=time.monotonic)


class ExecChannels:
    """Sessions handed out by ExecuteCommand, and the WebSocket server that serves them."""

    def __init__(self) -> None:
        self.sessions: dict[str, ExecSession] = {}
        self.lock = threading.Lock()
        self.port = 0
        self.host = "127.0.0.1"
        self.loop: asyncio.AbstractEventLoop | None = None

    def new_session(self, command: str, env: dict[str, str], host: str, name: str) -> dict[str, str]:
        with self.lock:
            if self.loop is None:
                self.start(port=int(os.environ.get(PORT_ENV) or 0))
        session_id = f"ecs-execute-command-{name}-{secrets.token_hex(8)}"
        token = secrets.token_urlsafe(48)
        with self.lock:
            now = time.monotonic()
            for sid in [s for s, v in self.sessions.items() if now - v.created > TOKEN_TTL]:
                del self.sessions[sid]
            self.sessions[session_id] = ExecSession(session_id, token, command, env, host)
        url = f"ws://{self.host}:{self.port}/v1/data-channel/{session_id}?role=publish_subscribe"
        return {"sessionId": session_id, "streamUrl": url, "tokenValue": token}

    def start(self, port: int = 0) -> None:
        """Serve on loopback, on a thread of its own; returns once the port is bound."""
        ready = threading.Event()
        host = self.host

        def serve() -> None:
            loop = asyncio.new_event_loop()
            app = web.Application()
            app.router.add_get("/v1/data-channel/{session_id}", self.handle)
            runner = web.AppRunner(app, handle_signals=False)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, host, port)
            loop.run_until_complete(site.start())
            server = getattr(site, "_server", None)
            sockets = getattr(server, "sockets", None) or []
            self.port = sockets[0].getsockname()[1] if sockets else port
            self.loop = loop
            ready.set()
            loop.run_forever()

        threading.Thread(target=serve, name="ecs-sim-exec", daemon=True).start()
        ready.wait(10)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=1 << 20)
        await ws.prepare(request)
        session_id = request.match_info["session_id"]
        try:
            opening = await ws.receive(timeout=30)
            token = json.loads(opening.data).get("TokenValue") if opening.type == WSMsgType.TEXT else None
        except (TimeoutError, ValueError, AttributeError):
            token = None
        with self.lock:
            session = self.sessions.get(session_id)
            if session is not None and secrets.compare_digest(str(token), session.token):
                del self.sessions[session_id]  # one connection per session
            else:
                session = None
        if session is None:
            await ws.close(code=4001, message=b"invalid session token")
            return ws
        await Agent(ws, session).run()
        return ws


class Agent:
    """One session, from the agent's side."""

    def __init__(self, ws: web.WebSocketResponse, session: ExecSession) -> None:
        self.ws = ws
        self.session = session
        self.seq = 0
        self.unacked: dict[int, tuple[bytes, float]] = {}
        self.handshaken = asyncio.Event()
        self.input: asyncio.Queue[bytes] = asyncio.Queue()
        self.expected_input = 0
        self.shell: Shell | None = None
        self.is_shell = session.command.strip().rsplit("/", 1)[-1] in SHELLS

    async def send_output(self, payload: bytes, payload_type: int = frames.OUTPUT_PAYLOAD) -> None:
        data = frames.encode(frames.Frame(frames.OUTPUT, payload, payload_type, self.seq))
        self.unacked[self.seq] = (data, time.monotonic())
        self.seq += 1
        await self.ws.send_bytes(data)

    async def run(self) -> None:
        reader = asyncio.create_task(self.read())
        try:
            request = {
                "AgentVersion": "3.3.0.0",
                "RequestedClientActions": [
                    {"ActionType": "SessionType", "ActionParameters": {"SessionType": "InteractiveCommands"}}
                ],
            }
            await self.send_output(json.dumps(request).encode(), frames.HANDSHAKE_REQUEST)
            await asyncio.wait_for(self.handshaken.wait(), 30)
            await self.send_output(
                json.dumps({"HandshakeTimeToComplete": 1000000, "CustomerMessage": ""}).encode(),
                frames.HANDSHAKE_COMPLETE,
            )
            await self.execute()
            await self.drain()
            closed = {
                "MessageId": str(uuid.uuid4()),
                "CreatedDate": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "DestinationId": "",
                "SessionId": self.session.session_id,
                "MessageType": "channel_closed",
                "SchemaVersion": 1,
                "Output": "",
            }
            close = frames.Frame(frames.CHANNEL_CLOSED, json.dumps(closed).encode(), 0, self.seq)
            await self.ws.send_bytes(frames.encode(close))
        except (TimeoutError, ConnectionError) as err:
            log.info("exec session %s ended: %r", self.session.session_id, err)
        finally:
            reader.cancel()
            if self.shell is not None:
                self.shell.cancel.set()  # the client is gone or the session over: stop the command
            self.input.put_nowait(b"\x04")
            await self.ws.close()

    async def execute(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + MAX_SESSION_SECONDS
        outbox: asyncio.Queue[bytes | None] = asyncio.Queue()

        def write(data: bytes) -> None:
            loop.call_soon_threadsafe(outbox.put_nowait, data)

        shell = self.shell = Shell(self.session.env, write, deadline, self.session.host)

        def work() -> None:
            try:
                if self.is_shell:
                    self.interactive(shell, deadline, loop)
                else:
                    shell.run(self.session.command)
            except Stop:
                pass
            finally:
                loop.call_soon_threadsafe(outbox.put_nowait, None)

        worker = loop.run_in_executor(None, work)
        while (data := await outbox.get()) is not None:
            if data:
                await self.send_output(data)
        await worker

    def interactive(self, shell: Shell, deadline: float, loop: asyncio.AbstractEventLoop) -> None:
        """A shell read line by line from the client's keystrokes, echoed as a TTY does."""
        line = bytearray()
        shell.write("# ")
        while time.monotonic() < deadline:
            future = asyncio.run_coroutine_threadsafe(self.input.get(), loop)
            try:
                data = future.result(timeout=max(deadline - time.monotonic(), 0.01))
            except TimeoutError:
                future.cancel()
                raise Stop(124) from None
            for byte in data:
                if byte in (13, 10):
                    shell.write("\n")
                    shell.run(line.decode(errors="replace"))
                    line.clear()
                    shell.write("# ")
                elif byte in (8, 127):
                    if line:
                        line.pop()
                        shell.write("\b \b")
                elif byte == 4 and not line:  # ^D
                    raise Stop(shell.status)
                else:
                    line.append(byte)
                    shell.write(chr(byte))

    async def drain(self) -> None:
        """Wait (bounded) for the client to acknowledge every output frame, resending as the plugin's peer does."""
        end = time.monotonic() + 10
        while self.unacked and time.monotonic() < end:
            await asyncio.sleep(0.05)
            for seq, (data, sent) in list(self.unacked.items()):
                if time.monotonic() - sent > 0.5:
                    self.unacked[seq] = (data, time.monotonic())
                    await self.ws.send_bytes(data)

    async def read(self) -> None:
        try:
            await self._read()
        finally:
            if self.shell is not None:
                self.shell.cancel.set()

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type != WSMsgType.BINARY:
                continue
            try:
                frame = frames.decode(msg.data)
            except frames.FrameError as err:
                log.info("exec session %s: bad frame: %s", self.session.session_id, err)
                continue
            if frame.message_type == frames.ACKNOWLEDGE:
                acked: Any = json.loads(frame.payload or b"{}").get("AcknowledgedMessageSequenceNumber")
                self.unacked.pop(acked, None)
                continue
            if frame.message_type != frames.INPUT:
                continue
            await self.ws.send_bytes(frames.encode(frames.acknowledgement(frame)))
            if frame.sequence_number != self.expected_input:
                continue  # a resend of what was taken (or out of order: the client resends it)
            self.expected_input += 1
            if frame.payload_type == frames.HANDSHAKE_RESPONSE:
                self.handshaken.set()
            elif frame.payload_type == frames.OUTPUT_PAYLOAD:  # keystrokes (the plugin sends them as Output)
                if b"\x03" in frame.payload and not self.is_shell and self.shell is not None:
                    self.shell.cancel.set()  # Ctrl-C: the terminal sends SIGINT to the command
                await self.input.put(frame.payload)
            elif frame.payload_type == frames.FLAG_PAYLOAD and frame.payload == TERMINATE_SESSION:
                if self.shell is not None:
                    self.shell.cancel.set()
                await self.input.put(b"\x04")


CHANNELS = ExecChannels()
