"""An HTTP proxy in front of kube-apiserver that can hold back the events of one kind of watch.

A client's watches are separate streams that the API server feeds in no agreed order: a test
that needs one stream to lag behind the others (e.g. the operator seeing a namespace's objects
before the Namespace itself, as when both come in one `kubectl apply`) cannot wait for luck.
Tests give one operator a kubeconfig that points here (support.ha.proxied_control_plane) and call
`hold("/api/v1/namespaces", user_agent=...)`: watch events on that path, of the clients whose
User-Agent contains that text, stop at the proxy (each is kept in `held`) until `release()`; lists,
other watches and every other request pass at once.

TLS is terminated here with kube-apiserver's own serving certificate (it names 127.0.0.1, so the
client's CA still verifies it) and made again to the API server; requests keep their own
Authorization header. HTTP/1.1 only (what the operator's clients speak). Binds 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "upgrade"}
UPSTREAM_TIMEOUT = 60.0  # seconds for a request that is not a watch (a watch ends when the server ends it)


def is_watch(target: str) -> bool:
    query = parse_qs(urlsplit(target).query)
    return query.get("watch", [""])[0] in ("true", "1")


class ApiProxy:
    def __init__(self, upstream: str, ca: Path, serving_cert: Path, serving_key: Path) -> None:
        url = urlsplit(upstream)
        self.upstream = (url.hostname or "127.0.0.1", int(url.port or 443))
        self._client_tls = ssl.create_default_context(cafile=str(ca))
        server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_tls.load_cert_chain(str(serving_cert), str(serving_key))
        self._held: tuple[str, str] | None = None  # (path, User-Agent part)
        self._release = threading.Event()
        self._lock = threading.Lock()
        self.held: list[dict[str, Any]] = []  # watch events kept back, in order (decoded)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.socket = server_tls.wrap_socket(
            self._server.socket, server_side=True, do_handshake_on_connect=False
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="api-proxy", daemon=True)

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    def start(self) -> ApiProxy:
        self._thread.start()
        return self

    def hold(self, path: str, user_agent: str = "") -> None:
        """Keep back every watch event on `path` (e.g. /api/v1/namespaces) sent to a client whose User-Agent
        contains `user_agent`, from now until release()."""
        self._release.clear()
        self._held = (path, user_agent)

    def release(self) -> None:
        """Let the held events (and those after them) through, in order."""
        self._held = None
        self._release.set()

    def stop(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def _gate(self, path: str, user_agent: str, line: bytes) -> None:
        """Called with each watch event before it is passed on: blocks while its stream is held."""
        held = self._held
        if held is None or held[0] != path or held[1] not in user_agent:
            return
        with contextlib.suppress(ValueError), self._lock:
            self.held.append(json.loads(line))
        self._release.wait()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                self.request.do_handshake()  # on this connection's thread, not the accepting one
                super().setup()

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
                watch = is_watch(self.path)
                upstream = http.client.HTTPSConnection(
                    *proxy.upstream, context=proxy._client_tls, timeout=None if watch else UPSTREAM_TIMEOUT
                )
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    resp = upstream.getresponse()
                    self.send_response(resp.status)
                    for key, value in resp.getheaders():
                        if key.lower() not in _HOP_HEADERS:
                            self.send_header(key, value)
                    if watch and resp.status == 200:
                        self._stream(resp, urlsplit(self.path).path)
                    else:
                        data = resp.read()
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                except OSError:
                    self.close_connection = True  # the client or the API server went away
                finally:
                    upstream.close()

            def _stream(self, resp: http.client.HTTPResponse, path: str) -> None:
                """One watch event per line, each passed on as one chunk (once the gate lets it)."""
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.flush()
                user_agent = self.headers.get("User-Agent", "")
                while line := resp.readline():
                    proxy._gate(path, user_agent, line)
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        return Handler
