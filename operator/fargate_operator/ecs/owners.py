"""Owner tags (and task roles) of clusters and task definitions a spec names, from ECS, kept briefly.

A spec that names a cluster or revision directly (spec.cluster, spec.taskDefinition) needs
its owner tags for the tenancy check: one DescribeClusters / DescribeTaskDefinition with
TAGS. Answers are kept TTL seconds (tags can change; a revision's content cannot), and
concurrent lookups of one name share one call, so a burst of FargateTasks naming one
cluster costs one call. Names that do not exist are not kept: they may be created soon.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from fargate_operator.ecs.errors import EcsError
from fargate_operator.models.facts import ClusterFacts, TaskDefinitionFacts
from fargate_operator.models.ownership import tag_dict

T = TypeVar("T")
# What the lookups ask ECS through (the gateway's own methods, passed in: the gateway holds the lookups).
DescribeClusters = Callable[[list[str]], Awaitable[list[dict[str, Any]]]]
Call = Callable[..., Awaitable[dict[str, Any]]]
TTL_SECONDS = 30.0
MAX_ENTRIES = 4096
TASK_ROLE_MEMBERS = ("taskRoleArn", "executionRoleArn")


class _Cache(Generic[T]):
    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self._ttl, self._clock = ttl, clock
        self._kept: dict[str, tuple[float, T]] = {}
        # In-flight lookups per event loop: under leader election Kopf's handlers and the status loop run
        # on loops of their own threads, and a future can only be awaited on the loop that made it.
        self._pending: dict[tuple[int, str], asyncio.Future[T | None]] = {}

    async def get(self, key: str, fetch: Callable[[], Awaitable[T | None]]) -> T | None:
        now = self._clock()
        kept = self._kept.get(key)
        if kept is not None and now - kept[0] < self._ttl:
            return kept[1]
        loop = asyncio.get_running_loop()
        pending = (id(loop), key)
        if pending in self._pending:
            return await asyncio.shield(self._pending[pending])
        future: asyncio.Future[T | None] = loop.create_future()
        self._pending[pending] = future
        try:
            value = await fetch()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # marked retrieved: nobody else may be waiting
            raise
        finally:
            del self._pending[pending]
        future.set_result(value)
        if value is not None:
            if len(self._kept) >= MAX_ENTRIES:
                self._kept = {k: v for k, v in self._kept.items() if now - v[0] < self._ttl}
            self._kept[key] = (now, value)
        return value


class OwnerLookups:
    def __init__(
        self,
        describe_clusters: DescribeClusters,
        call: Call,
        ttl: float = TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._describe_clusters, self._call = describe_clusters, call
        self._clusters: _Cache[ClusterFacts] = _Cache(ttl, clock)
        self._revisions: _Cache[TaskDefinitionFacts] = _Cache(ttl, clock)

    async def cluster(self, ref: str) -> ClusterFacts | None:
        """The live (ACTIVE or PROVISIONING) cluster `ref` names, or None."""

        async def fetch() -> ClusterFacts | None:
            for c in await self._describe_clusters([ref]):
                if c.get("status") in ("ACTIVE", "PROVISIONING"):
                    return ClusterFacts(c["clusterName"], c["clusterArn"], tag_dict(c.get("tags")))
            return None

        return await self._clusters.get(ref, fetch)

    async def task_definition(self, ref: str) -> TaskDefinitionFacts | None:
        """The revision `ref` names (a bare family: its latest ACTIVE revision), or None."""

        async def fetch() -> TaskDefinitionFacts | None:
            try:
                resp = await self._call("DescribeTaskDefinition", taskDefinition=ref, include=["TAGS"])
            except EcsError as err:
                if err.code == "ClientException" and not err.transient:
                    return None  # ECS: "Unable to describe task definition."
                raise
            td = resp.get("taskDefinition") or {}
            if not td.get("taskDefinitionArn"):
                return None
            roles = tuple((m, str(td[m])) for m in TASK_ROLE_MEMBERS if td.get(m))
            return TaskDefinitionFacts(td["taskDefinitionArn"], td["family"], tag_dict(resp.get("tags")), roles)

        return await self._revisions.get(ref, fetch)
