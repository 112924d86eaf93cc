"""FargateTask handlers: read the object, call its controller (controllers/task.py), apply the verdict.

The exactly-once protocol (the RUN_MARK annotation, clientToken, ListTasks before any second
RunTask) is the controller's and documented there. Here: reference resolution and tenancy (they
read the watch cache), the Kubernetes writes the protocol asks for (`_Kube`), and Kopf's retries.
Kubernetes writes from create to Running: the mark, one Event, Kopf's status patch.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

import kopf

from fargate_operator import k8s
from fargate_operator.controllers import task as controller
from fargate_operator.controllers.task import read_mark
from fargate_operator.ecs.errors import EcsError
from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.handlers import tenancy
from fargate_operator.handlers.common import (
    Waiting,
    cluster_has_default_strategy,
    ecs_or_wait,
    fail,
    freshness,
    resolve_cluster,
    resolve_task_definition,
    wait,
)
from fargate_operator.handlers.skeleton import deletes, deletion_gateway, record, requested
from fargate_operator.handlers.slots import bounded
from fargate_operator.kubeclient import ApiError
from fargate_operator.models.kinds import (
    FINALIZER,
    GROUP,
    PLURALS,
    RUN_MARK,
    STOP_ANNOTATION,
    TASK_DEFINITION,
    TENANCY_RECHECK_ANNOTATION,
    VERSION,
)
from fargate_operator.models.ownership import Owner
from fargate_operator.reconcile import stop_request
from fargate_operator.reconcile import task as logic
from fargate_operator.reconcile import task_definition as td_logic
from fargate_operator.reconcile.accounts import PlacementRefused
from fargate_operator.reconcile.tenancy import TASK_OPERATIONS
from fargate_operator.runtime import Runtime, runtime_of
from fargate_operator.status import writer

PLURAL = PLURALS["FargateTask"]


class _Kube:
    """The controller's Kubernetes side effects, on the object this handler call holds."""

    def __init__(self, body: Any) -> None:
        self.body = body

    async def mark(self, mark: dict[str, Any]) -> None:
        meta = self.body["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        if FINALIZER not in finalizers:
            finalizers.append(FINALIZER)
        try:
            await k8s.guard_and_annotate(
                self.body["kind"],
                meta["namespace"],
                meta["name"],
                meta["resourceVersion"],
                finalizers,
                {RUN_MARK: json.dumps(mark)},
            )
        except ApiError as exc:
            # Changed meanwhile (409), or being deleted (no new finalizers then): no RunTask this time.
            raise controller.Again(f"could not mark the object before RunTask: {exc.status} {exc.reason}", 1) from exc

    async def event(self, reason: str, message: str, warning: bool = False) -> None:
        await writer.event(self.body, reason, message, warning=warning)


def _admission(rt: Runtime, gw: EcsGateway, namespace: str, spec: Any) -> controller.Admit:
    """Tenancy before RunTask. A marked request's cluster and task definition come from an annotation,
    which whoever may write the object may write too: they pass the same checks as spec."""

    async def admit(cluster: str, task_definition: str, marked: bool) -> str:
        if marked:
            await tenancy.require_cluster(rt, gw, namespace, cluster)
            task_definition = await tenancy.require_task_definition(rt, gw, namespace, task_definition)
        tenancy.require_references(rt, namespace, spec, TASK_OPERATIONS)
        return task_definition

    return admit


def essentials(rt: Runtime, namespace: str, spec: Any, task_definition: str) -> list[str] | None:
    """The essential containers of the revision RunTask uses, from a FargateTaskDefinition of this
    namespace in the watch cache (no ECS call); None when none of them registered it."""
    ref = (spec.get("taskDefinitionRef") or {}).get("name")
    candidates = (
        [rt.watch_cache.get(TASK_DEFINITION, namespace, ref)]
        if ref
        else [o for o in rt.watch_cache.items(TASK_DEFINITION) if o["metadata"]["namespace"] == namespace]
    )
    for ftd in candidates:
        found = td_logic.registered_essentials(ftd, task_definition) if ftd else None
        if found is not None:
            return found
    return None


# No on.resume: an object whose handler never finished has no diff-base yet, so after a
# restart Kopf sees it as created again; one that finished needs nothing, and a restart
# with 10,000 FargateTasks skips 10,000 no-op handler calls. The spec is immutable, so a
# tenancy refusal is looked at again only when the tenancy config changes (the recheck
# annotation, handlers/tenancy.py).
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL, field=("metadata", "annotations", TENANCY_RECHECK_ANNOTATION))
@bounded
async def run_task(
    body: Any, spec: Any, status: Any, meta: Any, patch: kopf.Patch, retry: int, memo: Any, **_: Any
) -> None:
    rt = runtime_of(memo)
    if status.get("tasks") or status.get("phase") in logic.TERMINAL:
        return  # started before: the status loop follows it
    ns, mark = meta["namespace"], read_mark(meta)
    gw = await ecs_or_wait(rt, body, patch, status, retry)
    try:
        if mark and (moved := controller.moved(mark, gw.where)):
            raise PlacementRefused(moved)
        # A retry reuses what the first attempt resolved: the same request under the same token.
        cluster = mark["cluster"] if mark else await resolve_cluster(rt, gw, ns, spec)
        task_definition = mark["taskDefinition"] if mark else await resolve_task_definition(rt, gw, ns, spec)
    except (PlacementRefused, tenancy.TenancyRefused) as err:
        await refuse(body, patch, status, err, retry)
    except Waiting as why:
        await wait(body, patch, status, why)
    except EcsError as err:  # looking up the owner of what spec names
        await fail(body, patch, status, err, retry)
    assert task_definition is not None  # the CRD requires taskDefinition or taskDefinitionRef
    default_strategy = cluster_has_default_strategy(rt, ns, spec, cluster)
    desired = controller.Desired(Owner.of(body), dict(spec), cluster, task_definition, default_strategy)
    try:
        started = await controller.run(gw, _Kube(body), _admission(rt, gw, ns, spec), desired, mark, gw.where)
    except controller.Again as again:
        raise kopf.TemporaryError(str(again), delay=again.delay) from None
    except controller.NothingStarted as none:
        await _nothing_started(body, patch, status, none, retry)
    except tenancy.NotYetAccepted as why:
        await wait(body, patch, status, Waiting(str(why)))
    except tenancy.TenancyRefused as err:
        await refuse(body, patch, status, err, retry)
    except EcsError as err:
        if not err.transient:
            patch.status["phase"] = logic.FAILED
        await fail(body, patch, status, err, retry)
    observed, verdict = controller.status_of(
        started, desired, essentials(rt, ns, spec, started.task_definition), status
    )
    arn = next((t.get("taskArn") for t in started.tasks), None)
    record(body, patch, status, gw, observed, arn, None, verdict, fresh=freshness(rt, gw))


async def refuse(body: Any, patch: kopf.Patch, status: Any, err: Exception, retry: int) -> NoReturn:
    """A tenancy refusal: never ran, so Pending (it may run once the config shares what it names)."""
    patch.status["phase"] = logic.PENDING
    await fail(body, patch, status, err, retry, permanent=True)


async def _nothing_started(
    body: Any, patch: kopf.Patch, status: Any, none: controller.NothingStarted, retry: int
) -> NoReturn:
    """RunTask answered 200 with `failures` only: record them; Pending and retried if ECS lacked capacity.

    The retry goes through the marked path: ListTasks(startedBy) first, then RunTask with the
    same clientToken, so it cannot start a second set of tasks (nothing started this time).
    """
    patch.status["failures"] = none.failures
    patch.status["phase"] = logic.PENDING if none.retryable else logic.FAILED
    err = EcsError("RunTask", "RunTaskFailure", str(none), 200)
    await fail(body, patch, status, err, retry, permanent=not none.retryable)


# Only a marked object may have reached RunTask, so only a marked one needs the finalizer.
@deletes(PLURAL, annotations={RUN_MARK: kopf.PRESENT})
async def stop_task(
    body: Any, spec: Any, status: Any, meta: Any, patch: kopf.Patch, retry: int, memo: Any, **_: Any
) -> None:
    mark = read_mark(meta)
    cluster = status.get("clusterArn") or (mark or {}).get("cluster")
    if not cluster:
        return  # RunTask was never requested: nothing can be running
    # Marked: RunTask may have run, so a deletion without a gateway keeps retrying.
    placed_in = await deletion_gateway(body, spec, status, patch, retry, memo, maybe_made=True)
    if placed_in is None:
        return
    _rt, gw = placed_in
    if mark and (moved := controller.moved(mark, gw.where)):
        await fail(body, patch, status, PlacementRefused(moved), retry, permanent=False)
    reason = f"FargateTask {meta['namespace']}/{meta['name']} deleted"
    try:
        await controller.stop(gw, _Kube(body), Owner.of(body), cluster, list(status.get("tasks", [])), mark, reason)
    except EcsError as err:
        await fail(body, patch, status, err, retry, permanent=False)  # never give up: no orphans


@requested(PLURAL, STOP_ANNOTATION)
async def stop_requested(
    body: Any, status: Any, old: Any, new: Any, patch: kopf.Patch, retry: int, memo: Any, **_: Any
) -> None:
    """StopTask asked through the ECS API adapter: stop exactly the tasks named, keep the object and its record."""
    rt = runtime_of(memo)
    gw = await ecs_or_wait(rt, body, patch, status, retry)
    todo = stop_request.to_stop(
        (old or {}).get(STOP_ANNOTATION), (new or {}).get(STOP_ANNOTATION), list(status.get("tasks", []))
    )
    try:
        await controller.stop_named(gw, _Kube(body), Owner.of(body), status.get("clusterArn"), todo)
    except EcsError as err:
        await fail(body, patch, status, err, retry)
