"""The MCP endpoint, imported and built on its first request.

The MCP SDK and its protocol models are the biggest import of the process (about 26 MiB of RSS on top of
everything else, docs/scale.md); a pod whose MCP port no agent has called does not pay for
them. The first request (of any kind: the endpoint, its metadata) builds the app in a thread -- imports
must not stall the event loop the REST adapter shares -- and starts its lifespan (the SDK's session
manager); later requests go straight to it. The uvicorn server in front is the same either way, so a
port in use still fails at start.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


@dataclass
class McpSettings:
    read_only: bool = True
    allowed_hosts: tuple[str, ...] = ("127.0.0.1:*", "localhost:*")
    allowed_origins: tuple[str, ...] = ("http://127.0.0.1:*", "http://localhost:*")
    public_url: str = "http://127.0.0.1:9090/mcp"
    audiences: tuple[str, ...] = ("fargate-operator",)  # what a Kubernetes token must be made for


class LazyApp:
    """An ASGI app made by `build` (a Starlette app) the first time a request arrives.

    Its lifespan (the SDK's session manager, an anyio task group) is entered and left by one task of
    its own: a task group must be exited by the task that entered it.
    """

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._app: Any = None
        self._lock = asyncio.Lock()
        self._stop = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None

    @property
    def built(self) -> bool:
        return self._app is not None

    async def _run_lifespan(self, app: Any, started: asyncio.Future[None]) -> None:
        try:
            async with app.router.lifespan_context(app):
                started.set_result(None)
                await self._stop.wait()
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc)
            raise

    async def _ready(self) -> Any:
        async with self._lock:
            if self._app is None:
                app = await asyncio.to_thread(self._build)
                started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._runner = asyncio.create_task(self._run_lifespan(app, started), name="mcp-lifespan")
                await started
                self._app = app
        return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        app = await self._ready()
        await app(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """The server's own lifespan: nothing to start; at shutdown, stop the app's if it was built."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._stop.set()
                if self._runner is not None:
                    with contextlib.suppress(Exception):
                        await self._runner
                await send({"type": "lifespan.shutdown.complete"})
                return
