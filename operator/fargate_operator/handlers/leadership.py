"""What this replica runs as leader and as follower; the elector (leader/elector.py) switches between them.

- Kopf's handlers (every ECS write): leader only, one term per leadership, Kopf in a thread
  and event loop of its own.
- The status loop (batched describes, status patches, TTL deletions, Events): leader only.
- The service-task index (tasks of FargateServices, in memory, which ListTasks and
  DescribeTasks answer from): the leader's status loop (or its events) keeps it; a follower
  reads ECS for it only when its front doors ask, and writes nothing to Kubernetes
  (handlers/follower_index.py).
- The tenancy config's re-checks (annotations on refused objects): leader only; the config
  is re-read when a replica starts to lead.
- FargateAccount status (served namespaces, conflicts, whether the role can be assumed): leader only.
- The watch cache (store/feed.py), the REST adapter, the MCP endpoint: every replica.

Without leader election the replica leads from the start and never stops (one replica, as before).

Kopf gets a thread and event loop of its own per term because a stopped Kopf takes its loop
with it: kopf 1.45 `run_tasks()` ends by cancelling every task created after it started
(the REST and MCP servers' too, were they in the same loop), and in the main thread it takes
over SIGINT/SIGTERM. In its own loop, stopping a term touches nothing else and the next
term starts clean.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import kopf

from fargate_operator.config import OperatorConfig
from fargate_operator.handlers.accounts import watch_accounts
from fargate_operator.handlers.event_status import follow_events
from fargate_operator.handlers.follower_index import OnDemandServiceTasks
from fargate_operator.handlers.refresh import refresh_forever
from fargate_operator.handlers.tenancy import watch_config
from fargate_operator.leader.elector import LeaseElector
from fargate_operator.runtime import Runtime

log = logging.getLogger(__name__)

HANDOVER_GRACE = 1.0  # seconds handlers get to finish before a graceful hand-over fences them
DRAIN_TIMEOUT = 5.0  # seconds to wait for ECS writes already sent when stepping down
TERM_EXIT_TIMEOUT = 10.0  # at exit, seconds to wait for the last term's thread
CACHE_POLL_SECONDS = 0.1  # a term waits for the watch cache's first full listing this often


class _SignalNote(logging.Filter):
    """Kopf warns that it ignores OS signals outside the main thread: here that is the design."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "OS signals are ignored" not in record.getMessage()


logging.getLogger("kopf._core.reactor.running").addFilter(_SignalNote())


class KopfTerm:
    """Kopf's handlers for one leadership term."""

    def __init__(
        self, runtime: Runtime, config: OperatorConfig, on_exit: Callable[[KopfTerm, BaseException | None], None]
    ) -> None:
        self.memo = kopf.Memo(runtime=runtime, started=False)
        self._config = config
        self._on_exit = on_exit
        self.finished = threading.Event()  # kopf.operator() returned: no handler of this term runs any more
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stop_requested = False
        self._thread = threading.Thread(target=self._run, name="kopf", daemon=True)

    def start(self) -> KopfTerm:
        self._thread.start()
        return self

    @property
    def started(self) -> bool:
        """Kopf's startup ran (settings applied): handlers are being dispatched."""
        return bool(self.memo.started) and not self.finished.is_set()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        with self._lock:
            self._loop, self._stop = loop, asyncio.Event()
            if self._stop_requested:
                self._stop.set()
        config = self._config
        error: BaseException | None = None
        try:
            # Handlers judge by the watch cache (which FargateAccount serves a namespace, revisions in use):
            # Kopf starts once it has listed everything, so a restart's resumed objects neither wait nor write.
            loop.run_until_complete(self._cache_synced())
            loop.run_until_complete(
                kopf.operator(
                    standalone=config.standalone,
                    namespaces=list(config.namespaces),
                    clusterwide=not config.namespaces,
                    memo=self.memo,
                    stop_flag=self._stop,
                )
            )
        except BaseException as exc:  # reported to the owner, who decides
            error = exc
        finally:
            self._on_exit(self, error)  # first: the owner learns why before it may start the next term
            self.finished.set()
            # Blocking calls Kopf's handlers left on this loop's executor (a Kubernetes write to a
            # partitioned API server) may hold the thread here a while; no handler runs any more.
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            with self._lock:
                loop.close()

    async def _cache_synced(self) -> None:
        rt: Runtime = self.memo.runtime
        assert self._stop is not None
        while not rt.watch_cache.synced() and not self._stop.is_set():
            await asyncio.sleep(CACHE_POLL_SECONDS)

    def request_stop(self) -> None:
        with self._lock:
            self._stop_requested = True
            if self._loop is not None and self._stop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._stop.set)

    async def stop(self, timeout: float) -> bool:
        """Ask Kopf to stop; True once no handler of this term runs, False if that takes longer than `timeout`.

        Kopf gives running handlers up to 5 s, then cancels them; a cancelled handler's ECS call
        that was already sent completes (and its result is found again by the next term).
        """
        self.request_stop()
        return await wait_event(self.finished, timeout)


async def wait_event(event: threading.Event, timeout: float) -> bool:
    """Wait for a thread's event without holding an executor thread."""
    deadline = time.monotonic() + timeout
    while not event.is_set():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def _cancel(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


class Leadership:
    """Starts and stops the leader's work; runs the follower's in between. Lives on the main event loop."""

    def __init__(self, runtime: Runtime, config: OperatorConfig) -> None:
        self.rt, self.config = runtime, config
        self.leading = False
        self.term: KopfTerm | None = None
        self._leader_tasks: list[asyncio.Task[Any]] = []
        self._switch = asyncio.Lock()
        self._closing = False
        self._pending: set[asyncio.Task[Any]] = set()
        self._loop = asyncio.get_running_loop()
        # Set (with the error) when a term ends by itself while leading: the process then exits.
        self.failed: asyncio.Future[None] = self._loop.create_future()

    # -- asked from the elector's thread ----------------------------------------------------------

    def may_lead(self) -> bool:
        """No term of ours still runs a handler (a new term must not overlap the last one)."""
        term = self.term
        return not self._closing and (term is None or term.finished.is_set())

    def elected(self) -> None:
        self._soon(self.lead())

    def deposed(self) -> None:
        self._soon(self.follow(grace=0.0))

    def _soon(self, coro: Any) -> None:
        def schedule() -> None:
            task = self._loop.create_task(coro)
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

        self._loop.call_soon_threadsafe(schedule)

    # -- on the main loop ------------------------------------------------------------------------

    def started(self) -> bool:
        return self.term is not None and self.term.started

    async def lead(self) -> None:
        async with self._switch:
            if self.leading or self._closing:
                return
            self.leading = True
            rt = self.rt
            rt.service_tasks_for = None  # the status loop and the events keep the index now
            rt.tenancy.reload()  # handlers judge by the config as it is now, not as it was at start
            self.term = KopfTerm(rt, self.config, self._term_ended).start()
            self._leader_tasks = [
                asyncio.create_task(refresh_forever(rt), name="status-refresh"),
                asyncio.create_task(watch_config(rt), name="tenancy-config"),
                asyncio.create_task(watch_accounts(rt), name="fargate-accounts"),
                asyncio.create_task(follow_events(rt), name="ecs-events"),
            ]

    async def follow(self, grace: float) -> None:
        """Stop the leader's work (the fence is closed already when the Lease was lost) and follow."""
        async with self._switch:
            if self.leading:
                await self._stop_leading(grace)
            if not self._closing:
                # A follower's only ECS work: the service tasks its front doors are asked for (reads only).
                self.rt.service_tasks_for = OnDemandServiceTasks(self.rt, self.rt.config.status_interval)

    async def _stop_leading(self, grace: float) -> None:
        self.leading = False
        term = self.term
        if term is not None and not await term.stop(grace):
            log.info("Kopf's last handlers are still ending; this replica leads again only after they have")
        await _cancel(self._leader_tasks)
        self._leader_tasks = []

    async def shutdown(self, elector: LeaseElector | None) -> None:
        """Graceful stop (SIGTERM): handlers end, ECS writes stop and drain, then the Lease is handed over."""
        started = time.monotonic()
        async with self._switch:
            self._closing = True
            was_leading = self.leading
            if self.leading:
                await self._stop_leading(HANDOVER_GRACE)
            if elector is not None:
                await asyncio.to_thread(elector.stop_renewing)  # a renewal must not reopen the fence below
            fence = self.rt.gateways.fence
            fence.close()
            drained = await asyncio.to_thread(fence.drain, DRAIN_TIMEOUT)
            if not drained:  # releasing now could let another replica act while they land
                log.warning("ECS writes still in flight after %.0fs; the Lease is left to expire", DRAIN_TIMEOUT)
            released = await asyncio.to_thread(elector.release) if elector is not None and drained else False
            if was_leading:
                how = "no Lease" if elector is None else "Lease released" if released else "Lease left to expire"
                log.info("stepped down in %.2fs (%s)", time.monotonic() - started, how)
            self.rt.service_tasks_for = None
        if self.term is not None and not await wait_event(self.term.finished, TERM_EXIT_TIMEOUT):
            log.warning("Kopf did not stop within %.0fs", TERM_EXIT_TIMEOUT)

    def _term_ended(self, term: KopfTerm, error: BaseException | None) -> None:
        """From the term's thread: a term that ends while we still lead with it has failed."""

        def check() -> None:
            if self.term is term and self.leading and not self._closing and not self.failed.done():
                self.failed.set_exception(RuntimeError(f"Kopf stopped by itself while leading: {error!r}"))

        with contextlib.suppress(RuntimeError):  # the main loop is closed: the process is ending
            self._loop.call_soon_threadsafe(check)
