"""The only way the operator reaches ECS.

- boto3 with botocore's "adaptive" retry mode: exponential backoff with jitter on
  throttling and 5xx, plus botocore's client-side rate limiter that slows down
  when ECS throttles (credentials from boto3's default chain: IRSA, Pod Identity,
  env, profile).
- Blocking calls run on a bounded thread pool, never on the event loop.
- Reads take a token from their group's bucket first (ratelimit.py), as ECS's throttling
  is shaped, so large status sweeps spread out instead of draining the account's budget.
- Every call is counted (Prometheus) by operation and outcome.
- Batched describes honour ECS's per-call limits.
- Every HTTP attempt of a write passes the write fence first (fence.py): with leader
  election, only the Lease holder's writes go out, and none after its renew deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import boto3
from botocore.config import Config
from prometheus_client import Counter, Histogram

from fargate_operator.ecs import model
from fargate_operator.ecs.errors import FENCED_CODE, EcsError, from_botocore
from fargate_operator.ecs.fence import WriteFence
from fargate_operator.ecs.ratelimit import ReadPacer

ECS_CALLS = Counter("fargate_operator_ecs_calls_total", "ECS API calls", ["operation", "outcome"])
ECS_RETRIES = Counter("fargate_operator_ecs_retries_total", "Retries botocore made inside ECS calls", ["operation"])
ECS_LATENCY = Histogram("fargate_operator_ecs_call_seconds", "ECS API call latency, retries included", ["operation"])

DESCRIBE_TASKS_BATCH = 100
DESCRIBE_SERVICES_BATCH = 10
DESCRIBE_CLUSTERS_BATCH = 100
DELETE_TASK_DEFINITIONS_BATCH = 10


@dataclass(frozen=True)
class GatewaySettings:
    region: str | None = None
    endpoint_url: str | None = None  # None: boto3's default (or AWS_ENDPOINT_URL_ECS)
    max_concurrency: int = 16
    max_attempts: int = 5
    connect_timeout: float = 5.0
    read_timeout: float = 30.0


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class EcsGateway:
    def __init__(self, settings: GatewaySettings, client: Any | None = None, fence: WriteFence | None = None) -> None:
        self.settings = settings
        self.fence = fence if fence is not None else WriteFence()
        self._pool = ThreadPoolExecutor(max_workers=settings.max_concurrency, thread_name_prefix="ecs")
        self._reads = ReadPacer()
        self._client = client or boto3.session.Session(botocore_session=model.session()).client(
            "ecs",
            region_name=settings.region,
            endpoint_url=settings.endpoint_url,
            config=Config(
                retries={"mode": "adaptive", "max_attempts": settings.max_attempts},
                max_pool_connections=settings.max_concurrency,
                connect_timeout=settings.connect_timeout,
                read_timeout=settings.read_timeout,
            ),
        )
        self._method_names = {
            self._client.meta.method_to_api_mapping[name]: name for name in self._client.meta.method_to_api_mapping
        }
        # Per HTTP attempt, so a retry botocore makes after the renew deadline is refused as well.
        self._client.meta.events.register("before-send.ecs", self._before_send)

    def _before_send(self, event_name: str, **_: Any) -> None:
        self.fence.check(event_name.rsplit(".", 1)[-1])

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _call_sync(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        method = getattr(self._client, self._method_names[operation])
        started = time.perf_counter()
        counted = self.fence.enter(operation)  # before the fence check: drain() then waits for it
        try:
            response: dict[str, Any] = method(**params)
        except Exception as exc:
            ECS_LATENCY.labels(operation).observe(time.perf_counter() - started)
            err = from_botocore(operation, exc)
            outcome = "fenced" if err.code == FENCED_CODE else "transient_error" if err.transient else "error"
            ECS_CALLS.labels(operation, outcome).inc()
            raise err from exc
        finally:
            if counted:
                self.fence.leave()
        ECS_LATENCY.labels(operation).observe(time.perf_counter() - started)
        ECS_CALLS.labels(operation, "ok").inc()
        retries = response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
        if retries:
            ECS_RETRIES.labels(operation).inc(retries)
        response.pop("ResponseMetadata", None)
        return response

    async def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """Call one ECS operation by its API name (e.g. "RunTask"); raises EcsError."""
        await self._reads.before(operation)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, partial(self._call_sync, operation, params))

    async def describe_tasks(self, cluster: str, arns: Iterable[str]) -> tuple[list[dict[str, Any]], list[str]]:
        """All tasks in batches of 100; returns (tasks, arns ECS did not know)."""
        wanted = list(dict.fromkeys(arns))
        found: list[dict[str, Any]] = []
        for batch in chunks(wanted, DESCRIBE_TASKS_BATCH):
            resp = await self.call("DescribeTasks", cluster=cluster, tasks=batch, include=["TAGS"])
            found += resp.get("tasks", [])
        known = {t["taskArn"] for t in found}
        return found, [a for a in wanted if a not in known]

    async def describe_services(self, cluster: str, names: Iterable[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for batch in chunks(list(dict.fromkeys(names)), DESCRIBE_SERVICES_BATCH):
            resp = await self.call("DescribeServices", cluster=cluster, services=batch, include=["TAGS"])
            found += resp.get("services", [])
        return found

    async def describe_clusters(self, names: Iterable[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for batch in chunks(list(dict.fromkeys(names)), DESCRIBE_CLUSTERS_BATCH):
            resp = await self.call("DescribeClusters", clusters=batch, include=["TAGS", "SETTINGS", "CONFIGURATIONS"])
            found += resp.get("clusters", [])
        return found

    async def list_all(self, operation: str, key: str, **params: Any) -> list[str]:
        """Follow nextToken through every page of a List* operation."""
        items: list[str] = []
        token: str | None = None
        while True:
            page = await self.call(operation, **params, **({"nextToken": token} if token else {}))
            items += page.get(key, [])
            token = page.get("nextToken")
            if not token:
                return items


__all__ = ["EcsError", "EcsGateway", "GatewaySettings"]
