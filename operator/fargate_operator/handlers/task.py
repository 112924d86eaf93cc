"""FargateTask handlers: RunTask exactly once per object, StopTask on deletion.

Exactly once, across retries, restarts and SIGKILL at any point:
1. before the first RunTask the object is marked (annotation RUN_MARK), durably;
2. RunTask carries clientToken = uid and startedBy = "fargate-operator/<uid>";
3. an object that is marked but has no task in status is never run blind:
   ListTasks(startedBy) first (desired RUNNING and STOPPED), and the tasks found
   are adopted instead of starting new ones.
An unmarked object has never reached RunTask, so the common path costs one ECS call.
"""

from __future__ import annotations

from typing import Any

import kopf

from fargate_operator import k8s
from fargate_operator.ecs.errors import EcsError
from fargate_operator.handlers.common import (
    Waiting,
    fail,
    resolve_cluster,
    resolve_task_definition,
    set_conditions,
    wait,
)
from fargate_operator.models.kinds import GROUP, PLURALS, VERSION
from fargate_operator.reconcile import task as logic
from fargate_operator.reconcile.ownership import Owner
from fargate_operator.runtime import Runtime, runtime_of

PLURAL = PLURALS["FargateTask"]
RUN_MARK = f"{GROUP}/run-requested"


async def find_started(rt: Runtime, cluster: str, started_by: str) -> list[str]:
    arns: list[str] = []
    for desired in ("RUNNING", "STOPPED"):
        arns += await rt.gateway.list_all(
            "ListTasks", "taskArns", cluster=cluster, startedBy=started_by, desiredStatus=desired
        )
    return list(dict.fromkeys(arns))


def apply_status(body: Any, patch: kopf.Patch, status: Any, observed: dict[str, Any]) -> None:
    patch.status.update(observed)
    ready, progressing, degraded, reason, message = logic.health(observed["phase"], observed.get("stoppedReason"))
    set_conditions(
        patch,
        status,
        body["metadata"].get("generation"),
        ready=ready,
        progressing=progressing,
        degraded=degraded,
        reason=reason,
        message=message,
    )


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
async def run_task(
    body: Any, spec: Any, status: Any, meta: Any, patch: kopf.Patch, retry: int, memo: Any, **_: Any
) -> None:
    rt = runtime_of(memo)
    if status.get("tasks") or status.get("phase") in logic.TERMINAL:
        return  # started before: the status loop follows it
    owner, ns = Owner.of(body), meta["namespace"]
    try:
        cluster = await resolve_cluster(rt, ns, spec)
        task_definition = await resolve_task_definition(rt, ns, spec)
    except Waiting as why:
        await wait(body, patch, status, why)
    assert task_definition is not None  # the CRD requires taskDefinition or taskDefinitionRef
    expected = spec.get("count", 1)
    started_by = logic.started_by(owner.uid)
    try:
        found = await find_started(rt, cluster, started_by) if RUN_MARK in (meta.get("annotations") or {}) else []
        if found:
            tasks, _missing = await rt.gateway.describe_tasks(cluster, found)
            await k8s.post_event(
                body, "Adopted", f"found {len(found)} task(s) started before a restart; not running again"
            )
        else:
            await k8s.patch_annotations(body["kind"], ns, meta["name"], {RUN_MARK: "true"})
            resp = await rt.gateway.call("RunTask", **logic.run_request(dict(spec), owner, cluster, task_definition))
            tasks = resp.get("tasks", [])
            failures = resp.get("failures", [])
            if not tasks:
                reasons = "; ".join(
                    f"{f.get('arn', '')} {f.get('reason', '')} {f.get('detail', '')}".strip() for f in failures
                )
                raise EcsError("RunTask", "RunTaskFailure", reasons or "ECS started no task", 400)
            await k8s.post_event(body, "Started", f"RunTask {', '.join(t['taskArn'] for t in tasks)}")
    except EcsError as err:
        if not err.transient:
            patch.status["phase"] = logic.FAILED
        await fail(body, patch, status, err, retry)
    observed = logic.status_from(tasks, expected)
    observed["startedBy"] = started_by
    observed.setdefault("clusterArn", cluster)
    observed.setdefault("taskDefinitionArn", task_definition)
    apply_status(body, patch, status, observed)
    rt.registry.update_status(body["kind"], ns, meta["name"], observed)


@kopf.on.delete(GROUP, VERSION, PLURAL)
async def stop_task(
    body: Any, spec: Any, status: Any, meta: Any, patch: kopf.Patch, retry: int, memo: Any, **_: Any
) -> None:
    rt = runtime_of(memo)
    cluster = status.get("clusterArn")
    arns = [t["taskArn"] for t in status.get("tasks", []) if t.get("lastStatus") != "STOPPED"]
    try:
        if not status.get("tasks") and RUN_MARK in (meta.get("annotations") or {}):
            # RunTask may have run without its result reaching status: look before leaving.
            cluster = cluster or await resolve_cluster(rt, meta["namespace"], spec)
            arns = await find_started(rt, cluster, logic.started_by(meta["uid"]))
        for arn in arns:
            await rt.gateway.call(
                "StopTask", cluster=cluster, task=arn, reason=f"FargateTask {meta['namespace']}/{meta['name']} deleted"
            )
        if arns:
            await k8s.post_event(body, "Stopped", f"StopTask {', '.join(arns)}")
    except Waiting:
        return  # no cluster ever resolved, so nothing was started
    except EcsError as err:
        if err.code in ("ClusterNotFoundException", "InvalidParameterException") and not err.transient:
            return  # the task or its cluster is gone already
        await fail(body, patch, status, err, retry, permanent=False)  # never give up: no orphans
