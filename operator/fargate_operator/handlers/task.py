"""FargateTask handlers: RunTask exactly once per object, StopTask on deletion.

Exactly once, across retries, restarts and SIGKILL at any point:
1. before the first RunTask the object is marked (annotation RUN_MARK, holding the
   resolved cluster and task definition) and gets its finalizer, in one conditional
   write, and retries reuse that request;
2. RunTask carries clientToken = uid and startedBy = "fargate-operator/<uid>";
3. an object that is marked but has no task in status is never run blind:
   ListTasks(startedBy) first, and the tasks found are adopted instead of starting
   new ones; an empty answer within 15 s of the mark is checked again (ListTasks is
   eventually consistent) before RunTask runs again with the same clientToken.
   ListTasks lists only tasks whose desired status is RUNNING, so a task that has
   already stopped is not found; then the clientToken holds: RunTask with the same
   token and parameters returns the original request's tasks instead of starting
   new ones (ECS's "Ensuring idempotency", RunTask tokens live 24 hours).
An unmarked object has never reached RunTask, so the common path costs one ECS call, and
it needs no finalizer: the deletion handler is filtered on the mark, so Kopf neither adds
the finalizer in a write of its own nor blocks the deletion of an object that never ran.
Kubernetes writes from create to Running: the mark, one Event, Kopf's status patch.
"""

from __future__ import annotations

import json
import time
from typing import Any, NoReturn

import kopf

from fargate_operator import k8s
from fargate_operator.ecs import owner_gate
from fargate_operator.ecs.errors import EcsError
from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.handlers import tenancy
from fargate_operator.handlers.common import (
    Waiting,
    apply_health,
    cluster_has_default_strategy,
    ecs_for_deletion,
    ecs_or_wait,
    fail,
    placed,
    resolve_cluster,
    resolve_task_definition,
    wait,
)
from fargate_operator.handlers.remembered import remembered
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
from fargate_operator.reconcile import runtask, stop_request
from fargate_operator.reconcile import task as logic
from fargate_operator.reconcile import taskdefinition as td_logic
from fargate_operator.reconcile.accounts import PlacementRefused
from fargate_operator.reconcile.tenancy import TASK_OPERATIONS
from fargate_operator.runtime import Runtime, runtime_of

PLURAL = PLURALS["FargateTask"]
LIST_SETTLE_SECONDS = 15.0


def read_mark(meta: Any) -> dict[str, Any] | None:
    """The RunTask request recorded before the first call: cluster, task definition, time."""
    raw = (meta.get("annotations") or {}).get(RUN_MARK)
    if not raw:
        return None
    try:
        mark = json.loads(raw)
    except ValueError:
        return {"at": 0}
    return mark if isinstance(mark, dict) else {"at": 0}


async def find_started(gw: EcsGateway, cluster: str, started_by: str) -> list[str]:
    """Tasks started with `started_by` whose desired status is RUNNING (ListTasks' default).

    startedBy alone: botocore's ECS model, ListTasksRequest.startedBy, "When you specify
    startedBy as the filter, it must be the only filter that you use." Stopped tasks are not
    listed; see the module docstring for why exactly-once still holds.
    """
    return list(dict.fromkeys(await gw.list_all("ListTasks", "taskArns", cluster=cluster, startedBy=started_by)))


def essentials(rt: Runtime, namespace: str, spec: Any, task_definition: str) -> list[str] | None:
    """The essential containers of the revision RunTask uses, from a FargateTaskDefinition of this
    namespace in the watch cache (no ECS call); None when none of them registered it."""
    ref = (spec.get("taskDefinitionRef") or {}).get("name")
    candidates = (
        [rt.registry.get(TASK_DEFINITION, namespace, ref)]
        if ref
        else [o for o in rt.registry.items(TASK_DEFINITION) if o["metadata"]["namespace"] == namespace]
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
    owner, ns = Owner.of(body), meta["namespace"]
    mark = read_mark(meta)
    gw = await ecs_or_wait(rt, body, patch, status, retry)
    try:
        if mark and (moved := _moved(mark, gw)):
            raise PlacementRefused(moved)
        # A retry reuses what the first attempt resolved: the same request under the same token.
        cluster = mark["cluster"] if mark else await resolve_cluster(rt, gw, ns, spec)
        task_definition = mark["taskDefinition"] if mark else await resolve_task_definition(rt, gw, ns, spec)
    except PlacementRefused as err:
        await refuse(body, patch, status, err, retry)
    except Waiting as why:
        await wait(body, patch, status, why)
    except tenancy.TenancyRefused as err:
        await refuse(body, patch, status, err, retry)
    except EcsError as err:  # looking up the owner of what spec names
        await fail(body, patch, status, err, retry)
    assert task_definition is not None  # the CRD requires taskDefinition or taskDefinitionRef
    expected = spec.get("count", 1)
    started_by = logic.started_by(owner.uid)
    failures: list[dict[str, str]] = []
    try:
        found = await find_started(gw, cluster, started_by) if mark else []
        if found:
            tasks, not_yet = await gw.describe_tasks(cluster, found)
            if not_yet:  # listed but MISSING: ECS is eventually consistent, describe again soon
                raise kopf.TemporaryError(f"ECS lists {len(not_yet)} task(s) it does not describe yet", delay=5)
            await k8s.post_event(
                body, "Adopted", f"found {len(found)} task(s) started before a restart; not running again"
            )
        else:
            if mark and time.time() - mark.get("at", 0) < LIST_SETTLE_SECONDS:
                # ListTasks is eventually consistent: look again before trusting an empty answer.
                raise kopf.TemporaryError("RunTask was requested moments ago; checking ECS again", delay=5)
            if mark:
                # The mark is an annotation, which whoever may write the object may write too:
                # what it names passes the same tenancy checks as spec before any RunTask.
                await tenancy.require_cluster(rt, gw, ns, cluster)
                task_definition = await tenancy.require_task_definition(rt, gw, ns, task_definition)
            tenancy.require_references(rt, ns, spec, TASK_OPERATIONS)
            await write_mark(body, cluster, task_definition, gw)
            default_strategy = cluster_has_default_strategy(rt, ns, spec, cluster)
            request = logic.run_request(dict(spec), owner, cluster, task_definition, default_strategy)
            resp = await gw.call("RunTask", **request)
            tasks = resp.get("tasks", [])
            failures = runtask.failures_of(resp)
            if not tasks:
                await _nothing_started(body, patch, status, failures, retry)
            await k8s.post_event(body, "Started", f"RunTask {', '.join(t['taskArn'] for t in tasks)}")
            if failures:
                note = runtask.not_started_note(failures, expected)
                await k8s.post_event(body, "PartialFailure", f"RunTask: {note}", warning=True)
    except tenancy.NotYetAccepted as why:
        await wait(body, patch, status, Waiting(str(why)))
    except tenancy.TenancyRefused as err:
        await refuse(body, patch, status, err, retry)
    except EcsError as err:
        if not err.transient:
            patch.status["phase"] = logic.FAILED
        await fail(body, patch, status, err, retry)
    essential = essentials(rt, ns, spec, task_definition)
    observed, health = logic.observe(tasks, expected, essential, status.get("phase"))
    observed["startedBy"] = started_by
    observed.setdefault("clusterArn", cluster)
    observed.setdefault("taskDefinitionArn", task_definition)
    if essential is not None:
        observed["essentialContainers"] = essential  # the status loop judges exit codes by them
    if failures or status.get("failures"):
        observed["failures"] = failures or None  # None: a retry started everything, clear the record
    patch.status.update(observed)
    placed(patch, next((t.get("taskArn") for t in tasks), None), gw)
    note = runtask.not_started_note(observed.get("failures") or [], expected)
    apply_health(body, patch, status, runtask.with_note(health, note))


async def refuse(body: Any, patch: kopf.Patch, status: Any, err: Exception, retry: int) -> NoReturn:
    """A tenancy refusal: never ran, so Pending (it may run once the config shares what it names)."""
    patch.status["phase"] = logic.PENDING
    await fail(body, patch, status, err, retry, permanent=True)


async def _nothing_started(
    body: Any, patch: kopf.Patch, status: Any, failures: list[dict[str, str]], retry: int
) -> NoReturn:
    """RunTask answered 200 with `failures` only: record them; Pending and retried if ECS lacked capacity.

    The retry goes through the marked path: ListTasks(startedBy) first, then RunTask with the
    same clientToken, so it cannot start a second set of tasks (nothing started this time).
    """
    patch.status["failures"] = failures
    retryable = runtask.all_retryable(failures)
    patch.status["phase"] = logic.PENDING if retryable else logic.FAILED
    message = runtask.describe(failures) if failures else "ECS started no task"
    await fail(body, patch, status, EcsError("RunTask", "RunTaskFailure", message, 200), retry, permanent=not retryable)


def _moved(mark: dict[str, Any], gw: EcsGateway) -> str | None:
    """Why a retry may not RunTask (or look for its tasks) where `gw` acts: the first attempt went to another
    account or region. Marks older than FargateAccounts name neither and are taken as they are."""
    region, account = mark.get("region"), mark.get("account")
    other_region = region and gw.region and region != gw.region
    if other_region or (account and account != gw.where.identity):
        return (
            f"RunTask was first requested in account {account}, region {region} (the {RUN_MARK} annotation), "
            f"but the namespace now acts in {gw.where}: not run (nor looked for) elsewhere, which could start it "
            "twice"
        )
    return None


async def write_mark(body: Any, cluster: str, task_definition: str, gw: EcsGateway) -> None:
    meta = body["metadata"]
    mark = {
        "cluster": cluster,
        "taskDefinition": task_definition,
        "at": time.time(),
        "region": gw.region,
        "account": gw.where.identity,  # an account id, or "own" (the operator's identity): checked by _moved
    }
    finalizers = list(meta.get("finalizers") or [])
    if FINALIZER not in finalizers:
        finalizers.append(FINALIZER)
    try:
        await k8s.guard_and_annotate(
            body["kind"],
            meta["namespace"],
            meta["name"],
            meta["resourceVersion"],
            finalizers,
            {RUN_MARK: json.dumps(mark)},
        )
    except ApiError as exc:
        # Changed meanwhile (409), or being deleted (no new finalizers then): no RunTask this time.
        raise kopf.TemporaryError(
            f"could not mark the object before RunTask: {exc.status} {exc.reason}", delay=1
        ) from exc


async def owned_tasks(gw: EcsGateway, owner: Owner, cluster: str, arns: list[str]) -> list[owner_gate.Owned]:
    """The tasks of `arns` that carry this object's owner tags (RunTask tags them), from one DescribeTasks
    per 100: what StopTask may name."""
    if not arns:
        return []
    tasks, _gone = await gw.describe_tasks(cluster, arns)
    return [t for t in (owner_gate.owned(owner, task) for task in tasks) if t is not None]


# Only a marked object may have reached RunTask, so only a marked one needs the finalizer.
@kopf.on.delete(GROUP, VERSION, PLURAL, annotations={RUN_MARK: kopf.PRESENT})
@bounded
@remembered
async def stop_task(
    body: Any, spec: Any, status: Any, meta: Any, patch: kopf.Patch, retry: int, memo: Any, **_: Any
) -> None:
    rt = runtime_of(memo)
    mark = read_mark(meta)
    cluster = status.get("clusterArn") or (mark or {}).get("cluster")
    if not cluster:
        return  # RunTask was never requested: nothing can be running
    gw = await ecs_for_deletion(rt, body, patch, status, retry, maybe_made=True)  # marked: RunTask may have run
    if gw is None:
        return
    if mark and (moved := _moved(mark, gw)):
        await fail(body, patch, status, PlacementRefused(moved), retry, permanent=False)
    arns = [t["taskArn"] for t in status.get("tasks", []) if t.get("lastStatus") != "STOPPED"]
    reason = f"FargateTask {meta['namespace']}/{meta['name']} deleted"
    try:
        if not status.get("tasks") and mark:
            # RunTask may have run without its result reaching status: look before leaving.
            arns = await find_started(gw, cluster, logic.started_by(meta["uid"]))
        stopped = []
        for target in await owned_tasks(gw, Owner.of(body), cluster, arns):
            try:
                await gw.write("StopTask", target, reason=reason)
                stopped.append(target.arn)
            except EcsError as err:
                if err.transient or "not found" not in err.message.lower():
                    raise
        if stopped:
            await k8s.post_event(body, "Stopped", f"StopTask {', '.join(stopped)}")
    except EcsError as err:
        if err.code == "ClusterNotFoundException":
            return  # the cluster, and with it every task, is gone
        await fail(body, patch, status, err, retry, permanent=False)  # never give up: no orphans


@kopf.on.update(GROUP, VERSION, PLURAL, field="metadata.annotations", annotations={STOP_ANNOTATION: kopf.PRESENT})
@bounded
async def stop_requested(
    body: Any, status: Any, old: Any, new: Any, patch: kopf.Patch, retry: int, memo: Any, **_: Any
) -> None:
    """StopTask asked through the ECS API adapter: stop exactly the tasks named, keep the object and its record."""
    rt = runtime_of(memo)
    gw = await ecs_or_wait(rt, body, patch, status, retry)
    cluster = status.get("clusterArn")
    todo = stop_request.to_stop(
        (old or {}).get(STOP_ANNOTATION), (new or {}).get(STOP_ANNOTATION), list(status.get("tasks", []))
    )
    try:
        for target in await owned_tasks(gw, Owner.of(body), cluster, list(todo)):
            await gw.write("StopTask", target, reason=todo.get(target.arn, "stopped through the ECS API"))
    except EcsError as err:
        await fail(body, patch, status, err, retry)
    if todo:
        stopped = "; ".join(f"{arn}: {reason}" for arn, reason in todo.items())
        await k8s.post_event(body, "Stopped", f"StopTask {stopped}")
