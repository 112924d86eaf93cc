"""The front doors' listening sockets: what the connections they accept are like."""

from __future__ import annotations

import asyncio
import socket

from fargate_operator.web.listeners import bind_listener


async def _accepted_nodelay(host: str) -> int:
    """TCP_NODELAY of a connection accepted on a bind_listener socket, served as uvicorn serves it."""
    listener = bind_listener(host, 0, "test")
    listener.listen()
    seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    # What uvicorn does with the sockets it is given (Server.serve(sockets=...)): loop.create_server(sock=...).
    server = await asyncio.start_server(accepted, sock=listener)
    try:
        port = listener.getsockname()[1]
        _, writer = await asyncio.open_connection(host, port)
        value = await asyncio.wait_for(seen, 10)
        writer.close()
        return value
    finally:
        server.close()
        await server.wait_closed()


def test_accepted_connections_send_without_waiting_for_acks() -> None:
    """Nagle's algorithm off on every accepted connection, IPv4 and IPv6.

    A response the server writes in two pieces (headers, then body) otherwise waits for the
    client's delayed ACK (~40 ms on Linux) on every request of a kept-alive connection:
    asyncio turns TCP_NODELAY on only for sockets whose proto is IPPROTO_TCP.
    """
    assert asyncio.run(_accepted_nodelay("127.0.0.1")) != 0
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return  # no IPv6 loopback here: nothing more to check
    assert asyncio.run(_accepted_nodelay("::1")) != 0
