"""A task's lifecycle as ECS documents it, on moto's Task model.

PROVISIONING -> PENDING -> ACTIVATING -> RUNNING -> DEACTIVATING -> STOPPING -> DEPROVISIONING -> STOPPED
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html). Each
step lasts one `Pace.step_seconds`; RUNNING lasts until a stop is requested (StopTask, the service
scheduler, an essential container's exit). A task stopped before RUNNING goes straight to STOPPING.

Timestamps as the Task shape documents them: createdAt (RunTask), connectivityAt (ENI attached,
entering PENDING), pullStartedAt (entering ACTIVATING, where "ECS pulls the container images"),
pullStoppedAt and startedAt (entering RUNNING), stoppingAt ("the task transitions from the RUNNING
state to STOPPING", i.e. when it leaves RUNNING), executionStoppedAt (the last container stopped),
stoppedAt (STOPPED). Containers receive SIGTERM on entering STOPPING (DEACTIVATING is for load
balancer deregistration), then SIGKILL after their stopTimeout.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from moto.core.common_models import BaseModel
from moto.ec2.models import ec2_backends
from moto.ec2.utils import generate_dns_from_ip, random_private_ip
from moto.ecs.models import Cluster, EC2ContainerServiceBackend, Task, TaskDefinition

from fargate_ecs_sim import ecs_events, logs
from fargate_ecs_sim.clock import NEVER, PACE
from fargate_ecs_sim.programs import SIGKILL_EXIT, SIGTERM_EXIT, Program, program_for

STATES = ("PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED")
PRE_RUNNING = frozenset(STATES[:3])
# Fargate's platform version for LATEST on Linux (Task.platformVersion reports the resolved one).
LATEST_LINUX_PLATFORM = "1.4.0"
DEFAULT_EPHEMERAL_GIB = 20


class SimContainer(BaseModel):
    """One container of a task: its ECS-visible state (serialized as the Container shape) and its program."""

    def __init__(self, task_arn: str, definition: dict[str, Any], override: dict[str, Any] | None, region: str) -> None:
        cluster_and_id = task_arn.split(":task/", 1)[1]
        self.container_arn = task_arn.replace(f":task/{cluster_and_id}", f":container/{cluster_and_id}/{uuid.uuid4()}")
        self.task_arn = task_arn
        self.name: str = definition["name"]
        self.image: str = definition.get("image", "")
        self.cpu = str(definition.get("cpu", 0))
        self.memory = _opt_str((override or {}).get("memory", definition.get("memory")))
        self.memory_reservation = _opt_str(definition.get("memoryReservation"))
        self.last_status = "PENDING"
        self.exit_code: int | None = None
        self.reason: str | None = None
        self.health_status = "UNKNOWN"
        self.network_interfaces: list[dict[str, Any]] = []
        self.network_bindings: list[dict[str, Any]] = []
        self.essential = bool(definition.get("essential", True))
        self.program: Program = program_for(definition, override)
        self.has_health_check = "healthCheck" in definition
        # Fargate's runtimeId: the task id and a number; the AWS CLI builds the exec target from it.
        self.runtime_id = f"{cluster_and_id.rsplit('/', 1)[-1]}-{uuid.uuid4().int % 10**10}"
        # What an exec session sees as its environment: the definition's, then RunTask's override.
        self.environment = {
            str(e.get("name")): str(e.get("value", ""))
            for e in [*(definition.get("environment") or []), *((override or {}).get("environment") or [])]
        }
        self.awslogs = logs.awslogs_of(definition, region)
        self._printed = 0  # how many of the program's lines are out
        self._started_wall = 0.0  # epoch seconds at its start (log event timestamps)
        self._started: float | None = None
        self._sigterm: float | None = None

    @property
    def running(self) -> bool:
        return self.last_status == "RUNNING"

    def start(self, now: float, stamp: datetime) -> None:
        self.last_status, self._started, self._started_wall = "RUNNING", now, stamp.timestamp()
        if self.has_health_check:
            self.health_status = "HEALTHY"

    def terminate(self, now: float) -> None:
        """docker stop: SIGTERM now, SIGKILL after stopTimeout if it is still there."""
        if self._sigterm is None:
            self._sigterm = now

    def never_started(self, reason: str | None = None) -> None:
        self.last_status, self.reason = "STOPPED", reason

    def exit_at(self) -> float:
        if not self.running or self._started is None:
            return NEVER
        own = NEVER if self.program.runs_for is None else self._started + self.program.runs_for
        return min(own, self._killed_at())

    def _killed_at(self) -> float:
        if self._sigterm is None:
            return NEVER
        return self._sigterm if self.program.handles_sigterm else self._sigterm + self.program.stop_timeout

    def due_output(self, now: float) -> list[tuple[int, str]]:
        """The lines printed by `now` and not handed out yet, as (epoch ms, text); marks them out."""
        if self._started is None:
            return []
        lines = [(o, t) for o, t in self.program.output[self._printed :] if self._started + o <= now]
        self._printed += len(lines)
        return [(int((self._started_wall + o) * 1000), t) for o, t in lines]

    def finish(self) -> None:
        own = NEVER if self.program.runs_for is None or self._started is None else self._started + self.program.runs_for
        if own <= self._killed_at():
            self.exit_code = self.program.exit_code
        else:
            self.exit_code = SIGTERM_EXIT if self.program.handles_sigterm else SIGKILL_EXIT
        self.last_status, self.health_status = "STOPPED", "UNKNOWN"


class SimTask(Task):
    """moto's Task with ECS's lifecycle: its status moves with time (advance), not with DescribeTasks.

    moto's own progression (ManagedState, the `ecs::task` state-manager setting) advances a task on
    every DescribeTasks; that is the gap this closes, so `status` here is a plain attribute.
    """

    def __init__(
        self,
        cluster: Cluster,
        task_definition: TaskDefinition,
        backend: EC2ContainerServiceBackend,
        *,
        group: str,
        overrides: dict[str, Any],
        started_by: str,
        tags: list[dict[str, str]],
        launch_type: str | None,
        network_configuration: dict[str, Any] | None,
        platform_version: str | None,
        capacity_provider_name: str | None,
        enable_execute_command: bool,
        now: float,
        stamp: datetime,
    ) -> None:
        super().__init__(
            cluster,
            task_definition,
            None,
            None,
            backend,
            group,
            launch_type or "",
            overrides,
            started_by,
            tags,
            network_configuration,
            platform_version,
            capacity_provider_name,
        )
        self.id = uuid.uuid4().hex  # ECS task ids are 32 hex digits (moto: a dashed UUID)
        self._status = "PROVISIONING"
        self.started_by = started_by or None  # type: ignore[assignment]  # omitted when not given
        self.launch_type = launch_type  # type: ignore[assignment]  # omitted, not "", with a capacity provider
        self.platform_version = LATEST_LINUX_PLATFORM if platform_version in (None, "LATEST") else platform_version
        self.platform_family = "Linux"
        self.cpu = _opt_str(overrides.get("cpu") or task_definition.cpu)
        self.memory = _opt_str(overrides.get("memory") or task_definition.memory)
        self.ephemeral_storage = task_definition.ephemeral_storage or {"sizeInGiB": DEFAULT_EPHEMERAL_GIB}
        self.enable_execute_command = enable_execute_command
        self.availability_zone = _availability_zone(backend, network_configuration)
        self.health_status = "UNKNOWN"
        self.connectivity: str | None = None
        self.version = 1
        self.stop_code: str | None = None
        self.stopped_reason: str | None = None  # type: ignore[assignment]  # absent until stopped
        self.created_at = stamp
        self.connectivity_at: datetime | None = None
        self.pull_started_at: datetime | None = None
        self.pull_stopped_at: datetime | None = None
        self.started_at: datetime | None = None
        self.stopping_at: datetime | None = None
        self.execution_stopped_at: datetime | None = None
        self.stopped_at: datetime | None = None
        by_name = {o.get("name"): o for o in overrides.get("containerOverrides", [])}
        self.containers = cast(
            Any,
            [
                SimContainer(self.task_arn, d, by_name.get(d["name"]), self.region_name)
                for d in task_definition.container_definitions
            ],
        )
        self._address_in_subnet()
        self._entered = now
        self._stop_requested: float | None = None
        self._task_definition = task_definition
        self.sim_counted = False  # the scheduler has counted this task for its deployment
        self.client_token: str | None = None

    # ManagedState's `status` advances on reads; ECS's advances with time (see the class doc).
    @property
    def status(self) -> str | None:
        return self._status

    @status.setter
    def status(self, value: str) -> None:
        self._status = value

    @property
    def sim_containers(self) -> list[SimContainer]:
        return self.containers  # type: ignore[return-value]

    @property
    def family(self) -> str:
        return self._task_definition.family

    def request_stop(self, code: str, reason: str, now: float) -> bool:
        """desiredStatus STOPPED with ECS's stopCode and stoppedReason; the first stop wins."""
        if self.desired_status == "STOPPED":
            return False
        self.desired_status, self.stop_code, self.stopped_reason = "STOPPED", code, reason
        self._stop_requested = now
        self.version += 1
        return True

    def next_due(self) -> float:
        """When this task next changes by itself (NEVER: only a request can change it)."""
        exits = min((c.exit_at() for c in self.sim_containers), default=NEVER)
        return min(exits, self._step_due())

    def progress(self, now: float, stamp: datetime) -> bool:
        """Apply everything that has come due by `now`; whether anything changed."""
        changed = False
        for _ in range(4 * len(STATES)):
            if not self._advance_once(now, stamp):
                break
            changed = True
            ecs_events.task_state_change(self, stamp)  # ECS sends one per change (each new `version`)
        return changed

    def _advance_once(self, now: float, stamp: datetime) -> bool:
        for container in self.sim_containers:
            if container.exit_at() <= now:
                self._print(container, container.exit_at())
                container.finish()
                self.version += 1
                if container.essential:
                    self.request_stop("EssentialContainerExited", "Essential container in task exited", now)
                if self._status == "STOPPING" and not any(c.running for c in self.sim_containers):
                    self.execution_stopped_at = stamp
                return True
        if self._step_due() > now:
            return False
        self._enter(self._next_state(now), now, stamp)
        return True

    def _step_due(self) -> float:
        step = PACE.step_seconds
        match self._status:
            case "RUNNING":
                return NEVER if self._stop_requested is None else self._stop_requested
            case "STOPPING" if any(c.running for c in self.sim_containers):
                return NEVER  # the containers' exits come first
            case "STOPPED":
                return NEVER
            case _:
                return self._entered + step

    def _next_state(self, now: float) -> str:
        if self._status in PRE_RUNNING and self.desired_status == "STOPPED":
            return "STOPPING"
        if self._status == "ACTIVATING":
            failure = next((c for c in self.sim_containers if c.program.pull_error), None)
            if failure is not None and failure.program.pull_error:
                self.request_stop("TaskFailedToStart", failure.program.pull_error, now)
                failure.never_started(failure.program.pull_error)
                return "STOPPING"
            for container in self.sim_containers:
                why = container.awslogs and logs.cannot_log(container.awslogs, self._account_id)
                if why:
                    self.request_stop("TaskFailedToStart", why, now)
                    container.never_started(why)
                    return "STOPPING"
        return STATES[STATES.index(self._status) + 1]

    def _enter(self, state: str, now: float, stamp: datetime) -> None:
        self._status, self._entered = state, now
        self.version += 1
        match state:
            case "PENDING":
                self.connectivity, self.connectivity_at = "CONNECTED", stamp
                self._attachments("ATTACHED")
            case "ACTIVATING":
                self.pull_started_at = stamp
            case "RUNNING":
                self.pull_stopped_at = self.started_at = stamp
                for container in self.sim_containers:
                    container.start(now, stamp)
                    self._print(container, now)
                if any(c.has_health_check for c in self.sim_containers):
                    self.health_status = "HEALTHY"
            case "DEACTIVATING":
                self.stopping_at = stamp
            case "STOPPING":
                self.stopping_at = self.stopping_at or stamp
                for container in self.sim_containers:
                    if container.running:
                        container.terminate(now)
                    elif container.last_status == "PENDING":
                        container.never_started()
                if not any(c.running for c in self.sim_containers):
                    self.execution_stopped_at = stamp
            case "DEPROVISIONING":
                self.health_status = "UNKNOWN"
                self._attachments("DETACHED")
            case "STOPPED":
                self.stopped_at = stamp
                self._attachments("DELETED")
                self._release_network_interface()

    def _print(self, container: SimContainer, upto: float) -> None:
        """What the container printed by `upto`, to its awslogs stream (the stream exists from its start)."""
        lines = container.due_output(upto)
        if container.awslogs is not None:
            stream = logs.stream_name(container.awslogs, container.name, self.id)
            logs.write(container.awslogs, self._account_id, stream, lines)

    def _address_in_subnet(self) -> None:
        """moto gives the ENI any 10.x address and no DNS name without DNS hostnames; ECS's ENI has an
        address from its subnet and an ip-a-b-c-d name."""
        ec2 = ec2_backends[self._account_id][self.region_name]
        for attachment in self._attachment_dicts():
            attachment["status"] = "PRECREATED"
            details = {d["name"]: d for d in attachment.get("details", [])}
            eni = ec2.enis.get(details.get("networkInterfaceId", {}).get("value", ""))
            if eni is None or eni.subnet is None:
                continue
            address = random_private_ip(eni.subnet.cidr_block)
            eni.private_ip_address = address
            eni.private_ip_addresses = [{"Primary": True, "PrivateIpAddress": address}]
            details["privateIPv4Address"]["value"] = address
            details["privateDnsName"]["value"] = generate_dns_from_ip(address)
            for container in self.sim_containers:  # awsvpc: every container shares the task's ENI
                container.network_interfaces = [{"attachmentId": attachment["id"], "privateIpv4Address": address}]

    def _attachment_dicts(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self.attachments)

    def _attachments(self, status: str) -> None:
        for attachment in self._attachment_dicts():
            attachment["status"] = status

    def _release_network_interface(self) -> None:
        ec2 = ec2_backends[self._account_id][self.region_name]
        for attachment in self._attachment_dicts():
            for detail in attachment.get("details", []):
                if detail.get("name") == "networkInterfaceId":
                    ec2.enis.pop(detail["value"], None)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _availability_zone(backend: EC2ContainerServiceBackend, network: dict[str, Any] | None) -> str | None:
    subnets = ((network or {}).get("awsvpcConfiguration") or {}).get("subnets") or []
    if not subnets:
        return None
    ec2 = ec2_backends[backend.account_id][backend.region_name]
    found = ec2.describe_subnets(subnet_ids=[subnets[0]])
    return str(found[0].availability_zone) if found else None
