"""FargateTask's controller: RunTask exactly once per object, StopTask on deletion.

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

observe (ListTasks/DescribeTasks of a marked object) -> plan (`plan`, pure) -> act (mark,
RunTask). The Kubernetes side effects the protocol needs -- the mark write, Events -- come in
through `Kube`, so this module knows neither Kopf nor the Kubernetes client and runs
in-process against a fake `Ecs`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from fargate_operator.controllers.base import Ecs, Verdict
from fargate_operator.ecs import owner_gate
from fargate_operator.ecs.errors import EcsError
from fargate_operator.ecs.settings import Where
from fargate_operator.models.kinds import RUN_MARK
from fargate_operator.models.ownership import Owner
from fargate_operator.reconcile import runtask
from fargate_operator.reconcile import task as logic

LIST_SETTLE_SECONDS = 15.0
# Listed by ListTasks but not yet by DescribeTasks (eventual consistency): look again this soon.
DESCRIBE_AGAIN_SECONDS = 5.0


class Again(Exception):
    """Not now, and not a failure: look again in `delay` seconds (the handler retries)."""

    def __init__(self, message: str, delay: float = 5.0) -> None:
        super().__init__(message)
        self.delay = delay


class NothingStarted(Exception):
    """RunTask answered with `failures` only: no task started."""

    def __init__(self, failures: list[dict[str, str]]) -> None:
        super().__init__(runtask.describe(failures) if failures else "ECS started no task")
        self.failures = failures

    @property
    def retryable(self) -> bool:
        """ECS lacked capacity at the moment: the retry goes through the marked path (same clientToken)."""
        return runtask.all_retryable(self.failures)


class Kube(Protocol):
    """What the protocol needs done in Kubernetes; handlers/task.py does it with the object it holds."""

    async def mark(self, mark: dict[str, Any]) -> None:
        """Write RUN_MARK (json of `mark`) and the finalizer in one conditional write; raise Again if refused."""

    async def event(self, reason: str, message: str, warning: bool = False) -> None:
        """Post an Event on the object."""


# Tenancy for what a RunTask will name: (cluster, task definition, marked) -> the task definition admitted.
# A marked request passes the same checks as spec (the annotation is writable by whoever writes the object).
Admit = Callable[[str, str, bool], Awaitable[str]]


@dataclass(frozen=True)
class Desired:
    """The RunTask an object asks for, resolved (from its mark on a retry, from spec otherwise)."""

    owner: Owner
    spec: dict[str, Any]
    cluster: str
    task_definition: str
    default_strategy: bool = False  # the cluster declares a default capacity provider strategy

    @property
    def expected(self) -> int:
        return int(self.spec.get("count", 1))

    @property
    def started_by(self) -> str:
        return logic.started_by(self.owner.uid)


@dataclass(frozen=True)
class Started:
    """The tasks the object now has: started by this RunTask, or adopted from an earlier one."""

    tasks: list[dict[str, Any]]
    task_definition: str
    failures: list[dict[str, str]] = field(default_factory=list)
    adopted: bool = False


class Step(Enum):
    ADOPT = "adopt"  # an earlier RunTask's tasks are listed: take them, start nothing
    SETTLE = "settle"  # marked moments ago and nothing listed yet: ListTasks may lag, look again
    RUN = "run"  # mark (again), then RunTask under the object's clientToken


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


def new_mark(cluster: str, task_definition: str, where: Where, now: float) -> dict[str, Any]:
    """The mark written before RunTask: the request, when, and where (a retry must not go elsewhere)."""
    return {
        "cluster": cluster,
        "taskDefinition": task_definition,
        "at": now,
        "region": where.region,
        "account": where.identity,  # an account id, or "own" (the operator's identity): checked by `moved`
    }


def moved(mark: dict[str, Any], where: Where) -> str | None:
    """Why a retry may not RunTask (or look for its tasks) where it now acts: the first attempt went to another
    account or region. Marks older than FargateAccounts name neither and are taken as they are."""
    region, account = mark.get("region"), mark.get("account")
    other_region = region and where.region and region != where.region
    if other_region or (account and account != where.identity):
        return (
            f"RunTask was first requested in account {account}, region {region} (the {RUN_MARK} annotation), "
            f"but the namespace now acts in {where}: not run (nor looked for) elsewhere, which could start it "
            "twice"
        )
    return None


def plan(mark: dict[str, Any] | None, found: Collection[str], now: float) -> Step:
    """What a create (or retry) does, from the mark and what ListTasks(startedBy) found."""
    if found:
        return Step.ADOPT
    if mark and now - mark.get("at", 0) < LIST_SETTLE_SECONDS:
        return Step.SETTLE
    return Step.RUN


async def find_started(ecs: Ecs, cluster: str, started_by: str) -> list[str]:
    """Tasks started with `started_by` whose desired status is RUNNING (ListTasks' default).

    startedBy alone: botocore's ECS model, ListTasksRequest.startedBy, "When you specify
    startedBy as the filter, it must be the only filter that you use." Stopped tasks are not
    listed; see the module docstring for why exactly-once still holds.
    """
    return list(dict.fromkeys(await ecs.list_all("ListTasks", "taskArns", cluster=cluster, startedBy=started_by)))


async def run(
    ecs: Ecs,
    kube: Kube,
    admit: Admit,
    desired: Desired,
    mark: dict[str, Any] | None,
    where: Where,
    now: Callable[[], float] = time.time,
) -> Started:
    """The object's tasks, started once: adopted when a marked attempt already ran them, else mark + RunTask.

    Raises Again (look later), NothingStarted, EcsError, and whatever `admit` raises."""
    cluster = desired.cluster
    found = await find_started(ecs, cluster, desired.started_by) if mark else []
    step = plan(mark, found, now())
    if step is Step.ADOPT:
        tasks, not_yet = await ecs.describe_tasks(cluster, found)
        if not_yet:
            raise Again(f"ECS lists {len(not_yet)} task(s) it does not describe yet", DESCRIBE_AGAIN_SECONDS)
        await kube.event("Adopted", f"found {len(found)} task(s) started before a restart; not running again")
        return Started(tasks, desired.task_definition, adopted=True)
    if step is Step.SETTLE:
        raise Again("RunTask was requested moments ago; checking ECS again")
    task_definition = await admit(cluster, desired.task_definition, mark is not None)
    await kube.mark(new_mark(cluster, task_definition, where, now()))
    request = logic.run_request(dict(desired.spec), desired.owner, cluster, task_definition, desired.default_strategy)
    answer = await ecs.call("RunTask", **request)
    tasks, failures = answer.get("tasks", []), runtask.failures_of(answer)
    if not tasks:
        raise NothingStarted(failures)
    await kube.event("Started", f"RunTask {', '.join(t['taskArn'] for t in tasks)}")
    if failures:
        note = runtask.not_started_note(failures, desired.expected)
        await kube.event("PartialFailure", f"RunTask: {note}", warning=True)
    return Started(tasks, task_definition, failures)


def status_of(
    started: Started,
    desired: Desired,
    essential: list[str] | None,
    previous: Any,
) -> tuple[dict[str, Any], Verdict]:
    """The status patch and verdict after `run` (`previous`: the object's status before it)."""
    observed, health = logic.observe(started.tasks, desired.expected, essential, previous.get("phase"))
    observed["startedBy"] = desired.started_by
    observed.setdefault("clusterArn", desired.cluster)
    observed.setdefault("taskDefinitionArn", started.task_definition)
    if essential is not None:
        observed["essentialContainers"] = essential  # the status loop judges exit codes by them
    if started.failures or previous.get("failures"):
        observed["failures"] = started.failures or None  # None: a retry started everything, clear the record
    note = runtask.not_started_note(observed.get("failures") or [], desired.expected)
    return observed, health.noted(note)


async def owned_tasks(ecs: Ecs, owner: Owner, cluster: str, arns: list[str]) -> list[owner_gate.Owned]:
    """The tasks of `arns` that carry this object's owner tags (RunTask tags them), from one DescribeTasks
    per 100: what StopTask may name."""
    if not arns:
        return []
    tasks, _gone = await ecs.describe_tasks(cluster, arns)
    return [t for t in (owner_gate.owned(owner, task) for task in tasks) if t is not None]


async def stop(
    ecs: Ecs,
    kube: Kube,
    owner: Owner,
    cluster: str,
    recorded: list[dict[str, Any]],
    mark: dict[str, Any] | None,
    reason: str,
) -> list[str]:
    """On deletion: StopTask on every owned task not yet stopped; the ARNs stopped.

    `recorded`: status.tasks. A marked object with none recorded may have run without its result
    reaching status, so ListTasks(startedBy) is asked first. A cluster gone took its tasks with it."""
    arns = [t["taskArn"] for t in recorded if t.get("lastStatus") != "STOPPED"]
    stopped = []
    try:
        if not recorded and mark:
            arns = await find_started(ecs, cluster, logic.started_by(owner.uid))
        for target in await owned_tasks(ecs, owner, cluster, arns):
            try:
                await ecs.write("StopTask", target, reason=reason)
                stopped.append(target.arn)
            except EcsError as err:
                if err.transient or "not found" not in err.message.lower():
                    raise
    except EcsError as err:
        if err.code == "ClusterNotFoundException":
            return stopped  # the cluster, and with it every task, is gone
        raise
    if stopped:
        await kube.event("Stopped", f"StopTask {', '.join(stopped)}")
    return stopped


async def stop_named(ecs: Ecs, kube: Kube, owner: Owner, cluster: str, todo: dict[str, str]) -> None:
    """StopTask asked through the ECS API adapter: exactly the tasks named (arn -> reason) that are this object's."""
    for target in await owned_tasks(ecs, owner, cluster, list(todo)):
        await ecs.write("StopTask", target, reason=todo.get(target.arn, "stopped through the ECS API"))
    if todo:
        stopped = "; ".join(f"{arn}: {reason}" for arn, reason in todo.items())
        await kube.event("Stopped", f"StopTask {stopped}")
