"""Loopback ports of the host that lead to the same ports on loopback inside the node's namespace.

The node's API server and ECS emulator listen inside the node's network namespace
(pods must reach them); tests, kubectl and helm run on the host, which by the
network rule may only use loopback. This process binds 127.0.0.1:<port> on the
host first, then joins the node's network namespace (setns affects new sockets
only), so every accepted connection is relayed to 127.0.0.1:<port> inside.

    python -m fargate_devenv.netns_forward --pid <holder pid> PORT [PORT ...]
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import os
import socket

_CLONE_NEWNET = 0x40000000


def _setns(pid: int) -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    try:
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into the network namespace of {pid}: {os.strerror(err)}")
    finally:
        os.close(fd)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


def _handler(port: int) -> object:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    return handle


async def _serve(sockets: dict[int, socket.socket]) -> None:
    servers = [await asyncio.start_server(_handler(port), sock=sock) for port, sock in sockets.items()]  # type: ignore[arg-type]
    await asyncio.gather(*(s.serve_forever() for s in servers))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pid", type=int, required=True, help="a process in the target network namespace")
    parser.add_argument("ports", type=int, nargs="+")
    args = parser.parse_args(argv)
    sockets = {}
    for port in args.ports:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(128)
        sockets[port] = sock
    _setns(args.pid)
    print("forwarding", *args.ports, flush=True)
    asyncio.run(_serve(sockets))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
