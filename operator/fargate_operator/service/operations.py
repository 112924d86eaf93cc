"""The operations the front doors serve, one row each: what an operation is, asked in one place.

A row says which kind it acts on and the RBAC verbs it needs (access.py decides them), whether it
writes, what an agent should know about it (MCP's annotations and guidance), and which function
implements it. The service layer (api.py) dispatches and authorizes by it, the REST adapter serves its
ECS rows, MCP makes one tool of every row. Adding an operation is adding a row (and, for a tool that
is not an ECS operation, its schemas in web/mcp.py OWN_TOOLS).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fargate_operator.models.kinds import CLUSTER, SERVICE, TASK, TASK_DEFINITION
from fargate_operator.service import exec_run as execs_run
from fargate_operator.service.access import Caller, Permission
from fargate_operator.service.clusters import Clusters
from fargate_operator.service.deployments import ServiceDeployments
from fargate_operator.service.ecs_services import EcsServices
from fargate_operator.service.lookups import Store
from fargate_operator.service.task_definitions import TaskDefinitions
from fargate_operator.service.task_logs import MAX_LINE_CHARS, MAX_LINES, MAX_TOTAL_CHARS, TaskLogs
from fargate_operator.service.tasks import Tasks

Handler = Callable[[Caller, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Implementations:
    """The per-resource operation modules over one Store: what a row's `implementation` picks from."""

    clusters: Clusters
    task_definitions: TaskDefinitions
    tasks: Tasks
    services: EcsServices
    task_logs: TaskLogs
    deployments: ServiceDeployments

    @classmethod
    def over(cls, store: Store) -> Implementations:
        task_definitions = TaskDefinitions(store)  # one, shared: it remembers registered revisions
        return cls(
            Clusters(store),
            task_definitions,
            Tasks(store),
            EcsServices(store),
            TaskLogs(store, task_definitions),
            ServiceDeployments(store),
        )


@dataclass(frozen=True)
class Operation:
    """One operation. `verbs`: any one of them on `kind` (and `subresource`) lets the caller do it.

    `write`: it changes something (hidden by a read-only MCP endpoint, refused to a read-only key).
    `idempotent` (writes; reads always are): repeating it with the same arguments leaves the same
    state behind; None claims neither (what a command does is the command's).
    `replay_sensitive`: it is handed the request's SigV4 signature and refuses a replay of it.
    `reads_aws`: a read that asks AWS itself rather than the watch cache.
    `ecs`: an ECS operation (REST serves it; MCP takes its shapes from botocore's model), else a tool
    of the MCP endpoint's own. `guidance`: appended to botocore's documentation for an ECS operation,
    the whole description for an own tool.
    """

    name: str
    kind: str
    verbs: tuple[str, ...]
    implementation: Callable[[Implementations], Handler]
    write: bool = False
    subresource: str = ""
    destructive: bool = False
    idempotent: bool | None = False
    replay_sensitive: bool = False
    reads_aws: bool = False
    ecs: bool = True
    title: str = ""
    guidance: str = ""

    @property
    def permissions(self) -> tuple[Permission, ...]:
        return tuple(Permission(verb, self.kind, self.subresource) for verb in self.verbs)

    @property
    def tool(self) -> str:
        """The MCP tool's name."""
        return self.name.lower()


# RegisterTaskDefinition creates the family's object or patches it (the write itself, made as the
# caller, needs the one it makes). ExecuteCommand opens a shell in a task, more than reading it: a
# verb on a subresource of its own, as `create pods/exec` is for pods; a task's logs are read as
# `get pods/log` is (SubjectAccessReview checks any subresource name).
TABLE = (
    Operation("CreateCluster", CLUSTER, ("create",), lambda i: i.clusters.create_cluster, write=True, idempotent=True),
    Operation("DescribeClusters", CLUSTER, ("get",), lambda i: i.clusters.describe_clusters),
    Operation(
        "RegisterTaskDefinition",
        TASK_DEFINITION,
        ("create", "patch"),
        lambda i: i.task_definitions.register_task_definition,
        write=True,
        idempotent=True,
        guidance=" Identical content returns the current revision. Creates or updates a "
        "FargateTaskDefinition resource.",
    ),
    Operation(
        "DescribeTaskDefinition", TASK_DEFINITION, ("get",), lambda i: i.task_definitions.describe_task_definition
    ),
    Operation("ListTaskDefinitions", TASK_DEFINITION, ("list",), lambda i: i.task_definitions.list_task_definitions),
    Operation(
        "DeregisterTaskDefinition",
        TASK_DEFINITION,
        ("patch",),
        lambda i: i.task_definitions.deregister_task_definition,
        write=True,
        destructive=True,
        idempotent=True,
    ),
    Operation(
        "RunTask",
        TASK,
        ("create",),
        lambda i: i.tasks.run_task,
        write=True,
        replay_sensitive=True,
        guidance=" Runs once per call; pass clientToken to make retries safe. Creates a FargateTask resource.",
    ),
    Operation("StopTask", TASK, ("patch",), lambda i: i.tasks.stop_task, write=True, destructive=True, idempotent=True),
    Operation("DescribeTasks", TASK, ("get",), lambda i: i.tasks.describe_tasks),
    Operation("ListTasks", TASK, ("list",), lambda i: i.tasks.list_tasks),
    Operation(
        "CreateService",
        SERVICE,
        ("create",),
        lambda i: i.services.create_service,
        write=True,
        guidance=" Creates a FargateService resource.",
    ),
    Operation(
        "UpdateService",
        SERVICE,
        ("patch",),
        lambda i: i.services.update_service,
        write=True,
        idempotent=True,
        guidance=" Updates the FargateService resource; omitted members keep their values.",
    ),
    Operation(
        "DeleteService",
        SERVICE,
        ("delete",),
        lambda i: i.services.delete_service,
        write=True,
        destructive=True,
        idempotent=True,
        guidance=" Refused while desiredCount > 0 unless force is true.",
    ),
    Operation("DescribeServices", SERVICE, ("get",), lambda i: i.services.describe_services),
    Operation("ListServices", SERVICE, ("list",), lambda i: i.services.list_services),
    # Steering a deployment is a request on the FargateService (an annotation the caller writes, as StopTask's);
    # the operator makes the ECS call once it checked the deployment is of the object's own service.
    Operation(
        "ContinueServiceDeployment",
        SERVICE,
        ("patch",),
        lambda i: i.deployments.continue_service_deployment,
        write=True,
        idempotent=True,
        guidance=" Asks the operator to continue the deployment past the PAUSE hook hookId (annotation "
        "ecs.fargate.dev/continue-deployment on the FargateService) and answers at once; an Event on the "
        "FargateService says what ECS did. action ROLLBACK stops the deployment with rollback instead.",
    ),
    Operation(
        "StopServiceDeployment",
        SERVICE,
        ("patch",),
        lambda i: i.deployments.stop_service_deployment,
        write=True,
        destructive=True,
        idempotent=True,
        guidance=" Asks the operator to stop the deployment and roll back (stopType ROLLBACK; annotation "
        "ecs.fargate.dev/stop-deployment on the FargateService) and answers at once; an Event on the "
        "FargateService says what ECS did.",
    ),
    Operation(
        "ListServiceDeployments",
        SERVICE,
        ("list",),
        lambda i: i.deployments.list_service_deployments,
        guidance=" From the FargateService's status.deployment: the deployment in flight and the last finished one.",
    ),
    Operation(
        "DescribeServiceDeployments",
        SERVICE,
        ("get",),
        lambda i: i.deployments.describe_service_deployments,
        guidance=" From the FargateServices' status.deployment (in flight and last finished); others are failures "
        "MISSING.",
    ),
    Operation(
        "ExecuteCommand",
        TASK,
        ("create",),
        lambda i: i.tasks.execute_command,
        write=True,
        subresource="exec",
        guidance=" Needs a task started with enableExecuteCommand; returns an SSM session.",
    ),
    # ExecuteCommand for agents: the operator reads the session and answers its output (execs/run.py).
    Operation(
        "ExecuteCommandOutput",
        TASK,
        ("create",),
        lambda i: i.tasks.run_command,
        write=True,
        subresource="exec",
        destructive=True,
        idempotent=None,
        ecs=False,
        title="ExecuteCommand (output)",
        guidance="Runs a command in a container of a task started with enableExecuteCommand and returns its "
        "output (stdout and stderr joined, as the session's terminal shows them), exit code and duration. "
        f"Bounded: timeoutSeconds (default {execs_run.DEFAULT_TIMEOUT_SECONDS:g}, at most "
        f"{execs_run.MAX_TIMEOUT_SECONDS:g}) and maxOutputBytes (default {execs_run.DEFAULT_OUTPUT_BYTES}, at most "
        f"{execs_run.MAX_OUTPUT_BYTES}); outputTruncated and timedOut say when a bound was reached. Needs what "
        "executecommand needs (RBAC create fargatetasks/exec).",
    ),
    # A task's container output from CloudWatch Logs (task_logs.py).
    Operation(
        "GetTaskLogs",
        TASK,
        ("get",),
        lambda i: i.task_logs.get_task_logs,
        subresource="log",
        reads_aws=True,
        ecs=False,
        guidance="The newest lines a task's container printed, from CloudWatch Logs (the awslogs log driver; "
        "where to read comes from the task's task definition), oldest first, newest last. Bounded: at most "
        f"{MAX_LINES} lines, {MAX_LINE_CHARS} characters a line, {MAX_TOTAL_CHARS} in all; `truncated` and "
        "`note` say what was cut. Needs RBAC `get fargatetasks/log`.",
    ),
)

OPERATIONS: dict[str, Operation] = {op.name: op for op in TABLE}
