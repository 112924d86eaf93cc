"""The 16 ECS operations over the custom resources, for one caller's namespace.

Reads answer from the watch cache (no Kubernetes or ECS call). Writes create,
patch or delete custom resources and then wait, bounded, for the operator's
reconciled result, answering as ECS would; an error ECS reported comes back as
that ECS error. Exceptions, each documented in the README:
- a task definition revision's content is asked of ECS once per ARN and remembered
  (revisions are immutable), so answers show what ECS registered, never the spec;
- ExecuteCommand is an action forwarded to ECS and recorded as a Kubernetes Event.

The operations live per resource (clusters.py, task_definitions.py, tasks.py,
services.py) over one Store (lookups.py); this module is the table, the
read-only check and the dispatch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fargate_operator.runtime import Runtime
from fargate_operator.service.clusters import Clusters
from fargate_operator.service.errors import ApiError, access_denied
from fargate_operator.service.lookups import Store
from fargate_operator.service.services import Services
from fargate_operator.service.task_definitions import TaskDefinitions
from fargate_operator.service.tasks import Tasks
from fargate_operator.web.auth import Principal

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

Operation = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


class EcsApi:
    def __init__(self, rt: Runtime, wait_timeout: float = 30.0) -> None:
        self.rt = rt
        self.store = Store(rt, wait_timeout)
        clusters, task_definitions = Clusters(self.store), TaskDefinitions(self.store)
        tasks, services = Tasks(self.store), Services(self.store)
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

    async def call(self, operation: str, params: dict[str, Any], principal: Principal) -> dict[str, Any]:
        handler = self._ops.get(operation)
        if handler is None:
            raise ApiError("UnknownOperationException", f"{operation} is not an operation of this endpoint")
        if operation in WRITE_OPERATIONS and principal.read_only:
            raise access_denied(f"credential {principal.name} is read-only and may not call {operation}")
        return await handler(principal.namespace, params)
