"""The 16 ECS operations over the custom resources, as the caller, in the namespace the call addresses.

Every call is first authorized for the caller (access.py: the operation's verb on its kind, asked
of the API server and kept briefly). Reads then answer from the watch cache (no further Kubernetes
or ECS call). Writes create, patch or delete custom resources as the caller (acting.py:
impersonation) and then wait, bounded, for the operator's reconciled result, answering as ECS
would; an error ECS reported comes back as that ECS error. Exceptions, each documented in the README:
- a task definition revision's content is asked of ECS once per ARN and remembered
  (revisions are immutable), so answers show what ECS registered, never the spec;
- ExecuteCommand is an action forwarded to ECS and recorded as a Kubernetes Event.

The operations live per resource (clusters.py, task_definitions.py, tasks.py,
ecs_services.py) over one Store (lookups.py); this module is the table, the
authorization check and the dispatch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fargate_operator.ecs.gateway import ACTING_FOR
from fargate_operator.runtime import Runtime
from fargate_operator.service.access import OPERATIONS, TASK_LOGS, Access, Caller
from fargate_operator.service.clusters import Clusters
from fargate_operator.service.ecs_services import EcsServices
from fargate_operator.service.errors import ApiError, client
from fargate_operator.service.identity import Principal
from fargate_operator.service.lookups import Store
from fargate_operator.service.task_definitions import TaskDefinitions
from fargate_operator.service.task_logs import TaskLogs
from fargate_operator.service.tasks import Tasks

WRITE_OPERATIONS = frozenset(
    {
        "CreateCluster",
        "RegisterTaskDefinition",
        "DeregisterTaskDefinition",
        "RunTask",
        "StopTask",
        "CreateService",
        "UpdateService",
        "DeleteService",
        "ExecuteCommand",
    }
)

Operation = Callable[[Caller, dict[str, Any]], Awaitable[dict[str, Any]]]


class EcsApi:
    def __init__(self, rt: Runtime, wait_timeout: float = 30.0, access: Access | None = None) -> None:
        self.rt = rt
        self.access = access or Access()
        self.store = Store(rt, wait_timeout)
        clusters, task_definitions = Clusters(self.store), TaskDefinitions(self.store)
        tasks, services = Tasks(self.store), EcsServices(self.store)
        self._tasks = tasks
        self._task_logs = TaskLogs(self.store, task_definitions)
        self._ops: dict[str, Operation] = {
            "CreateCluster": clusters.create_cluster,
            "DescribeClusters": clusters.describe_clusters,
            "RegisterTaskDefinition": task_definitions.register_task_definition,
            "DescribeTaskDefinition": task_definitions.describe_task_definition,
            "ListTaskDefinitions": task_definitions.list_task_definitions,
            "DeregisterTaskDefinition": task_definitions.deregister_task_definition,
            "RunTask": tasks.run_task,
            "StopTask": tasks.stop_task,
            "DescribeTasks": tasks.describe_tasks,
            "ListTasks": tasks.list_tasks,
            "CreateService": services.create_service,
            "UpdateService": services.update_service,
            "DeleteService": services.delete_service,
            "DescribeServices": services.describe_services,
            "ListServices": services.list_services,
            "ExecuteCommand": tasks.execute_command,
        }

    @property
    def operations(self) -> list[str]:
        return sorted(self._ops)

    def caller(self, principal: Principal, signature: str | None = None) -> Caller:
        """The caller bound to the namespace it addresses; ClientException when it names none."""
        if not principal.namespace:
            raise client(
                f"user {principal.user} is not a ServiceAccount and its credential names no namespace: "
                "name one with the X-Fargate-Namespace header"
            )
        return Caller(principal, principal.namespace, self.access, signature)

    async def call(
        self, operation: str, params: dict[str, Any], principal: Principal, *, signature: str | None = None
    ) -> dict[str, Any]:
        """`signature`: the SigV4 signature of the request, when signed (RunTask refuses its replay)."""
        handler = self._ops.get(operation)
        if handler is None:
            raise ApiError("UnknownOperationException", f"{operation} is not an operation of this endpoint")
        caller = self.caller(principal, signature)
        # Before anything is looked up: a caller who may not do this learns nothing else.
        await self.access.require(principal, caller.ns, *OPERATIONS[operation])
        ACTING_FOR.set(f"caller/{caller.ns}/{principal.user}")  # the few ECS calls made here name the caller
        return await handler(caller, params)

    async def run_command(self, params: dict[str, Any], principal: Principal) -> dict[str, Any]:
        """ExecuteCommand read to its end by the operator (MCP's executecommandoutput); ExecuteCommand's RBAC."""
        caller = self.caller(principal)
        await self.access.require(principal, caller.ns, *OPERATIONS["ExecuteCommand"])
        ACTING_FOR.set(f"caller/{caller.ns}/{principal.user}")
        return await self._tasks.run_command(caller, params)

    async def task_logs(self, params: dict[str, Any], principal: Principal) -> dict[str, Any]:
        """A task's container logs (not an ECS operation: the MCP tool gettasklogs), `get fargatetasks/log`."""
        caller = self.caller(principal)
        await self.access.require(principal, caller.ns, TASK_LOGS)
        ACTING_FOR.set(f"caller/{caller.ns}/{principal.user}")
        return await self._task_logs.get_task_logs(caller, params)
