"""A TCP proxy that can cut its clients off from what it stands in front of (e.g. kube-apiserver).

Tests give one operator replica a kubeconfig that points here, so that replica alone can be
partitioned from the API server while it still reaches ECS. TLS passes through untouched
(the serving certificate names 127.0.0.1, so verification still holds). Two ways to fail:

- `drop()`: every open connection is reset and new ones are accepted and reset at once,
  as when a node loses its route (clients see errors quickly);
- `blackhole()`: connections stay open but nothing gets through either way, as when packets
  are silently dropped (clients see nothing until their own timeouts);

`heal()` lets traffic through again (clients reconnect). Binds 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

PASS, DROP, BLACKHOLE = "pass", "drop", "blackhole"


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as a vanished peer looks."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.mode = PASS
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._stopped = False
        self.accepted = 0

    @property
    def port(self) -> int:
        port: int = self._listener.getsockname()[1]
        return port

    def start(self) -> FaultProxy:
        threading.Thread(target=self._accept, name="fault-proxy", daemon=True).start()
        return self

    def drop(self) -> None:
        with self._lock:
            self.mode = DROP
            doomed, self._open = self._open, set()
        for sock in doomed:
            _reset(sock)

    def blackhole(self) -> None:
        self.mode = BLACKHOLE

    def heal(self) -> None:
        self.mode = PASS

    def stop(self) -> None:
        self._stopped = True
        self.drop()
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            if self.mode == DROP:
                _reset(client)
                continue
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream, timeout=10)
            upstream.settimeout(None)
        except OSError:
            _reset(client)
            return
        with self._lock:
            if self.mode == DROP:
                _reset(client)
                _reset(upstream)
                return
            self._open |= {client, upstream}
        for source, target in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if self.mode == BLACKHOLE:
                    continue  # swallowed: neither side hears anything
                target.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(target)
            _reset(source)
            _reset(target)
