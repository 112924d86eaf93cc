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
- Every HTTP attempt of a write passes the write fence (fence.py), checked again after botocore's
  rate limiter waited: with leader election, only the Lease holder's writes go out, and none after
  its renew deadline.
- One gateway per AWS account and region in use (gateways.py): each knows where it acts
  (`where`: account, region, assumed role), which every error it raises names, and every
  request names the object it is made for in its User-Agent, which CloudTrail records.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from prometheus_client import Counter, Histogram

from fargate_operator.ecs.acting import ACTING_FOR
from fargate_operator.ecs.cloudwatch_logs import LogsClient
from fargate_operator.ecs.coalesce import CoalescedClusters
from fargate_operator.ecs.credentials import CredentialsRefused
from fargate_operator.ecs.errors import FENCED_CODE, EcsError, from_botocore
from fargate_operator.ecs.families import FamilyIndex
from fargate_operator.ecs.fence import WriteFence
from fargate_operator.ecs.owner_gate import Owned, UngatedWrite, gated
from fargate_operator.ecs.owner_gate import request as gated_request
from fargate_operator.ecs.owners import OwnerLookups
from fargate_operator.ecs.ratelimit import ReadPacer
from fargate_operator.ecs.settings import GatewaySettings, Where
from fargate_operator.schema import model

ECS_CALLS = Counter("fargate_operator_ecs_calls_total", "ECS API calls", ["operation", "outcome"])
ECS_RETRIES = Counter("fargate_operator_ecs_retries_total", "Retries botocore made inside ECS calls", ["operation"])
ECS_LATENCY = Histogram("fargate_operator_ecs_call_seconds", "ECS API call latency, retries included", ["operation"])

READ_PREFIXES = ("Describe", "List")


def reads_made() -> float:
    """ECS reads (Describe*, List*) this process has made so far, every outcome: what a resync cost is measured by."""
    return sum(
        sample.value
        for metric in ECS_CALLS.collect()
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels.get("operation", "").startswith(READ_PREFIXES)
    )


DESCRIBE_TASKS_BATCH = 100
DESCRIBE_SERVICES_BATCH = 10
DESCRIBE_CLUSTERS_BATCH = 100
# model: DescribeServiceDeploymentsRequest.serviceDeploymentArns, "You can specify a maximum of 20 ARNs."
DESCRIBE_SERVICE_DEPLOYMENTS_BATCH = 20
DELETE_TASK_DEFINITIONS_BATCH = 10


_UA_UNSAFE = re.compile(r"[^A-Za-z0-9._:/@+=-]")
_thread = threading.local()


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class EcsGateway:
    def __init__(
        self,
        settings: GatewaySettings,
        client: Any | None = None,
        fence: WriteFence | None = None,
        *,
        session: botocore.session.Session | None = None,
        pool: ThreadPoolExecutor | None = None,
        reads: ReadPacer | None = None,
        where: Where | None = None,
    ) -> None:
        """`session`: the botocore session whose credentials sign (default: the operator's own, model.session());
        `pool` and `reads` may be shared with the other gateways (one thread pool; one read budget per account
        and region, as ECS throttles)."""
        self.settings = settings
        self.fence = fence if fence is not None else WriteFence()
        self._own_pool = pool is None
        self._pool = pool or ThreadPoolExecutor(max_workers=settings.max_concurrency, thread_name_prefix="ecs")
        self._reads = reads or ReadPacer()
        self._session = session or model.session()
        self._logs: LogsClient | None = None
        self._client = client or boto3.session.Session(botocore_session=self._session).client(
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
        self.where = where or Where(region=self._client.meta.region_name)
        self._method_names = {
            self._client.meta.method_to_api_mapping[name]: name for name in self._client.meta.method_to_api_mapping
        }
        # Per HTTP attempt, so a retry botocore makes after the renew deadline is refused as well; twice. First on
        # before-send.ecs, so a fenced write does not queue on the rate limiter. Then last of all: botocore's
        # adaptive mode waits on its token bucket in a handler of the generic `before-send` (botocore
        # retries/adaptive.py register_retry_handler: ClientRateLimiter.on_sending_request, ~30 s once ECS
        # throttled), and hooks.py (_PrefixTrie.prefix_search) runs the most specific node's handlers first, so
        # that wait comes after before-send.ecs. register_last on `before-send` puts the second check after it,
        # right before botocore sends (endpoint.py _do_get_response).
        self._client.meta.events.register("before-send.ecs", self._before_send)
        self._client.meta.events.register_last("before-send", self._before_wire)
        # What creations ask before their one write, answered in batches (families.py, coalesce.py).
        self.families = FamilyIndex(self.call)
        self.cluster_batch = CoalescedClusters(self.describe_clusters)
        # Owner tags of what specs name directly, kept briefly (tenancy checks).
        self.owners = OwnerLookups(self.describe_clusters, self.call)

    @property
    def region(self) -> str | None:
        return self.where.region

    @property
    def logs(self) -> LogsClient:
        """CloudWatch Logs reads in this gateway's account and region, with its credentials (made on first use)."""
        if self._logs is None:
            self._logs = LogsClient(self.settings, self._session, self._pool, self.where)
        return self._logs

    @property
    def pool(self) -> ThreadPoolExecutor:
        return self._pool

    @property
    def reads(self) -> ReadPacer:
        return self._reads

    def _before_send(self, event_name: str, request: Any = None, **_: Any) -> None:
        self.fence.check(event_name.rsplit(".", 1)[-1])
        acting_for = getattr(_thread, "acting_for", None)
        if acting_for and request is not None:  # not signed (SigV4 leaves User-Agent out): added after signing
            request.headers["User-Agent"] = f"{request.headers.get('User-Agent', '')} fargate-object/{acting_for}"

    def _before_wire(self, event_name: str, **_: Any) -> None:
        """The fence again, after every client-side wait botocore makes before sending (see __init__)."""
        self.fence.check(event_name.rsplit(".", 1)[-1])

    def close(self) -> None:
        if self._own_pool:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _call_sync(self, operation: str, params: dict[str, Any], acting_for: str | None = None) -> dict[str, Any]:
        method = getattr(self._client, self._method_names[operation])
        started = time.perf_counter()
        _thread.acting_for = _UA_UNSAFE.sub("-", acting_for) if acting_for else None
        counted = self.fence.enter(operation)  # before the fence check: drain() then waits for it
        try:
            response: dict[str, Any] = method(**params)
        except Exception as exc:
            ECS_LATENCY.labels(operation).observe(time.perf_counter() - started)
            if isinstance(exc, CredentialsRefused):
                # This account's session could not be made (or refreshed). Retried with backoff even when
                # STS said AccessDenied: the fix is the admin's (trust policy, External ID), not the spec's.
                err = EcsError("AssumeRole", exc.code, str(exc), None)
            else:
                err = from_botocore(operation, exc)
            err.where = str(self.where)
            outcome = "fenced" if err.code == FENCED_CODE else "transient_error" if err.transient else "error"
            ECS_CALLS.labels(operation, outcome).inc()
            raise err from exc
        finally:
            _thread.acting_for = None
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
        """Call one ECS operation by its API name (e.g. "RunTask"); raises EcsError. A write on an existing
        resource is refused here (UngatedWrite): it goes through `write`, which only takes an Owned."""
        if gated(operation):
            raise UngatedWrite(f"{operation} changes an existing resource: EcsGateway.write with an Owned target")
        return await self._send(operation, params)

    async def write(self, operation: str, target: Owned | list[Owned], **params: Any) -> dict[str, Any]:
        """A write or delete on existing resources that passed the owner check (ecs/owner_gate.py): the
        request names exactly `target` (and, for a service or task, the cluster ECS reported it in)."""
        return await self._send(operation, gated_request(operation, target, params))

    async def _send(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        await self._reads.before(operation)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, partial(self._call_sync, operation, params, ACTING_FOR.get()))

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

    async def describe_service_deployments(self, arns: Iterable[str]) -> list[dict[str, Any]]:
        """ServiceDeployments in batches of 20 (ARNs ECS does not know are left out, as failures)."""
        found: list[dict[str, Any]] = []
        for batch in chunks(list(dict.fromkeys(arns)), DESCRIBE_SERVICE_DEPLOYMENTS_BATCH):
            resp = await self.call("DescribeServiceDeployments", serviceDeploymentArns=batch)
            found += resp.get("serviceDeployments", [])
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


__all__ = ["ACTING_FOR", "EcsError", "EcsGateway", "GatewaySettings", "Where"]
