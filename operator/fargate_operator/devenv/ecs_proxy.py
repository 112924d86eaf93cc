"""An HTTP proxy in front of the ECS emulator: counts calls by action, can hold back an answer.

Tests and benchmarks point the operator at it to measure how many ECS calls a
scenario costs. It binds 127.0.0.1 only and stops with its owner.
"""

from __future__ import annotations

import http.client
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class EcsProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="ecs-proxy", daemon=True)
        self._hold_action: str | None = None
        self.held = threading.Event()  # set once a response is being held back
        self._release = threading.Event()

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

    def count(self, action: str) -> int:
        with self._lock:
            return self.calls[action]

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
                if target.startswith(TARGET_PREFIX):
                    proxy._record(target[len(TARGET_PREFIX) :])
                conn = http.client.HTTPConnection(
                    proxy.upstream.hostname or "127.0.0.1", proxy.upstream.port, timeout=60
                )
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                if proxy._hold_action and target == TARGET_PREFIX + proxy._hold_action:
                    proxy.held.set()
                    proxy._release.wait(timeout=120)
                self.send_response(resp.status)
                for key, value in resp.getheaders():
                    if key.lower() not in _HOP_HEADERS:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = _forward
            do_GET = _forward

        return Handler
