"""RunTask, StopTask, DescribeTasks, ListTasks, ExecuteCommand over FargateTask objects.

Tasks a FargateService started are not objects: they come from the status loop's
in-memory index (Runtime.service_tasks) and are listed next to the one-off tasks, for
callers who may read FargateServices too (they are those services' tasks).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from typing import Any

from fargate_operator import k8s
from fargate_operator.ecs.errors import EcsError
from fargate_operator.execs import channel
from fargate_operator.models.kinds import SERVICE, STOP_ANNOTATION, TASK
from fargate_operator.reconcile import stop_request
from fargate_operator.reconcile import task as task_logic
from fargate_operator.reconcile.requests import ecs_members
from fargate_operator.reconcile.tenancy import TASK_OPERATIONS
from fargate_operator.service import acting, naming, views
from fargate_operator.service import exec_run as execs_run
from fargate_operator.service.access import Caller
from fargate_operator.service.errors import ApiError, from_ecs, invalid
from fargate_operator.service.lookups import Cluster, Store, page
from fargate_operator.service.task_definitions import parse_task_definition


def run_task_answer(obj: dict[str, Any]) -> dict[str, Any] | None:
    """RunTask's answer, once the operator has one: the tasks started and ECS's `failures`.

    ECS answers RunTask with HTTP 200 and both lists (botocore model, RunTaskResponse: `tasks`
    "that were successfully placed", `failures` "Any failures associated with the call"), also
    when nothing started. The operator
    keeps them in status.failures; the answer comes once tasks started or the failure is
    permanent (phase Failed). While ECS lacks capacity the object stays Pending and retries, so
    the adapter keeps waiting rather than invite a retry that could start a second set of tasks.
    """
    status = obj.get("status", {})
    failures = list(status.get("failures") or [])
    if status.get("tasks") or (failures and status.get("phase") == task_logic.FAILED):
        return {"tasks": views.task_views(obj, ["TAGS"]), "failures": failures}
    return None


def signed_task_name(family: str, signature: str) -> str:
    """The FargateTask a signed RunTask without clientToken creates: named after its SigV4 signature.

    A replay of the request carries the same signature, so it names the same object, whichever replica
    it reaches and after any restart: the API server refuses the second create (409 AlreadyExists).
    64 bits of the signature's hash: two different requests share a name with odds of ~n^2/2^65.
    """
    return f"{naming.hashed_name(family)[:40]}-{hashlib.sha256(signature.encode()).hexdigest()[:16]}"


def replayed() -> ApiError:
    """ECS's answer to a signature it will not take: the replay starts nothing and learns nothing."""
    return ApiError(
        "InvalidSignatureException",
        "This signature has been used already (replayed request): a RunTask without clientToken runs once "
        "per signed request; send a clientToken to make retries return the same tasks",
        403,
    )


class Tasks:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def run_task(self, caller: Caller, p: dict[str, Any]) -> dict[str, Any]:
        ns = caller.ns
        cluster = self.store.require_cluster(ns, p.get("cluster")).name
        spec = {k: v for k, v in ecs_members(p, "RunTask").items() if k not in ("clientToken", "startedBy")}
        spec["cluster"] = cluster
        self.store.require_references(ns, spec, TASK_OPERATIONS)
        _, family, _ = parse_task_definition(self.store, ns, p["taskDefinition"])
        annotations = {views.STARTED_BY_ANNOTATION: p["startedBy"]} if p.get("startedBy") else {}
        if token := p.get("clientToken"):
            # The same clientToken names the same object: a retried RunTask starts nothing new, also when
            # the retry reaches another replica before the first object reached its cache.
            name = f"run-{hashlib.sha256(f'{cluster}/{token}'.encode()).hexdigest()[:16]}"
            if self.store.rt.watch_cache.get(TASK, ns, name) is None:
                with contextlib.suppress(acting.AlreadyExists):
                    await self.store.create_named(TASK, caller, name, spec, annotations=annotations)
        elif caller.signature:
            name = signed_task_name(family, caller.signature)
            try:
                await self.store.create_named(TASK, caller, name, spec, annotations=annotations)
            except acting.AlreadyExists:
                raise replayed() from None
        else:
            suffix = hashlib.sha256(f"{time.time_ns()}".encode()).hexdigest()[:8]
            name = await self.store.create(
                TASK, caller, f"{naming.hashed_name(family)[:40]}-{suffix}", spec, annotations=annotations
            )

        done = await self.store.wait(TASK, ns, name, lambda o: run_task_answer(o) is not None)
        answer = run_task_answer(done)
        assert answer is not None
        return answer

    async def stop_task(self, caller: Caller, p: dict[str, Any]) -> dict[str, Any]:
        ns = caller.ns
        cluster = self.store.require_cluster(ns, p.get("cluster")).name
        obj = self.store.find_task(ns, cluster, p["task"])
        if obj is None:
            raise invalid("The referenced task was not found.")
        task_id = p["task"].rsplit("/", 1)[-1]
        task = next(t for t in views.task_views(obj) if t["taskArn"].rsplit("/", 1)[-1] == task_id)
        reason = p.get("reason") or "Task stopped by the ECS API adapter"

        def with_this_task(current: dict[str, Any]) -> str:
            value = (current["metadata"].get("annotations") or {}).get(STOP_ANNOTATION)
            arns = [t["taskArn"] for t in current.get("status", {}).get("tasks", [])]
            return stop_request.adding(value, arns, task["taskArn"], reason)

        # Only this task: the operator stops exactly the ARNs the annotation names.
        await self.store.update_annotation(TASK, caller, obj, STOP_ANNOTATION, with_this_task)
        return {"task": {**task, "desiredStatus": "STOPPED", "stoppedReason": reason}}

    def _owned_services(self, ns: str, cluster: Cluster) -> list[dict[str, Any]]:
        """The FargateServices of this namespace in `cluster` the operator accepted as owners (status.serviceArn
        is written after the owner-tag check): a refused object named like another namespace's service grants
        nothing."""
        return [
            o
            for o in self.store.objects(SERVICE, ns)
            if o.get("status", {}).get("serviceArn") and o["status"].get("clusterArn") == cluster.arn
        ]

    async def _service_tasks(self, ns: str, cluster: Cluster) -> list[dict[str, Any]]:
        """Tasks of the services this namespace owns in `cluster`, from the service-task index (matched by ARN);
        on a follower, brought up to date for these services first (Runtime.service_tasks_for)."""
        owned = self._owned_services(ns, cluster)
        if (refresh := self.store.rt.service_tasks_for) is not None and owned:
            await refresh([(ns, o["metadata"]["name"]) for o in owned])
        index = self.store.rt.service_tasks
        return [t for o in owned for t in index.get(o["status"]["serviceArn"], {}).values()]

    async def _all_tasks(
        self, ns: str, cluster: Cluster, include: list[str] | None = None, *, with_services: bool = True
    ) -> list[dict[str, Any]]:
        one_off = [
            t
            for obj in self.store.objects(TASK, ns)
            if self.store.cluster_of(ns, obj) == cluster.name
            for t in views.task_views(obj, include)
        ]
        service = [
            t if include and "TAGS" in include else {k: v for k, v in t.items() if k != "tags"}
            for t in (await self._service_tasks(ns, cluster) if with_services else [])
        ]
        return one_off + service

    async def describe_tasks(self, caller: Caller, p: dict[str, Any]) -> dict[str, Any]:
        ns = caller.ns
        cluster = self.store.require_cluster(ns, p.get("cluster"))
        services = await caller.may("get", SERVICE)
        by_id = {
            t["taskArn"].rsplit("/", 1)[-1]: t
            for t in await self._all_tasks(ns, cluster, p.get("include"), with_services=services)
        }
        for obj in self.store.deleted(TASK, ns):
            if obj.get("status", {}).get("clusterArn") == cluster.arn:
                for t in views.deleted_task_views(obj, p.get("include")):
                    by_id.setdefault(t["taskArn"].rsplit("/", 1)[-1], t)
        tasks, failures = [], []
        for ref in p["tasks"]:
            found = by_id.get(ref.rsplit("/", 1)[-1])
            if found:
                tasks.append(found)
            else:
                failures.append({"arn": ref, "reason": "MISSING"})
        return {"tasks": tasks, "failures": failures}

    async def list_tasks(self, caller: Caller, p: dict[str, Any]) -> dict[str, Any]:
        ns = caller.ns
        cluster = self.store.require_cluster(ns, p.get("cluster"))
        desired = p.get("desiredStatus", "RUNNING")
        arns = []
        for t in await self._all_tasks(ns, cluster, with_services=await caller.may("list", SERVICE)):
            family = str(t.get("taskDefinitionArn", "")).rsplit("/", 1)[-1].split(":")[0]
            if p.get("family") and family != p["family"]:
                continue
            if p.get("startedBy") and t.get("startedBy") != p["startedBy"]:
                continue
            if p.get("launchType") and t.get("launchType") != p["launchType"]:
                continue
            if p.get("serviceName") and t.get("group") != f"service:{p['serviceName']}":
                continue
            if (t.get("desiredStatus") or "RUNNING") != desired:
                continue
            arns.append(t["taskArn"])
        listed, token = page(sorted(arns), p)
        return {"taskArns": listed, **({"nextToken": token} if token else {})}

    async def _execute(self, caller: Caller, p: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """ECS's ExecuteCommand for the caller's task: the FargateTask and ECS's answer."""
        ns = caller.ns
        cluster = self.store.require_cluster(ns, p.get("cluster")).name
        obj = self.store.find_task(ns, cluster, p["task"])
        if obj is None:
            raise invalid("The specified task was not found.")
        params = {k: v for k, v in p.items() if k in ("container", "command", "interactive", "task")}
        try:
            resp = await self.store.gateway_for(obj).call("ExecuteCommand", cluster=cluster, **params)
        except EcsError as err:
            raise from_ecs(err) from err
        return obj, resp

    async def run_command(self, caller: Caller, p: dict[str, Any]) -> dict[str, Any]:
        """ExecuteCommand, then the operator reads the session itself: output, exit code, duration (exec_run.py)."""
        execs_run.bounds(p)  # before ECS is asked: a bad bound must not open a session
        command, marker = channel.wrap(p["command"])
        started = time.monotonic()
        obj, resp = await self._execute(caller, {**p, "command": command, "interactive": True})
        container = resp.get("containerName", p.get("container", ""))
        # The command as the caller gave it; never the task's environment.
        await k8s.post_event(
            obj, "ExecuteCommand", f"ExecuteCommand by {caller.principal.user} in container {container}: {p['command']}"
        )
        return await execs_run.run(resp, marker, p, started)

    async def execute_command(self, caller: Caller, p: dict[str, Any]) -> dict[str, Any]:
        obj, resp = await self._execute(caller, p)
        container = resp.get("containerName", p.get("container", ""))
        await k8s.post_event(
            obj,
            "ExecuteCommand",
            f"ExecuteCommand by {caller.principal.user} in container {container}: "
            f"session {resp.get('session', {}).get('sessionId', '')}",
        )
        return resp
