"""Which task definition families have an ACTIVE revision: "is this family new?" answered in one batch.

RegisterTaskDefinition on a family that already exists adds a revision that is at once the
family's latest ACTIVE one -- what RunTask or CreateService given only the family would run
(model: RunTask.taskDefinition, "If a revision isn't specified, the latest ACTIVE revision is
used") -- so the operator never registers into a family before it knows whose the family is.
Asking per family costs a DescribeTaskDefinition for every new object. Instead one
ListTaskDefinitionFamilies(status=ACTIVE) walk, 100 families a page, answers the question for
every family created in the FRESH_SECONDS after the walk started (families registered here
since are added as they go). Unsure -- no fresh walk, a walk too long to make per creation, a
failed walk -- means "not known to be new", and the caller takes the careful path.

A family that appeared after the walk started is the one case the index misses: the register
that follows then makes revision N+1 > 1, which the caller sees in ECS's answer and checks
(controllers/task_definition.py), exactly as two objects racing for one family already were.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fargate_operator.ecs.errors import EcsError

log = logging.getLogger(__name__)
FRESH_SECONDS = 15.0
# A walk is made on demand only while the account's ACTIVE families fit in this many pages; beyond
# it, new families take the per-family path unless the status loop's walk (handlers/drift.py) is fresh.
ON_DEMAND_MAX_PAGES = 10
# A family registered here is remembered this long, whatever a walk says: ListTaskDefinitionFamilies
# is eventually consistent, and a walk that starts just after the register may not list it yet.
REGISTERED_KEPT_SECONDS = 2 * FRESH_SECONDS

Call = Callable[..., Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Walk:
    started: float
    families: frozenset[str] | None  # None: cut short (too many pages), so it knows of no family that it is new
    pages: int


class FamilyIndex:
    """The ACTIVE families of one account and region, as of a recent walk (one per ECS gateway)."""

    def __init__(
        self,
        call: Call,
        *,
        fresh_seconds: float = FRESH_SECONDS,
        max_pages: int = ON_DEMAND_MAX_PAGES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._call, self._fresh, self._max_pages, self._clock = call, fresh_seconds, max_pages, clock
        self._walk: Walk | None = None
        self._registered: dict[str, float] = {}
        # One walk in flight per event loop (Kopf's handlers and the status loop may run on loops of
        # their own threads under leader election; a future belongs to the loop that made it).
        self._pending: dict[int, asyncio.Future[Walk | None]] = {}

    def note_registered(self, family: str) -> None:
        self._registered[family] = self._clock()

    def note_walk(self, families: Iterable[str], started: float, pages: int) -> None:
        """A walk made elsewhere (the drift check lists every ACTIVE revision): keep the newest."""
        if self._walk is None or started > self._walk.started:
            self._walk = Walk(started, frozenset(families), pages)

    async def is_new(self, family: str) -> bool:
        """True only when a walk that started at most FRESH_SECONDS ago listed no ACTIVE revision of
        `family`, and nothing here registered one since. False whenever that is not known."""
        now = self._clock()
        walk = self._walk
        if walk is None or now - walk.started > self._fresh:
            if walk is not None and walk.pages > self._max_pages:
                return False
            walk = await self._walk_shared()
            if walk is None:
                return False
        if walk.families is None:
            return False
        return family not in walk.families and family not in self._registered

    async def _walk_shared(self) -> Walk | None:
        loop = asyncio.get_running_loop()
        pending = self._pending.get(id(loop))
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Walk | None] = loop.create_future()
        self._pending[id(loop)] = future
        try:
            walk = await self._walk_now()
        except BaseException:
            future.set_result(None)
            raise
        finally:
            del self._pending[id(loop)]
        if not future.done():
            future.set_result(walk)
        return walk

    async def _walk_now(self) -> Walk | None:
        started = self._clock()
        families: list[str] = []
        token: str | None = None
        pages = 0
        try:
            while True:
                page = await self._call(
                    "ListTaskDefinitionFamilies", status="ACTIVE", **({"nextToken": token} if token else {})
                )
                pages += 1
                families += page.get("families", [])
                token = page.get("nextToken")
                if not token:
                    break
                if pages > self._max_pages:  # too many families to walk per creation: say so, stop here
                    self._walk = Walk(started, None, pages)
                    log.info(
                        "over %d pages of task definition families: new ones looked up one by one", self._max_pages
                    )
                    return None
        except EcsError as err:
            log.info("task definition families not listed (new families take the careful path): %s", err)
            return None
        self.note_walk(families, started, pages)
        self._forget_registered(started)
        return self._walk

    def _forget_registered(self, now: float) -> None:
        self._registered = {f: at for f, at in self._registered.items() if now - at < REGISTERED_KEPT_SECONDS}
