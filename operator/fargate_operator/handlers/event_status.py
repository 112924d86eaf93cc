"""Status from ECS's events: the queues read, each batch of events refreshes only the objects it names.

On the leader, beside the status loop (handlers/refresh.py). The queues: the operator's own
(FARGATE_OPERATOR_EVENTS_QUEUE_URL, in its own account and region) and each FargateAccount's
spec.eventQueues, long-polled on threads (events/queue.py) with the account's credentials.
Events are collected for DEBOUNCE_SECONDS, then:
- each is routed (events/route.py) and judged (events/dedupe.py: a duplicate or a stale task
  change does nothing);
- the objects named are found in the watch cache (by task ARN; by account, region, cluster and
  service name; by account, region and cluster name);
- those objects are described again, in one batch per cluster (DescribeTasks 100 a call,
  DescribeServices 10), through the same refresh functions as the loop, so their status,
  verdicts and drift come out exactly as a polling cycle would make them;
- a FargateService's task changes go straight into the service-task index the adapters answer
  from (no ListTasks / DescribeTasks: the event is the task as DescribeTasks shows it);
- the messages are deleted (DeleteMessageBatch), after the refresh: at least once.
A Task State Change is not written from the event itself although it carries the task as
DescribeTasks shows it: the describe gives one code path for status (several tasks per object,
tasks gone MISSING, the failed container's log tail), and batched per cluster it costs one call
for up to 100 tasks changed within the debounce window. An event naming a task or service not
recorded in any status yet (its handler has not written the ARN) is tried again for
UNROUTED_RETRY_SECONDS before it counts as unrouted (an event is about its first target:
events/route.py).
A queue that answers puts its place in Events mode, one that stops answering (deleted, access
denied) puts it back to Polling: either change describes everything once, so every object's
status.freshness says so promptly, and a queue that stops answering is said by a Warning Event
EventQueueUnreachable on its FargateAccount (the operator's own queue: the log and
fargate_operator_events_mode).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fargate_operator.events.dedupe import Dedupe, Outcome
from fargate_operator.events.modes import RECEIVED
from fargate_operator.events.queue import Message, QueueError, QueueSource, Reader, SqsQueue
from fargate_operator.events.route import (
    TASK_STATE_CHANGE,
    Cluster,
    Routed,
    Service,
    Target,
    Task,
    cluster_of_arn,
    route,
)
from fargate_operator.events.task_shape import indexed_task
from fargate_operator.handlers.refresh import Key, key_of, refresh_cycle, refresh_objects
from fargate_operator.models.accounts import AccountMapping
from fargate_operator.models.kinds import ACCOUNT, CLUSTER, SERVICE, TASK
from fargate_operator.runtime import Runtime
from fargate_operator.status import writer

log = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 0.5
UNROUTED_RETRY_SECONDS = 10.0
MAX_UNROUTED = 10_000
SYNC_SECONDS = 5.0  # how often the queues wanted (config, FargateAccounts) are compared with those read
OWN = "own"


@dataclass
class Named:
    """The objects (and task-definition walks) one batch of events concerns."""

    tasks: set[Key] = field(default_factory=set)
    services: set[Key] = field(default_factory=set)
    clusters: set[Key] = field(default_factory=set)
    walks: set[tuple[str, str]] = field(default_factory=set)

    def merge(self, other: Named) -> None:
        self.tasks |= other.tasks
        self.services |= other.services
        self.clusters |= other.clusters
        self.walks |= other.walks


class Index:
    """What the watch cache's objects record, by what events name (built once a batch)."""

    def __init__(self, rt: Runtime) -> None:
        self.tasks: dict[str, Key] = {}
        self.services: dict[tuple[str, str, str, str], Key] = {}
        self.clusters: dict[tuple[str, str, str], Key] = {}
        self.service_arns: dict[Key, str] = {}
        for obj in rt.watch_cache.items(TASK):
            for task in (obj.get("status") or {}).get("tasks") or []:
                if task.get("taskArn"):
                    self.tasks[task["taskArn"]] = key_of(obj)
        for obj in rt.watch_cache.items(SERVICE):
            status = obj.get("status") or {}
            cl = cluster_of_arn(str(status.get("clusterArn") or ""))
            name = (obj.get("spec") or {}).get("serviceName") or str(status.get("serviceArn") or "").rsplit("/", 1)[-1]
            if cl is not None and name:
                self.services[(cl.account, cl.region, cl.name, name)] = key_of(obj)
            if status.get("serviceArn"):
                self.service_arns[key_of(obj)] = str(status["serviceArn"])
        for obj in rt.watch_cache.items(CLUSTER):
            cl = cluster_of_arn(str((obj.get("status") or {}).get("clusterArn") or ""))
            if cl is not None:
                self.clusters[(cl.account, cl.region, cl.name)] = key_of(obj)

    def add(self, named: Named, source: QueueSource, event: Routed) -> tuple[bool, bool]:
        """Add what `event` names to `named` -> (any object found, the object it is about found: its first
        target, events/route.py)."""
        found = [self._add(named, source, target) for target in event.targets]
        return any(found), bool(found and found[0])

    def _add(self, named: Named, source: QueueSource, target: Target) -> bool:
        if isinstance(target, Task):
            return _put(named.tasks, self.tasks.get(target.arn))
        if isinstance(target, Service):
            return _put(named.services, self.services.get((target.account, target.region, target.cluster, target.name)))
        if isinstance(target, Cluster):
            return _put(named.clusters, self.clusters.get((target.account, target.region, target.name)))
        # The account as the queue's place says it (the operator's own account id is never asked of STS).
        named.walks.add((source.identity, target.region))
        return True


def _older(version: int | None, known: Any) -> bool:
    return version is not None and isinstance(known, int) and version < known


def _put(keys: set[Key], key: Key | None) -> bool:
    if key is not None:
        keys.add(key)
    return key is not None


def _about_one(event: Routed) -> bool:
    """It is about one task, service or cluster: worth waiting a moment for a handler to record its ARN."""
    return bool(event.targets) and isinstance(event.targets[0], Task | Service | Cluster)


@dataclass
class _Waiting:
    since: float
    source: QueueSource
    event: Routed
    raw: dict[str, Any]


class EventStatus:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.dedupe = Dedupe()
        self._loop = asyncio.get_running_loop()
        self._readers: dict[QueueSource, Reader] = {}
        self._inbox: list[Message] = []
        self._waiting: list[_Waiting] = []
        self._arrived = asyncio.Event()
        self._mode_changed = False
        self._announcing: set[asyncio.Task[None]] = set()

    def wanted(self) -> Iterator[tuple[QueueSource, AccountMapping | None]]:
        """The queues to read now, each with the FargateAccount whose credentials read it (None: the operator's)."""
        if self.rt.config.events_queue_url:
            yield QueueSource(OWN, self.rt.gateway.region or "", self.rt.config.events_queue_url), None
        for mapping in self.rt.accounts.mappings():
            identity = mapping.account_id if mapping.role_arn and mapping.account_id else OWN
            for region, url in mapping.event_queues:
                yield QueueSource(identity, region, url, mapping.name), mapping

    def sync_readers(self) -> None:
        wanted = dict(self.wanted())
        added, removed = self.rt.modes.configure(wanted)
        for source in removed:
            reader = self._readers.pop(source, None)
            if reader is not None:
                reader.stop()
            self._mode_changed = True
        for source in added:
            queue = SqsQueue(source, self.rt.gateways.session_for(wanted[source]))
            self._readers[source] = Reader(queue, self._loop, self._answered, self._failed).start()
            log.info("reading ECS events from %s (%s)", source.url, _place(source))

    def stop(self) -> None:
        for reader in self._readers.values():
            reader.stop()
        self._readers.clear()

    # -- called on the loop by the readers ----------------------------------------------------------

    def _answered(self, source: QueueSource, messages: list[Message]) -> None:
        if self.rt.modes.answered(source, len(messages), datetime.datetime.now(datetime.UTC)):
            log.info("ECS events from %s keep status fresh (%s): Events mode", source.url, _place(source))
            self._mode_changed = True
        self._inbox += messages
        if messages or self._mode_changed:
            self._arrived.set()

    def _failed(self, source: QueueSource, error: QueueError) -> None:
        if not self.rt.modes.failed(source, str(error)):
            return
        log.warning("ECS events queue %s (%s) does not answer: %s; polling instead", source.url, _place(source), error)
        self._mode_changed = True
        self._arrived.set()
        if source.account_name is not None:
            task = asyncio.create_task(self._announce(source, error))
            self._announcing.add(task)
            task.add_done_callback(self._announcing.discard)

    async def _announce(self, source: QueueSource, error: QueueError) -> None:
        obj = self.rt.watch_cache.get(ACCOUNT, "", str(source.account_name))
        if obj is not None:
            message = (
                f"the queue of ECS events {source.url} (region {source.region}) does not answer ({error}): "
                "the status of this account's objects in that region is polled until it does"
            )
            await writer.event(obj, "EventQueueUnreachable", message, warning=True)

    # -- the loop -----------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            while True:
                self.sync_readers()
                try:
                    await asyncio.wait_for(self._arrived.wait(), 1.0 if self._waiting else SYNC_SECONDS)
                except TimeoutError:
                    if not self._waiting and not self._mode_changed:
                        continue
                await asyncio.sleep(DEBOUNCE_SECONDS)  # the events of one change come together: one describe
                self._arrived.clear()
                batch, self._inbox = self._inbox, []
                everything, self._mode_changed = self._mode_changed, False
                try:
                    await self.handle(batch, everything)
                except Exception:
                    log.exception("ECS events: a batch of %d failed", len(batch))
                await self._delete(batch)
        finally:
            self.stop()

    async def handle(self, batch: list[Message], everything: bool = False) -> Named:
        """Route, judge and refresh one batch; `everything`: a place changed mode, describe all once."""
        now = time.monotonic()
        fresh: list[_Waiting] = []
        for message in batch:
            if message.event is None:
                RECEIVED.labels("unrouted").inc()
                continue
            event = route(message.event)
            outcome = self.dedupe.judge(event)
            if outcome is not Outcome.FRESH:
                RECEIVED.labels(outcome.value).inc()
                continue
            fresh.append(_Waiting(now, message.source, event, message.event))
        index, named, waiting, resolved = Index(self.rt), Named(), [], []
        retries = len(self._waiting)
        for n, item in enumerate([*self._waiting, *fresh]):
            these = Named()
            found, primary = index.add(these, item.source, item.event)
            if primary or n >= retries:  # a retry's other objects were refreshed when it first came
                named.merge(these)
                resolved.append(item)
            if primary or (found and not _about_one(item.event)):
                RECEIVED.labels("applied").inc()
            elif _about_one(item.event) and now - item.since < UNROUTED_RETRY_SECONDS:
                waiting.append(item)  # its handler may not have recorded the ARN yet: the others are refreshed now
            else:
                RECEIVED.labels("applied" if found else "unrouted").inc()
        self._waiting = waiting[-MAX_UNROUTED:]
        self._index_service_tasks(index, resolved)
        async with self.rt.refresh_lock:
            if everything:
                await refresh_cycle(self.rt, 0, resync=True)
            else:
                await refresh_objects(self.rt, named.tasks, named.services, named.clusters, named.walks)
        return named

    def _index_service_tasks(self, index: Index, events: list[_Waiting]) -> None:
        """A service's task changes straight into the service-task index (Runtime.service_tasks): the event
        carries the task as DescribeTasks shows it, and a newer version only (dedupe) -- no ECS call."""
        for item in events:
            if item.event.detail_type != TASK_STATE_CHANGE or item.event.task_arn is None:
                continue
            for target in item.event.targets:
                key = (
                    index.services.get((target.account, target.region, target.cluster, target.name))
                    if isinstance(target, Service)
                    else None
                )
                arn = index.service_arns.get(key) if key else None
                if arn is not None:
                    tasks = self.rt.service_tasks.setdefault(arn, {})
                    known = tasks.get(item.event.task_arn, {})
                    if _older(item.event.version, known.get("version")):
                        continue  # a retried event behind a newer one (or a describe) already indexed
                    tasks[item.event.task_arn] = {**known, **indexed_task(dict(item.raw.get("detail") or {}))}

    async def _delete(self, batch: list[Message]) -> None:
        by_queue: dict[QueueSource, list[str]] = {}
        for message in batch:
            by_queue.setdefault(message.source, []).append(message.receipt)
        for source, receipts in by_queue.items():
            reader = self._readers.get(source)
            if reader is None:
                continue  # no longer read: they come back to whoever reads it next
            try:
                await asyncio.to_thread(reader.queue.delete, receipts)
            except QueueError as err:  # redelivered after the visibility timeout: duplicates, judged as such
                log.warning("ECS events queue %s: delete failed: %s", source.url, err)


def _place(source: QueueSource) -> str:
    who = "the operator's own account" if source.identity == OWN else f"account {source.identity}"
    return f"{who}, region {source.region or 'default'}"


async def follow_events(rt: Runtime) -> None:
    """The leader's event consumer (a no-op wait while no queue is configured)."""
    await EventStatus(rt).run()
