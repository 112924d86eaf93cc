"""Fresh status without a timer per object: a few loops that batch describes and patch only changes.

Every `status_interval` seconds, per AWS account and region (each object through its gateway:
Runtime.ecs_for; objects whose namespace waits for its FargateAccount, or is refused one, are
left to their handler's condition):
- FargateTasks not yet finished: DescribeTasks, 100 per call, per cluster;
- FargateServices: DescribeServices, 10 per call, per cluster; for those whose deployment is in
  flight, DescribeServiceDeployments, 20 per call (handlers/deployments.py: status.deployment);
- FargateClusters: DescribeClusters, 100 per call;
- every `drift_task_definition_every` cycles, the current revisions of FargateTaskDefinitions:
  ListTaskDefinitions (ACTIVE), 100 per page;
then drift detection on what was described (handlers/drift.py: no call of its own, a
correction where the object's policy asks for one), a status patch for each object whose
observed state changed, through the status writer (status/: one precedence with the handlers'
verdicts, conditions compared without timestamps), and deletion of finished FargateTasks past
ttlSecondsAfterFinished. Each cluster is handled on its own: one that fails
(AccessDenied, ClusterNotFound, a refused write) is logged and retried next
cycle while the others go on.

Where events keep status fresh (a queue of ECS's events answers for the object's account and
region: events/modes.py), the cycle leaves those objects out and describes them only every
`resync_interval` seconds (everything, as a safety net); handlers/event_status.py refreshes the
objects that events name, with the same functions given their keys (`keys`: (namespace, name);
None: every object, as polling does). status.freshness says which mode keeps an object fresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator
from dataclasses import replace
from typing import Any

from prometheus_client import Counter, Gauge

from fargate_operator import heap, k8s
from fargate_operator.controllers import cluster as cluster_controller
from fargate_operator.controllers import service as service_controller
from fargate_operator.controllers.base import Verdict
from fargate_operator.controllers.task import read_mark
from fargate_operator.ecs.acting import ACTING_FOR, acting_for
from fargate_operator.ecs.errors import EcsError
from fargate_operator.ecs.gateway import DESCRIBE_TASKS_BATCH, EcsGateway, reads_made
from fargate_operator.events import resync as resync_pacing
from fargate_operator.events.modes import POLLING
from fargate_operator.handlers import deployments, drift, log_tail
from fargate_operator.handlers.common import freshness, gateway_if_placed
from fargate_operator.models.kinds import CLUSTER, SERVICE, TASK
from fargate_operator.models.status import ServiceStatus, TaskStatus
from fargate_operator.reconcile import cluster as cluster_logic
from fargate_operator.reconcile import conditions, missing, runtask, tenancy
from fargate_operator.reconcile import service as service_logic
from fargate_operator.reconcile import task as task_logic
from fargate_operator.reconcile.drift import policy as drift_policy
from fargate_operator.runtime import Runtime
from fargate_operator.status import writer
from fargate_operator.status.precedence import Source, Update

log = logging.getLogger(__name__)

# Lets a watcher (tests, dashboards) wait for "the loop has looked again" instead of guessing a time.
CYCLES = Counter("fargate_operator_status_cycles_total", "Completed cycles of the batched status loop")
RESYNC_SECONDS = Gauge(
    "fargate_operator_resync_interval_seconds", "In Events mode: seconds between full resyncs, paced by their reads"
)


Key = tuple[str, str]  # (namespace, name) of an object of one kind


def key_of(obj: dict[str, Any]) -> Key:
    return obj["metadata"]["namespace"], obj["metadata"]["name"]


def _wanted(obj: dict[str, Any], keys: Collection[Key] | None) -> bool:
    return keys is None or key_of(obj) in keys


def _update(observed: dict[str, Any], verdict: Verdict) -> Update:
    """The loop's say on an object: what ECS shows and the verdict on it (precedence: status/precedence.py)."""
    return Update(Source.LOOP, verdict, observed)


@contextlib.contextmanager
def _per_cluster(step: str, cluster: str) -> Iterator[None]:
    """An error boundary around one cluster's share of a step: log it, go on with the next cluster."""
    try:
        yield
    except EcsError as err:
        log.warning("status refresh %s, cluster %s: %s", step, cluster, err)
    except Exception:
        log.exception("status refresh %s, cluster %s failed", step, cluster)


async def _write(obj: dict[str, Any], update: Update, fresh: str | None = None) -> bool:
    """Through the status writer: only what changed, only onto the version of `obj` it was computed from.

    `obj` is the watch cache's snapshot from before the (paced, possibly slow) describes: a
    handler may have written since, e.g. Degraded for a new generation (status/writer.py).
    `fresh`: status.freshness, written with the rest (and only when it changes, as the rest).
    """
    if fresh is not None:
        update = replace(update, observed={**update.observed, "freshness": fresh})
    return await writer.write(obj, update)


async def refresh_tasks(rt: Runtime, keys: Collection[Key] | None = None) -> None:
    by_cluster: dict[tuple[EcsGateway, str], list[dict[str, Any]]] = defaultdict(list)
    for obj in rt.watch_cache.items(TASK):
        status: TaskStatus = obj.get("status", {})
        live = status.get("tasks") and status.get("phase") not in task_logic.TERMINAL and status.get("clusterArn")
        if live and _wanted(obj, keys) and (gw := gateway_if_placed(rt, obj)):
            by_cluster[(gw, status["clusterArn"])].append(obj)
    for (gw, cluster), objs in by_cluster.items():
        with _per_cluster("tasks", cluster):
            await _refresh_cluster_tasks(rt, gw, cluster, objs)


async def _refresh_cluster_tasks(rt: Runtime, gw: EcsGateway, cluster: str, objs: list[dict[str, Any]]) -> None:
    arns = [t["taskArn"] for o in objs for t in o["status"]["tasks"]]
    found, _missing = await gw.describe_tasks(cluster, arns)
    by_arn = {t["taskArn"]: t for t in found}
    now = time.time()
    for obj in objs:
        status: TaskStatus
        meta, status = obj["metadata"], obj["status"]
        since = (read_mark(meta) or {}).get("at") or meta.get("creationTimestamp")
        tasks = missing.merge(status["tasks"], by_arn, since, now)
        if tasks is None:
            continue  # MISSING so far only: ECS is eventually consistent, look again next cycle
        count = obj.get("spec", {}).get("count", 1)
        observed, health = task_logic.observe(tasks, count, status.get("essentialContainers"), status.get("phase"))
        if observed["phase"] == task_logic.SUCCEEDED and missing.any_gone(tasks):
            observed["phase"] = task_logic.FAILED  # a task nobody can describe any more is no success
            observed["stoppedReason"] = missing.GONE_REASON
            health = task_logic.health(task_logic.FAILED, missing.GONE_REASON)
        note = runtask.not_started_note(status.get("failures") or [], count)
        if observed["phase"] == task_logic.FAILED and status.get("phase") not in task_logic.TERMINAL:
            health = await _with_log_tail(rt, gw, obj, tasks, health)
        written = await _write(obj, _update(observed, health.noted(note)), freshness(rt, gw))
        if written and observed["phase"] in task_logic.TERMINAL and status.get("phase") not in task_logic.TERMINAL:
            # After the write, so a write refused as stale (and made again next cycle) posts it once.
            await writer.event(
                obj,
                observed["phase"],
                f"task {observed['phase'].lower()}: {health.message}",
                warning=observed["phase"] == task_logic.FAILED,
            )


async def _with_log_tail(
    rt: Runtime, gw: EcsGateway, obj: dict[str, Any], tasks: list[dict[str, Any]], health: Verdict
) -> Verdict:
    """The Degraded message with the failed container's last log lines (once: on entering Failed)."""
    failed = next((t for t in tasks if t.get("stopCode") == "EssentialContainerExited"), tasks[0] if tasks else None)
    tail = await log_tail.last_lines(rt, gw, obj, failed) if failed else None
    return health.noted(tail or "")


async def expire_finished_tasks(rt: Runtime, now: datetime.datetime) -> None:
    for obj in rt.watch_cache.items(TASK):
        status: TaskStatus
        ttl, status = obj.get("spec", {}).get("ttlSecondsAfterFinished"), obj.get("status", {})
        if ttl is None or status.get("phase") not in task_logic.TERMINAL or obj["metadata"].get("deletionTimestamp"):
            continue
        finished = status.get("stoppedAt") or next(
            (c["lastTransitionTime"] for c in status.get("conditions", []) if c.get("type") == "Ready"), None
        )
        if finished and now >= datetime.datetime.fromisoformat(finished) + datetime.timedelta(seconds=ttl):
            await k8s.delete_object(TASK, obj["metadata"]["namespace"], obj["metadata"]["name"])


def _observing(obj: dict[str, Any]) -> bool:
    return drift_policy.management_policy(obj.get("spec") or {}) == drift_policy.OBSERVE


def _not_found(kind: str, name: str, where: str) -> Verdict:
    message = f"no ECS {kind} {name}{where} to observe (managementPolicy Observe: the operator creates nothing)"
    return Verdict(False, False, False, "NotFound", message)


async def refresh_services(rt: Runtime, keys: Collection[Key] | None = None) -> None:
    """Status (and drift) of every FargateService with an ECS service, and of the observe-only ones.

    Observe-only objects are described by name (they may never have had an ARN in status):
    DescribeServices takes names and ARNs alike, in the same batches.
    """
    by_cluster: dict[tuple[EcsGateway, str], list[dict[str, Any]]] = defaultdict(list)
    for obj in rt.watch_cache.items(SERVICE):
        status: ServiceStatus = obj.get("status", {})
        if obj["metadata"].get("deletionTimestamp") or not status.get("clusterArn") or not _wanted(obj, keys):
            continue
        known = status.get("serviceArn") or (_observing(obj) and drift.converged(obj))
        if known and (gw := gateway_if_placed(rt, obj)):
            by_cluster[(gw, status["clusterArn"])].append(obj)
    for (gw, cluster), objs in by_cluster.items():
        with _per_cluster("services", cluster):
            ACTING_FOR.set(None)  # a batched read is made for no object in particular
            names = [o["status"].get("serviceArn") or o["spec"]["serviceName"] for o in objs]
            described = await gw.describe_services(cluster, names)
            by_arn = {s["serviceArn"]: s for s in described}
            by_name = {s["serviceName"]: s for s in described}
            pairs = [(obj, _described(obj, by_arn, by_name)) for obj in objs]
            in_flight = await deployments.in_flight(gw, pairs)
            for obj, svc in pairs:
                await _refresh_service(rt, gw, cluster, obj, svc, in_flight)


def _described(
    obj: dict[str, Any], by_arn: dict[str, dict[str, Any]], by_name: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    arn = obj["status"].get("serviceArn")
    return by_arn.get(arn) if arn else by_name.get(obj["spec"]["serviceName"])


async def _refresh_service(
    rt: Runtime,
    gw: EcsGateway,
    cluster: str,
    obj: dict[str, Any],
    svc: dict[str, Any] | None,
    in_flight: deployments.Described | None = None,
) -> None:
    acting_for(obj)
    status: ServiceStatus = obj["status"]
    seen = deployments.observed(obj, svc, in_flight or {})
    deployment = deployments.after(status, seen)
    fresh = freshness(rt, gw)
    if _observing(obj):
        if svc is None or svc.get("status") == "INACTIVE":
            name = obj["spec"]["serviceName"]
            observed: dict[str, Any] = {"status": svc.get("status") if svc else "MISSING"}
            await _write(obj, _update(observed, _not_found("service", name, f" in {cluster}")), fresh)
        elif owner := tenancy.observed_elsewhere(obj["metadata"]["namespace"], svc.get("tags")):
            refused: dict[str, Any] = {"status": "OwnedElsewhere"} | (
                {"serviceArn": None} if "serviceArn" in status else {}
            )
            why = f"ECS service {svc['serviceName']} belongs to namespace {owner}: a namespace observes only its own"
            await _write(obj, _update(refused, Verdict(False, False, True, "OwnedElsewhere", why)), fresh)
        else:
            mirrored = service_logic.status_from(svc) | ({"deployment": seen} if seen is not None else {})
            await _write(obj, _update(mirrored, service_controller.verdict(svc, deployment=deployment)), fresh)
        return
    detect = drift.enabled(rt, obj)
    if svc is None and not detect:
        return
    if svc is not None:
        held = conditions.held_degraded(status.get("conditions"))
        health = service_controller.verdict(svc, status.get("desiredTaskDefinition"), held, deployment)
        health = await _with_failed_task(gw, cluster, obj, svc, health)
        observed = service_logic.status_from(svc) | ({"deployment": seen} if seen is not None else {})
    else:
        health = Verdict(
            False, False, True, "ServiceMissing", "ECS no longer knows the service (DescribeServices: MISSING)"
        )
        observed = {"status": "MISSING"}
    update = _update(observed, health)
    if detect:
        update = await drift.service(rt, gw, obj, svc, health, update)
    await _write(obj, update, fresh)


async def _with_failed_task(
    gw: EcsGateway, cluster: str, obj: dict[str, Any], svc: dict[str, Any], health: Verdict
) -> Verdict:
    """A failed rollout's verdict, naming how its newest task ended (stop code, exit codes, reasons).

    ECS's rolloutStateReason says only that the circuit breaker tripped; the why is on the
    stopped tasks. Looked up once, when the verdict first appears (one ListTasks of the
    service's stopped tasks and one DescribeTasks); afterwards the recorded message stands.
    """
    if health.reason not in service_logic.FAILED_ROLLOUT_REASONS:
        return health
    held = conditions.find(obj.get("status", {}).get("conditions"), conditions.DEGRADED)
    if held.get("status") == "True" and held.get("reason") == health.reason:
        return replace(health, message=str(held.get("message") or health.message))
    stopped = await gw.list_all(
        "ListTasks", "taskArns", cluster=cluster, serviceName=svc["serviceName"], desiredStatus="STOPPED"
    )
    tasks, _missing = await gw.describe_tasks(cluster, stopped[-DESCRIBE_TASKS_BATCH:])
    note = service_logic.failed_task_note(tasks, obj["status"].get("desiredTaskDefinition"))
    return health.noted(note)


SERVICE_GROUP = "service:"
STOPPED_KEPT_SECONDS = 3600.0  # ECS keeps describing stopped tasks about an hour


def _jsonable(value: Any) -> Any:
    """botocore's parsed answer with timestamps as epoch seconds, as the ECS protocol sends them."""
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def owned_services(rt: Runtime, keys: Collection[Key] | None = None) -> dict[tuple[EcsGateway, str], dict[str, str]]:
    """(gateway, cluster ARN) -> service name -> service ARN, for every placed FargateService whose status
    records a service ARN.

    That is not only the services an object made or adopted (their owner tags checked): under
    managementPolicy Observe the status loop mirrors the service by name, ARN included, when it is
    untagged (made outside the operator) or tagged with the object's own namespace. A service
    tagged with another namespace never gets here (OwnedElsewhere clears the ARN).
    """
    owned: dict[tuple[EcsGateway, str], dict[str, str]] = defaultdict(dict)
    for obj in rt.watch_cache.items(SERVICE):
        status: ServiceStatus = obj.get("status", {})
        placed = status.get("serviceArn") and status.get("clusterArn") and _wanted(obj, keys)
        if placed and (gw := gateway_if_placed(rt, obj)):
            owned[(gw, status["clusterArn"])][status["serviceArn"].rsplit("/", 1)[-1]] = status["serviceArn"]
    return owned


async def refresh_service_tasks(rt: Runtime, now: float | None = None, keys: Collection[Key] | None = None) -> None:
    """Index the tasks of owned FargateServices, per service ARN, in memory.

    One ListTasks per cluster and interval plus batched DescribeTasks; tasks a
    FargateTask started are left out (their object holds them). A task belongs to a
    service when it runs in the service's cluster (by ARN) and its group is
    "service:<name>" (ECS's scheduler sets it; service names are unique within a
    cluster). Only the services owned_services returns are indexed (mirrored ones included);
    with `keys`, only those FargateServices' (the index of the others is kept as it is).
    """
    now = now if now is not None else datetime.datetime.now(datetime.UTC).timestamp()
    owned = owned_services(rt, keys)
    one_off = {t["taskArn"] for o in rt.watch_cache.items(TASK) for t in o.get("status", {}).get("tasks", [])}
    ACTING_FOR.set(None)
    for (gw, cluster), services in owned.items():
        with _per_cluster("service tasks", cluster):
            previous = {a: t for arn in services.values() for a, t in rt.service_tasks.get(arn, {}).items()}
            listed = await gw.list_all("ListTasks", "taskArns", cluster=cluster, desiredStatus="RUNNING")
            wanted = {a for a in listed if a not in one_off} | {
                a for a, t in previous.items() if t.get("lastStatus") != "STOPPED"
            }
            found, _missing = await gw.describe_tasks(cluster, sorted(wanted))
            kept = [
                t
                for t in previous.values()
                if t.get("lastStatus") == "STOPPED" and now - (t.get("stoppedAt") or now) < STOPPED_KEPT_SECONDS
            ]
            index: dict[str, dict[str, dict[str, Any]]] = {arn: {} for arn in services.values()}
            for task in [*kept, *(_jsonable(t) for t in found)]:
                group = str(task.get("group", ""))
                service = services.get(group.removeprefix(SERVICE_GROUP)) if group.startswith(SERVICE_GROUP) else None
                if service is not None and task.get("clusterArn", cluster) == cluster:
                    index[service][task["taskArn"]] = task
            rt.service_tasks.update(index)
    if keys is not None:
        return
    for gone in set(rt.service_tasks) - {arn for services in owned.values() for arn in services.values()}:
        del rt.service_tasks[gone]


async def refresh_clusters(rt: Runtime, keys: Collection[Key] | None = None) -> None:
    by_gateway: dict[EcsGateway, list[dict[str, Any]]] = defaultdict(list)
    for o in rt.watch_cache.items(CLUSTER):
        known = o.get("status", {}).get("clusterArn") or (_observing(o) and drift.converged(o))
        alive = known and not o["metadata"].get("deletionTimestamp") and _wanted(o, keys)
        if alive and (gw := gateway_if_placed(rt, o)):
            by_gateway[gw].append(o)
    for gw, objs in by_gateway.items():
        with _per_cluster("clusters", str(gw.where)):
            await _refresh_clusters_of(rt, gw, objs)


async def _refresh_clusters_of(rt: Runtime, gw: EcsGateway, objs: list[dict[str, Any]]) -> None:
    """The FargateClusters of one account and region: DescribeClusters, 100 a call."""
    ACTING_FOR.set(None)
    keys = [o.get("status", {}).get("clusterArn") or cluster_logic.cluster_name(o) for o in objs]
    try:
        described = await gw.describe_clusters(keys)
    except EcsError as err:
        if err.transient:
            raise
        # One cluster these credentials may not read refuses the whole batch: ask one by one.
        described = []
        for key in dict.fromkeys(keys):
            with _per_cluster("clusters", key):
                described += await gw.describe_clusters([key])
    by_arn = {c["clusterArn"]: c for c in described}
    by_name = {c["clusterName"]: c for c in described}
    for obj, key in zip(objs, keys, strict=True):
        with _per_cluster("clusters", key):
            await _refresh_cluster(rt, gw, obj, by_arn.get(key) or by_name.get(key))


async def _refresh_cluster(rt: Runtime, gw: EcsGateway, obj: dict[str, Any], cl: dict[str, Any] | None) -> None:
    acting_for(obj)
    observing, detect = _observing(obj), drift.enabled(rt, obj)
    fresh = freshness(rt, gw)
    if cl is None or (observing and cl.get("status") == "INACTIVE"):
        if observing:
            observed: dict[str, Any] = {"status": cl.get("status") if cl else "MISSING"}
            health = _not_found("cluster", cluster_logic.cluster_name(obj), "")
            await _write(obj, _update(observed, health), fresh)
            return
        if not detect:
            return
    if cl is not None:
        health = cluster_controller.verdict(cl)
        observed = cluster_logic.status_from(cl)
    else:
        health = Verdict(
            False, False, True, "ClusterMissing", "ECS no longer knows the cluster (DescribeClusters: MISSING)"
        )
        observed = {"status": "MISSING"}
    update = _update(observed, health)
    if detect:
        update = await drift.cluster(rt, gw, obj, cl, update)
    await _write(obj, update, fresh)


async def refresh_task_definitions(rt: Runtime, where: Callable[[EcsGateway], bool] | None = None) -> None:
    """Drift of the current revisions, every `drift_task_definition_every` cycles (see handlers/drift.py); in
    Events mode on the resync cadence and on a CloudTrail (De)RegisterTaskDefinition. `where`: only the
    accounts and regions of the gateways it accepts."""
    if not rt.config.drift_detection:
        return

    await drift.task_definitions(rt, _write, where)


def polled(rt: Runtime, kind: str) -> set[Key]:
    """The objects of `kind` no queue of events keeps fresh (their account and region is polled)."""
    return {
        key_of(o)
        for o in rt.watch_cache.items(kind)
        if (gw := gateway_if_placed(rt, o)) is not None and freshness(rt, gw) == POLLING
    }


def deploying(rt: Runtime) -> set[Key]:
    """The FargateServices whose deployment is in flight (status.deployment.current)."""
    return {
        key_of(o) for o in rt.watch_cache.items(SERVICE) if (o.get("status") or {}).get("deployment", {}).get("current")
    }


def _polled_gateway(rt: Runtime) -> Callable[[EcsGateway], bool]:
    return lambda gw: freshness(rt, gw) == POLLING


async def _step(name: str, call: Any) -> None:
    try:
        await call
    except EcsError as err:
        log.warning("status refresh %s: %s", name, err)
    except Exception:
        log.exception("status refresh %s failed", name)


async def refresh_cycle(rt: Runtime, cycle: int, resync: bool) -> None:
    """One cycle: every object (no queue of events at all, or the resync is due), else the polled ones only."""
    walk = cycle % rt.config.drift_task_definition_every == 0
    if not rt.modes.any_queue() or resync:
        await _step("tasks", refresh_tasks(rt))
        await _step("services", refresh_services(rt))
        await _step("service tasks", refresh_service_tasks(rt))
        await _step("clusters", refresh_clusters(rt))
        if walk or (resync and rt.modes.any_queue()):
            await _step("task definitions", refresh_task_definitions(rt))
        return
    # ECS sends no event per lifecycle stage of a deployment: a service deploying is polled until it is done.
    services = polled(rt, SERVICE) | deploying(rt)
    await _step("tasks", refresh_tasks(rt, polled(rt, TASK)))
    await _step("services", refresh_services(rt, services))
    await _step("service tasks", refresh_service_tasks(rt, keys=services))
    await _step("clusters", refresh_clusters(rt, polled(rt, CLUSTER)))
    if walk:
        await _step("task definitions", refresh_task_definitions(rt, _polled_gateway(rt)))


async def refresh_objects(
    rt: Runtime,
    tasks: Collection[Key] = (),
    services: Collection[Key] = (),
    clusters: Collection[Key] = (),
    walks: Collection[tuple[str, str]] = (),
) -> None:
    """Only the objects named (what a batch of events concerns): one batched describe per cluster for them,
    and the task-definition drift walk of the places (identity, region) in `walks`."""
    if tasks:
        await _step("tasks", refresh_tasks(rt, set(tasks)))
    if services:  # their tasks' changes went into the service-task index from the events themselves
        await _step("services", refresh_services(rt, set(services)))
    if clusters:
        await _step("clusters", refresh_clusters(rt, set(clusters)))
    if walks:
        places = set(walks)
        await _step(
            "task definitions", refresh_task_definitions(rt, lambda gw: (gw.where.identity, gw.region) in places)
        )


FIRST_ANSWERS_SECONDS = 5.0


async def _first_answers(rt: Runtime, timeout: float = FIRST_ANSWERS_SECONDS) -> None:
    """With a queue of events to read, the first cycle waits a moment for it to answer (handlers/event_status.py):
    else it would write Polling on every object, and the switch to Events a moment later write them all again."""
    if not rt.config.events_queue_url and not any(m.event_queues for m in rt.accounts.mappings()):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (rt.modes.any_queue() and rt.modes.settled()):
        await asyncio.sleep(0.1)


async def refresh_forever(rt: Runtime) -> None:
    cycle = 0
    last_resync: float | None = None
    delay = rt.config.resync_interval
    await _first_answers(rt)
    while True:
        now = time.monotonic()
        resync = last_resync is None or now - last_resync >= delay
        if resync:
            last_resync = now
        reads = reads_made()
        async with rt.refresh_lock:  # event batches wait: what the cycle reads is the resync's alone
            await refresh_cycle(rt, cycle, resync)
        if resync and rt.modes.any_queue():
            delay = resync_pacing.next_delay(
                rt.config.resync_interval, reads_made() - reads, rt.config.resync_reads_per_second
            )
            RESYNC_SECONDS.set(delay)
        cycle += 1
        try:
            await expire_finished_tasks(rt, datetime.datetime.now(datetime.UTC))
        except Exception:
            log.exception("ttlSecondsAfterFinished sweep failed")
        heap.release_free_memory()
        CYCLES.inc()
        await asyncio.sleep(rt.config.status_interval)
