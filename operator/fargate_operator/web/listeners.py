"""Listening sockets for the REST adapter and the MCP endpoint, bound before anything starts.

Binding both ports first, in the operator's own process, makes a port that is already in use a
start-up error that names the port (instead of a server task dying later while the rest runs),
and it means that whoever answers on those ports afterwards is this process.
"""

from __future__ import annotations

import socket


class PortInUse(Exception):
    """A port the operator must serve on is taken (or not bindable)."""


def bind_listener(host: str, port: int, what: str) -> socket.socket:
    """A bound TCP socket on host:port; PortInUse names `what` (e.g. "--rest-port (REST adapter)")."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto IPPROTO_TCP, not 0: accepted sockets inherit it, and asyncio turns Nagle's algorithm off
    # (TCP_NODELAY) only on sockets whose proto says TCP (asyncio.base_events._set_nodelay). With
    # proto 0 every response on a kept-alive connection (headers and body: two writes) waited ~40 ms
    # for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: restart without TIME_WAIT
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortInUse(f"cannot listen on {host}:{port} for {what}: {exc.strerror or exc}") from exc
    sock.set_inheritable(True)
    return sock
