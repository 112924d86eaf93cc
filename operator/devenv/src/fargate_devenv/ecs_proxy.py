"""An HTTP proxy in front of the ECS emulator: counts calls, injects faults, can hold back an answer.

Tests and benchmarks point the operator at it to measure how many ECS calls a
scenario costs and how it copes with ECS misbehaving: ThrottlingException,
HTTP 500 / 503, added latency and dropped connections, by rate and by action
(faults are decided before the request reaches ECS, so a faulted call has no
effect there). STS calls (the query protocol's Action) are counted too, as "sts:<Action>",
and every AssumeRole by (role, session name): what a FargateAccount's sessions cost. An
interceptor per action can stand in for ECS behaviour the emulator lacks (it sees the
request and may forward any request upstream). It binds 127.0.0.1 only and stops with its owner.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}

Answer = tuple[int, dict[str, Any]]  # HTTP status, JSON body
Forward = Callable[[str, dict[str, Any]], Answer]  # (action, request) -> the emulator's answer
Interceptor = Callable[[dict[str, Any], Forward], Answer]  # (request, forward) -> the answer to send


@dataclass(frozen=True)
class Call:
    """One ECS request that reached the proxy (journal=True): when, what, the request's clientToken, and the
    fault answered instead of forwarding it (None: forwarded to ECS)."""

    at: float  # time.time() when it was forwarded or faulted (after any injected latency)
    action: str
    client_token: str | None
    user_agent: str = ""  # the operator names the object a call is made for here (ecs/gateway.py)
    fault: str | None = None


@dataclass(frozen=True)
class Faults:
    """Rates in 0..1, per request; `actions` limits them to some ECS actions (empty: all)."""

    throttle: float = 0.0  # HTTP 400 ThrottlingException
    server_error: float = 0.0  # HTTP 500 ServerException
    unavailable: float = 0.0  # HTTP 503
    drop: float = 0.0  # connection closed without an answer
    latency: float = 0.0  # seconds added before forwarding
    actions: frozenset[str] = frozenset()


class _QuietServer(ThreadingHTTPServer):
    """A client that vanishes mid-request (a SIGKILLed operator) is expected here, not worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class EcsProxy:
    def __init__(self, upstream: str, seed: int = 7, journal: bool = False) -> None:
        self.upstream = urlsplit(upstream)
        self.calls: Counter[str] = Counter()
        self.sessions: Counter[tuple[str, str]] = Counter()  # AssumeRole by (RoleArn, RoleSessionName)
        # Every ECS request, in order, when `journal` (tests that ask who wrote what, and when): forwarded ones,
        # and faulted ones marked with their fault.
        self.journal: list[Call] | None = [] if journal else None
        self.injected: Counter[str] = Counter()
        self.faults = Faults()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="ecs-proxy", daemon=True)
        self._hold_action: str | None = None
        self.held = threading.Event()  # set once a response is being held back
        self._release = threading.Event()
        self._interceptors: dict[str, Interceptor] = {}

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> EcsProxy:
        self._thread.start()
        return self

    def hold_response(self, action: str | None) -> None:
        """Forward `action` to ECS but keep its answer from the client until release().

        ECS has acted, the caller has not heard: the window a crash test needs.
        """
        self._hold_action = action
        self.held.clear()
        self._release.clear()

    def intercept(self, action: str, interceptor: Interceptor | None) -> None:
        """Answer `action` with `interceptor` (None: forward it again as it is)."""
        if interceptor is None:
            self._interceptors.pop(action, None)
        else:
            self._interceptors[action] = interceptor

    def release(self) -> None:
        self._hold_action = None
        self._release.set()

    def stop(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> Counter[str]:
        with self._lock:
            before = self.calls.copy()
            self.calls.clear()
            return before

    def _fault_for(self, action: str) -> str | None:
        f = self.faults
        if f.actions and action not in f.actions:
            return None
        with self._lock:
            roll = self._random.random()
        for name, rate in (
            ("throttle", f.throttle),
            ("server_error", f.server_error),
            ("unavailable", f.unavailable),
            ("drop", f.drop),
        ):
            if roll < rate:
                with self._lock:
                    self.injected[name] += 1
                return name
            roll -= rate
        return None

    def count(self, action: str) -> int:
        with self._lock:
            return self.calls[action]

    def _journal(self, action: str, body: bytes, user_agent: str, fault: str | None = None) -> None:
        if self.journal is None:
            return
        token = json.loads(body or b"{}").get("clientToken") if body else None
        with self._lock:
            self.journal.append(Call(time.time(), action, token, user_agent, fault))

    def _record(self, action: str) -> None:
        with self._lock:
            self.calls[action] += 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = self.headers.get("X-Amz-Target", "")
                action = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else ""
                if not action and "x-www-form-urlencoded" in self.headers.get("Content-Type", ""):
                    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
                    if form.get("Action"):  # the query protocol (STS): counted, never faulted
                        proxy._record(f"sts:{form['Action'][0]}")
                        if form["Action"][0] == "AssumeRole":
                            session = (form.get("RoleArn", [""])[0], form.get("RoleSessionName", [""])[0])
                            with proxy._lock:
                                proxy.sessions[session] += 1
                if action:
                    proxy._record(action)
                    if proxy.faults.latency:
                        time.sleep(proxy.faults.latency)
                    fault = proxy._fault_for(action)
                    if fault:
                        proxy._journal(action, body, self.headers.get("User-Agent", ""), fault)
                    if fault == "drop":
                        self.close_connection = True
                        self.connection.close()
                        return
                    if fault:
                        self._send_fault(fault)
                        return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
                if action:
                    proxy._journal(action, body, self.headers.get("User-Agent", ""))
                interceptor = proxy._interceptors.get(action)
                if interceptor is not None:
                    status, answer = interceptor(json.loads(body or b"{}"), self._forwarder(headers))
                    data = json.dumps(answer).encode()
                    reply = [("Content-Type", "application/x-amz-json-1.1")]
                else:
                    status, reply, data = self._upstream(self.command, headers, body)
                if proxy._hold_action and target == TARGET_PREFIX + proxy._hold_action:
                    proxy.held.set()
                    proxy._release.wait(timeout=120)
                self.send_response(status)
                for key, value in reply:
                    if key.lower() not in _HOP_HEADERS:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _upstream(
                self, method: str, headers: dict[str, str], body: bytes
            ) -> tuple[int, list[tuple[str, str]], bytes]:
                conn = http.client.HTTPConnection(
                    proxy.upstream.hostname or "127.0.0.1", proxy.upstream.port, timeout=60
                )
                try:
                    conn.request(method, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    return resp.status, resp.getheaders(), resp.read()
                finally:
                    conn.close()

            def _forwarder(self, headers: dict[str, str]) -> Forward:
                def forward(action: str, request: dict[str, Any]) -> Answer:
                    # The emulator does not check signatures, so a rewritten request goes out as is.
                    rewritten = {k: v for k, v in headers.items() if k.lower() != "x-amz-target"}
                    rewritten["X-Amz-Target"] = TARGET_PREFIX + action
                    status, _, data = self._upstream("POST", rewritten, json.dumps(request).encode())
                    return status, json.loads(data or b"{}")

                return forward

            def _send_fault(self, fault: str) -> None:
                status, code = {
                    "throttle": (400, "ThrottlingException"),
                    "server_error": (500, "ServerException"),
                    "unavailable": (503, "ServiceUnavailableException"),
                }[fault]
                data = json.dumps({"__type": code, "message": f"injected {fault}"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = _forward
            do_GET = _forward

        return Handler
