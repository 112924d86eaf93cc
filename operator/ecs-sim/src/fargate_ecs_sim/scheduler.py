"""The service scheduler: REPLICA services, rolling (ECS) deployments, the circuit breaker, service events.

One `reconcile` pass per tick and service, following the botocore model's documentation:
- Deployment.status: PRIMARY (the most recent), ACTIVE (still has running tasks being replaced),
  INACTIVE (completely replaced: dropped from Service.deployments, kept for ListServiceDeployments);
- DeploymentConfiguration: at most floor(desiredCount * maximumPercent / 100) tasks RUNNING or
  PENDING, at least ceil(desiredCount * minimumHealthyPercent / 100) RUNNING (defaults 200 / 100);
- Deployment.rolloutState: IN_PROGRESS -> COMPLETED at steady state, FAILED when the circuit
  breaker trips; Deployment.failedTasks counts tasks that never reached RUNNING, until one does;
- ServiceDeploymentCircuitBreaker.threshold: 0.5 * desired count, between 3 and 200; with
  rollback the service goes back to the last COMPLETED deployment;
- Service.events: newest first, at most 100, ECS's wording, an identical message not repeated.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from moto.ecs.models import Cluster, EC2ContainerServiceBackend, Service, TaskDefinition

from fargate_ecs_sim import alarms, ecs_events, staged
from fargate_ecs_sim.clock import PACE
from fargate_ecs_sim.lifecycle import LATEST_LINUX_PLATFORM, SimTask
from fargate_ecs_sim.rules import circuit_breaker_threshold

MAX_EVENTS = 100
DEFAULT_DEPLOYMENT_CONFIGURATION: dict[str, Any] = {
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
}
BREAKER_FAILED = "ECS deployment circuit breaker: tasks failed to start."
# Members whose change makes a new deployment (a new service revision) on UpdateService.
REVISION_MEMBERS = (
    "taskDefinition",
    "networkConfiguration",
    "platformVersion",
    "capacityProviderStrategy",
    "loadBalancers",
    "serviceRegistries",
    "serviceConnectConfiguration",
    "enableExecuteCommand",
    "volumeConfigurations",
)


def new_deployment_id() -> str:
    return f"ecs-svc/{random.randrange(10**18, 10**19)}"


@dataclass(eq=False)
class Deployment:
    """A deployment, serialized as the Deployment shape; also the service deployment it stands for."""

    id: str
    task_definition: str
    desired_count: int
    launch_type: str | None
    capacity_provider_strategy: list[dict[str, Any]] | None
    platform_version: str | None
    network_configuration: dict[str, Any] | None
    service_connect_configuration: dict[str, Any] | None
    created_at: datetime
    revision: dict[str, Any]
    # The definition itself: a service keeps running a revision that is later deregistered or
    # deleted ("There is no impact on existing services or tasks"; deletion waits until unused).
    definition: TaskDefinition | None = None
    status: str = "PRIMARY"
    rollout_state: str = "IN_PROGRESS"
    rollout_state_reason: str = ""
    failed_tasks: int = 0
    platform_family: str = "Linux"
    tasks: list[SimTask] = field(default_factory=list)
    ever_running: bool = False
    breaker: dict[str, Any] = field(default_factory=dict)
    # ServiceDeployment bookkeeping (ListServiceDeployments / DescribeServiceDeployments).
    sd_status: str = "IN_PROGRESS"
    sd_status_reason: str | None = None
    finished_at: datetime | None = None
    sources: list[Deployment] = field(default_factory=list)
    rollback_of: Deployment | None = None
    rollback: dict[str, Any] | None = None
    launched: int = 0
    # BLUE_GREEN / LINEAR / CANARY (staged.py); None for ROLLING.
    staged: staged.Staged | None = None
    stop_requested: str | None = None
    alarms: dict[str, Any] = field(default_factory=dict)
    stopped_at: datetime | None = None

    def __post_init__(self) -> None:
        self.updated_at = self.created_at
        self.rollout_state_reason = f"ECS deployment {self.id} in progress."

    @property
    def live(self) -> list[SimTask]:
        return [t for t in self.tasks if t.desired_status == "RUNNING"]

    @property
    def running_count(self) -> int:
        return sum(1 for t in self.live if t.last_status == "RUNNING")

    @property
    def pending_count(self) -> int:
        return sum(1 for t in self.live if t.last_status != "RUNNING")

    def touch(self, stamp: datetime) -> None:
        self.updated_at = stamp


class SimService(Service):
    """moto's Service with deployments that start and stop tasks (moto copied desiredCount into runningCount)."""

    def __init__(
        self,
        cluster: Cluster,
        backend: EC2ContainerServiceBackend,
        task_definition: TaskDefinition,
        params: dict[str, Any],
        stamp: datetime,
    ) -> None:
        super().__init__(
            cluster=cluster,
            service_name=params["serviceName"],
            desired_count=int(params.get("desiredCount") or 0),
            backend=backend,
            task_definition=task_definition,
            load_balancers=params.get("loadBalancers"),
            scheduling_strategy=params.get("schedulingStrategy"),
            tags=params.get("tags"),
            deployment_controller=params.get("deploymentController"),
            launch_type=params.get("launchType"),
            service_registries=params.get("serviceRegistries"),
            platform_version=params.get("platformVersion"),
            network_configuration=None,  # checked by SimBackend (moto's check needs securityGroups)
            propagate_tags=params.get("propagateTags") or "NONE",
            role_arn=params.get("role"),
        )
        self.network_configuration = params.get("networkConfiguration") or {}
        self.capacity_provider_strategy: list[dict[str, Any]] | None = params.get("capacityProviderStrategy")
        self.deployment_configuration = _deployment_configuration(params.get("deploymentConfiguration"))
        self.health_check_grace_period_seconds = params.get("healthCheckGracePeriodSeconds")
        self.enable_execute_command = bool(params.get("enableExecuteCommand", False))
        self.enable_ecs_managed_tags = bool(params.get("enableECSManagedTags", False))
        self.placement_constraints = params.get("placementConstraints") or []
        self.placement_strategy = params.get("placementStrategy") or []
        self.service_connect_configuration = params.get("serviceConnectConfiguration")
        self.volume_configurations = params.get("volumeConfigurations")
        # model: CreateServiceRequest.availabilityZoneRebalancing: "For create service requests, when no
        # value is specified ... Amazon ECS defaults the value to ENABLED."
        self.availability_zone_rebalancing = params.get("availabilityZoneRebalancing") or "ENABLED"
        self.platform_family = "Linux"
        self.created_at = stamp
        self.events: list[dict[str, Any]] = []
        self.history: list[Deployment] = []
        self.deployments = []
        self.steady = False
        self.start_deployment(stamp, sources=[])

    def is_created(self) -> bool:
        return True

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        raise NotImplementedError("the emulator serves the ECS API, not CloudFormation")

    # moto's Service stores counts; ours are the deployments' live tasks.
    @property
    def running_count(self) -> int:
        return sum(d.running_count for d in self.sim_deployments)

    @running_count.setter
    def running_count(self, _: int) -> None:
        pass

    @property
    def pending_count(self) -> int:
        return sum(d.pending_count for d in self.sim_deployments)

    @pending_count.setter
    def pending_count(self, _: int) -> None:
        pass

    @property
    def sim_deployments(self) -> list[Deployment]:
        # moto's __init__ reads the counts before it has set (dict) deployments; ours replace them.
        return [d for d in getattr(self, "deployments", []) if isinstance(d, Deployment)]

    @property
    def primary(self) -> Deployment:
        return self.sim_deployments[0]

    # model: Service.currentServiceDeployment ("The ARN of the current service deployment") and
    # .currentServiceRevisions ("The list of the service revisions", ServiceCurrentRevisionSummary: arn,
    # requested/running/pending task counts): the newest service deployment (a rollback is part of the
    # one that failed) and the revisions that still have a deployment (blue and green during a staged one).
    @property
    def current_service_deployment(self) -> str | None:
        return deployment_arn(self, self.history[0]) if getattr(self, "history", None) else None

    @property
    def current_service_revisions(self) -> list[dict[str, Any]]:
        return [_revision_summary(self, d, None) for d in self.sim_deployments if d.status != "INACTIVE"]

    def revision(self) -> dict[str, Any]:
        return {
            "taskDefinition": self.task_definition,
            "networkConfiguration": self.network_configuration or None,
            "platformVersion": self.platform_version,
            "capacityProviderStrategy": self.capacity_provider_strategy,
            "loadBalancers": self.load_balancers,
            "serviceRegistries": self.service_registries,
            "serviceConnectConfiguration": self.service_connect_configuration,
            "enableExecuteCommand": self.enable_execute_command,
            "volumeConfigurations": self.volume_configurations,
            "launchType": self.launch_type,
        }

    def start_deployment(
        self,
        stamp: datetime,
        sources: list[Deployment],
        rollback_of: Deployment | None = None,
        reason: str | None = None,
    ) -> Deployment:
        """A new PRIMARY deployment of the current revision; the previous PRIMARY becomes ACTIVE."""
        breaker = self.deployment_configuration.get("deploymentCircuitBreaker") or {}
        deployment = Deployment(
            id=new_deployment_id(),
            task_definition=str(self.task_definition),
            desired_count=self.desired_count,
            launch_type=self.launch_type,
            capacity_provider_strategy=self.capacity_provider_strategy,
            platform_version=self._platform(),
            network_configuration=self.network_configuration or None,
            service_connect_configuration=self.service_connect_configuration,
            created_at=stamp,
            revision=self.revision(),
            definition=self._backend.describe_task_definition(str(self.task_definition)),
            sources=sources,
            rollback_of=rollback_of,
            breaker={
                "status": "MONITORING" if breaker.get("enable") else "DISABLED",
                "failureCount": 0,
                "threshold": circuit_breaker_threshold(self.desired_count),
            },
        )
        watched = self.deployment_configuration.get("alarms") or {}
        deployment.alarms = {
            "status": "MONITORING" if watched.get("enable") and rollback_of is None else "DISABLED",
            "alarmNames": list(watched.get("alarmNames") or []),
            "triggeredAlarmNames": [],
        }
        strategy = self.deployment_configuration.get("strategy") or "ROLLING"
        if strategy in staged.STAGED_STRATEGIES and rollback_of is None:
            # model: RECONCILE_SERVICE "only happens when you start a new service deployment with more
            # than 1 service revision in an ACTIVE state"
            live = sum(1 for d in sources if d.live)
            deployment.staged = staged.plan(self.deployment_configuration, live > 1, has_blue=live > 0)
        for old in self.sim_deployments:
            if old.status == "PRIMARY":
                old.status = "ACTIVE"
                if old.rollout_state == "IN_PROGRESS" and rollback_of is None:
                    old.sd_status, old.sd_status_reason, old.finished_at = (
                        "STOPPED",
                        "Stopped by a newer deployment.",
                        stamp,
                    )
        self.deployments.insert(0, deployment)  # type: ignore[arg-type]
        if rollback_of is None:
            self.history.insert(0, deployment)
        self.steady = False
        if reason is not None:
            deployment.rollout_state_reason = reason
        # "sent for both initial deployments and rollback deployments"; the reason tells them apart
        ecs_events.deployment_state_change(
            self, "SERVICE_DEPLOYMENT_IN_PROGRESS", deployment.id, deployment.rollout_state_reason, stamp
        )
        return deployment

    def _platform(self) -> str | None:
        if self.launch_type == "EC2":
            return None
        return LATEST_LINUX_PLATFORM if self.platform_version in (None, "LATEST") else self.platform_version

    def event(self, message: str, stamp: datetime) -> None:
        """Service events: newest first, at most 100; a repeat of the latest message is omitted."""
        if self.events and self.events[0]["message"] == message:
            return
        self.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": stamp, "message": message})
        del self.events[MAX_EVENTS:]


def _deployment_configuration(given: dict[str, Any] | None) -> dict[str, Any]:
    merged = {**DEFAULT_DEPLOYMENT_CONFIGURATION, **(given or {})}
    merged["deploymentCircuitBreaker"] = {
        **DEFAULT_DEPLOYMENT_CONFIGURATION["deploymentCircuitBreaker"],
        **(merged.get("deploymentCircuitBreaker") or {}),
    }
    return merged


def update_deployment_configuration(svc: SimService, given: dict[str, Any]) -> None:
    svc.deployment_configuration = _deployment_configuration({**svc.deployment_configuration, **given})


# A launcher starts one task for a deployment, or says why it cannot place one.
Launcher = Callable[[SimService, Deployment], "SimTask | str"]


def reconcile(svc: SimService, launch: Launcher, now: float, stamp: datetime) -> list[SimTask]:
    """One scheduler pass over a service; the tasks whose desired status it changed."""
    if svc.status == "INACTIVE" or not svc.sim_deployments:
        return []
    touched: list[SimTask] = []
    primary = svc.primary
    for deployment in svc.sim_deployments:
        _account(deployment)
    _circuit_breaker(svc, stamp)
    _alarms(svc, stamp)
    _stop_requested(svc, stamp)
    primary = svc.primary  # a rollback makes a new one
    st = primary.staged if primary.rollout_state == "IN_PROGRESS" and svc.status == "ACTIVE" else None
    if st is not None:
        ready = primary.running_count == primary.desired_count and primary.pending_count == 0
        changed, reason = staged.advance(st, now, stamp, ready, PACE.step_seconds)
        if changed:
            primary.touch(stamp)
        if reason is not None:
            staged_rollback(svc, primary, reason, stamp)
            primary = svc.primary
            st = None
    config = svc.deployment_configuration
    maximum = math.floor(primary.desired_count * config["maximumPercent"] / 100)
    minimum = math.ceil(primary.desired_count * config["minimumHealthyPercent"] / 100)
    if svc.status == "DRAINING":
        maximum = minimum = 0

    # Launch for the PRIMARY deployment, within maximumPercent (a FAILED one launches nothing).
    live_total = sum(len(d.live) for d in svc.sim_deployments)
    missing = min(primary.desired_count - len(primary.live), maximum - live_total)
    if st is not None:  # green scales up to 100% next to blue, at SCALE_UP
        missing = primary.desired_count - len(primary.live) if st.launches else 0
    if primary.rollout_state != "FAILED" and svc.status == "ACTIVE" and missing > 0:
        started = []
        for _ in range(missing):
            result = launch(svc, primary)
            if isinstance(result, str):
                svc.event(f"(service {svc.name}) {result}", stamp)
                break
            primary.tasks.append(result)
            primary.launched += 1
            started.append(result)
        if started:
            ids = " ".join(f"(task {t.id})" for t in started)
            svc.event(f"(service {svc.name}) has started {len(started)} tasks: {ids}.", stamp)
            primary.touch(stamp)
            svc.steady = False

    # Stop what is beyond desired: the PRIMARY's excess, and older deployments down to minimumHealthyPercent.
    stopped: list[SimTask] = []
    excess = len(primary.live) - (primary.desired_count if svc.status == "ACTIVE" else 0)
    for task in _stop_order(primary.live)[: max(0, excess)]:
        stopped += _stop(task, primary, now)
    running_total = sum(d.running_count for d in svc.sim_deployments)
    holding = st is not None and not st.cleaning  # blue keeps serving until CLEAN_UP
    for old in reversed(svc.sim_deployments[1:] if not holding else []):
        for task in _stop_order(old.live):
            if task.last_status == "RUNNING":
                if running_total - 1 < minimum:
                    break
                running_total -= 1
            stopped += _stop(task, old, now)
    if stopped:
        ids = " ".join(f"(task {t.id})" for t in stopped)
        svc.event(f"(service {svc.name}) has stopped {len(stopped)} running tasks: {ids}.", stamp)
        svc.steady = False
    touched += stopped

    _retire_drained(svc, stamp)
    _complete(svc, stamp, st)
    if svc.status == "DRAINING" and all(
        t.last_status in ("STOPPING", "DEPROVISIONING", "STOPPED") for d in svc.sim_deployments for t in d.tasks
    ):
        svc.status = "INACTIVE"  # DeleteService: "After all tasks have transitioned to either STOPPING or STOPPED"
    return touched


def _account(deployment: Deployment) -> None:
    """Failed-to-start tasks count until one of the deployment's tasks has reached RUNNING."""
    kept = []
    for task in deployment.tasks:
        if task.started_at is not None and not deployment.ever_running:
            deployment.ever_running, deployment.failed_tasks = True, 0
        if task.desired_status == "STOPPED" and task.stop_code == "TaskFailedToStart" and not task.sim_counted:
            task.sim_counted = True
            if not deployment.ever_running:
                deployment.failed_tasks += 1
                deployment.breaker["failureCount"] = deployment.failed_tasks
        if task.last_status != "STOPPED":
            kept.append(task)
    deployment.tasks = kept


def _circuit_breaker(svc: SimService, stamp: datetime) -> None:
    primary = svc.primary
    breaker = svc.deployment_configuration.get("deploymentCircuitBreaker") or {}
    if not breaker.get("enable") or primary.rollout_state != "IN_PROGRESS" or primary.ever_running:
        return
    if primary.failed_tasks < circuit_breaker_threshold(primary.desired_count):
        return
    primary.rollout_state, primary.rollout_state_reason = "FAILED", BREAKER_FAILED
    primary.breaker["status"] = "TRIGGERED"
    primary.touch(stamp)
    svc.event(f"(service {svc.name}) (deployment {primary.id}) deployment failed: tasks failed to start.", stamp)
    ecs_events.deployment_state_change(svc, "SERVICE_DEPLOYMENT_FAILED", primary.id, BREAKER_FAILED, stamp)
    if primary.staged is not None and breaker.get("rollback"):
        staged_rollback(svc, primary, BREAKER_FAILED, stamp)
        return
    target = next((d for d in svc.history if d.rollout_state == "COMPLETED"), None)
    if not breaker.get("rollback") or target is None:
        primary.sd_status, primary.sd_status_reason, primary.finished_at = "STOPPED", BREAKER_FAILED, stamp
        primary.stopped_at = stamp
        return
    _rolling_rollback(svc, primary, target, BREAKER_FAILED, "ECS deployment circuit breaker", stamp)


def _alarms(svc: SimService, stamp: datetime) -> None:
    """deploymentConfiguration.alarms: an alarm in ALARM during the deployment fails it (rollback: roll back).

    A staged deployment is watched until CLEAN_UP has finished (its bake time included)."""
    primary = svc.primary
    watched = svc.deployment_configuration.get("alarms") or {}
    if primary.alarms.get("status") != "MONITORING" or primary.rollout_state != "IN_PROGRESS":
        return
    fired = alarms.in_alarm(svc.arn, primary.alarms["alarmNames"])
    if not fired:
        return
    reason = f"ECS deployment alarms: {', '.join(fired)} in ALARM state."
    primary.alarms["status"], primary.alarms["triggeredAlarmNames"] = "TRIGGERED", fired
    if primary.staged is not None and watched.get("rollback"):
        staged_rollback(svc, primary, reason, stamp)
        return
    primary.rollout_state, primary.rollout_state_reason = "FAILED", reason
    primary.touch(stamp)
    svc.event(f"(service {svc.name}) (deployment {primary.id}) deployment failed: alarm detected.", stamp)
    ecs_events.deployment_state_change(svc, "SERVICE_DEPLOYMENT_FAILED", primary.id, reason, stamp)
    target = next((d for d in svc.history if d.rollout_state == "COMPLETED"), None)
    if not watched.get("rollback") or target is None or primary.staged is not None:
        primary.sd_status, primary.sd_status_reason = "STOPPED", reason
        primary.finished_at = primary.stopped_at = stamp
        return
    _rolling_rollback(svc, primary, target, reason, "ECS deployment alarms", stamp)


def _rolling_rollback(
    svc: SimService, primary: Deployment, target: Deployment, status_reason: str, who: str, stamp: datetime
) -> None:
    """A rolling deployment rolls back with a new deployment of the last COMPLETED revision."""
    reason = f"{who}: rolling back to deploymentId {target.id}."
    primary.sd_status, primary.sd_status_reason = "ROLLBACK_IN_PROGRESS", status_reason
    primary.rollback = {"reason": reason, "startedAt": stamp, "serviceRevisionArn": revision_arn(svc, target)}
    for member, value in target.revision.items():
        setattr(svc, _ATTRIBUTE.get(member, member), value)
    svc.event(f"(service {svc.name}) rolling back to deployment {target.id}.", stamp)
    svc.start_deployment(stamp, sources=[d for d in svc.sim_deployments], rollback_of=primary, reason=reason)


STOPPED_BY_USER = "Service deployment stopped by StopServiceDeployment (ROLLBACK)."


def _stop_requested(svc: SimService, stamp: datetime) -> None:
    """StopServiceDeployment ROLLBACK: "rolls back the service deployment to the previous service revision"."""
    primary = svc.primary
    reason = primary.stop_requested
    if reason is None:
        return
    primary.stop_requested = None
    if primary.rollout_state != "IN_PROGRESS":
        return
    if primary.staged is not None:
        primary.staged.stop_reason = reason  # staged.advance hands it back, in this same pass
        return
    primary.rollout_state, primary.rollout_state_reason = "FAILED", reason
    primary.touch(stamp)
    ecs_events.deployment_state_change(svc, "SERVICE_DEPLOYMENT_FAILED", primary.id, reason, stamp)
    target = next((d for d in svc.history if d.rollout_state == "COMPLETED"), None)
    if target is None:
        primary.sd_status, primary.sd_status_reason = "STOPPED", reason
        primary.finished_at = primary.stopped_at = stamp
        return
    _rolling_rollback(svc, primary, target, reason, "StopServiceDeployment", stamp)


def staged_rollback(svc: SimService, green: Deployment, reason: str, stamp: datetime) -> None:
    """Blue/green, linear, canary: production traffic back to blue, which serves again; green scales in.

    Lambda hooks guide: FAILED - "Amazon ECS rolls back the deployment to the last successful service revision".
    """
    blue = next((d for d in svc.sim_deployments[1:] if d.live), None)
    if green.rollout_state != "FAILED":
        green.rollout_state, green.rollout_state_reason = "FAILED", reason
        svc.event(f"(service {svc.name}) (deployment {green.id}) deployment failed: {reason}", stamp)
        ecs_events.deployment_state_change(svc, "SERVICE_DEPLOYMENT_FAILED", green.id, reason, stamp)
    green.touch(stamp)
    if green.staged is not None:
        green.staged.stop_reason = None
    if blue is None:  # nothing to go back to: the deployment stops where it is
        green.sd_status, green.sd_status_reason = "STOPPED", reason
        green.finished_at = green.stopped_at = stamp
        return
    green.sd_status, green.sd_status_reason = "ROLLBACK_IN_PROGRESS", reason
    green.rollback = {"reason": reason, "startedAt": stamp, "serviceRevisionArn": revision_arn(svc, blue)}
    if green.staged is not None:
        green.staged.production_weight = green.staged.test_weight = 0.0
    for member, value in blue.revision.items():
        setattr(svc, _ATTRIBUTE.get(member, member), value)
    green.status, blue.status = "ACTIVE", "PRIMARY"
    green.desired_count, blue.desired_count = 0, svc.desired_count
    svc.deployments = cast(Any, [blue] + [d for d in svc.sim_deployments if d is not blue])
    svc.event(f"(service {svc.name}) rolling back to deployment {blue.id}.", stamp)
    svc.steady = False


_ATTRIBUTE = {
    "taskDefinition": "task_definition",
    "networkConfiguration": "network_configuration",
    "platformVersion": "platform_version",
    "capacityProviderStrategy": "capacity_provider_strategy",
    "loadBalancers": "load_balancers",
    "serviceRegistries": "service_registries",
    "serviceConnectConfiguration": "service_connect_configuration",
    "enableExecuteCommand": "enable_execute_command",
    "volumeConfigurations": "volume_configurations",
    "launchType": "launch_type",
}


def _stop_order(tasks: list[SimTask]) -> list[SimTask]:
    """Tasks that are not RUNNING yet go first, then the newest."""
    return sorted(tasks, key=lambda t: (t.last_status == "RUNNING", -t.created_at.timestamp()))


def _stop(task: SimTask, deployment: Deployment, now: float) -> list[SimTask]:
    reason = f"Scaling activity initiated by (deployment {deployment.id})"
    return [task] if task.request_stop("ServiceSchedulerInitiated", reason, now) else []


def _retire_drained(svc: SimService, stamp: datetime) -> None:
    """An older deployment with no task left is INACTIVE: "completely replaced"."""
    for old in svc.sim_deployments[1:]:
        rolling_back = old.sd_status == "ROLLBACK_IN_PROGRESS" and old.staged is not None
        if rolling_back and old.tasks:
            continue  # a staged rollback has succeeded when green's tasks have STOPPED
        if not old.live:
            old.status = "INACTIVE"
            old.touch(stamp)
            if rolling_back:
                old.sd_status, old.finished_at = "ROLLBACK_SUCCESSFUL", stamp  # green drained, blue serves
    svc.deployments = cast(Any, [d for d in svc.sim_deployments if d.status != "INACTIVE"])


def _complete(svc: SimService, stamp: datetime, st: staged.Staged | None) -> None:
    primary = svc.primary
    settled = (
        svc.status == "ACTIVE"
        and (st is None or st.cleaning)
        and len(svc.sim_deployments) == 1
        and primary.running_count == primary.desired_count
        and primary.pending_count == 0
    )
    if not settled:
        return
    if primary.rollout_state == "IN_PROGRESS":
        primary.rollout_state, primary.rollout_state_reason = "COMPLETED", f"ECS deployment {primary.id} completed."
        primary.touch(stamp)
        if primary.breaker["status"] == "MONITORING":
            primary.breaker["status"] = "MONITORING_COMPLETE"
        if primary.alarms.get("status") == "MONITORING":
            primary.alarms["status"] = "MONITORING_COMPLETE"
        svc.event(f"(service {svc.name}) (deployment {primary.id}) deployment completed.", stamp)
        ecs_events.deployment_state_change(
            svc, "SERVICE_DEPLOYMENT_COMPLETED", primary.id, primary.rollout_state_reason, stamp
        )
        if primary.rollback_of is not None:
            failed = primary.rollback_of
            failed.sd_status, failed.finished_at = "ROLLBACK_SUCCESSFUL", stamp
        else:
            primary.sd_status, primary.finished_at = "SUCCESSFUL", stamp
    if not svc.steady and primary.rollout_state != "FAILED":
        svc.steady = True
        svc.event(f"(service {svc.name}) has reached a steady state.", stamp)
        ecs_events.service_action(svc, "SERVICE_STEADY_STATE", "INFO", stamp)


# ListServiceDeployments / DescribeServiceDeployments: one service deployment per deployment that
# UpdateService or CreateService started; a circuit-breaker rollback is part of the failed one.


def _arn_parts(svc: SimService) -> tuple[str, str]:
    prefix = svc.arn.split(":service/", 1)[0]
    return prefix, f"{svc.cluster_name}/{svc.name}"


def deployment_arn(svc: SimService, deployment: Deployment) -> str:
    prefix, path = _arn_parts(svc)
    return f"{prefix}:service-deployment/{path}/{deployment.id.split('/', 1)[1]}"


def revision_arn(svc: SimService, deployment: Deployment) -> str:
    prefix, path = _arn_parts(svc)
    return f"{prefix}:service-revision/{path}/{deployment.id.split('/', 1)[1]}"


def _revision_summary(svc: SimService, deployment: Deployment, weights: tuple[float, float] | None) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "arn": revision_arn(svc, deployment),
        "requestedTaskCount": deployment.desired_count if deployment.status != "INACTIVE" else 0,
        "runningTaskCount": deployment.running_count,
        "pendingTaskCount": deployment.pending_count,
    }
    if weights is not None:  # (production, test): staged deployments shift traffic between revisions
        summary["requestedProductionTrafficWeight"], summary["requestedTestTrafficWeight"] = weights
    return summary


def _summaries(svc: SimService, deployment: Deployment) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Source and target revisions; with a staged deployment, blue (the first live source) has the rest."""
    st = deployment.staged
    if st is None:
        return [_revision_summary(svc, d, None) for d in deployment.sources], _revision_summary(svc, deployment, None)
    blue = next((d for d in deployment.sources if d.live or d.status != "INACTIVE"), None)
    sources = [
        _revision_summary(svc, d, (100.0 - st.production_weight, 100.0 - st.test_weight) if d is blue else (0.0, 0.0))
        for d in deployment.sources
    ]
    if blue is None and deployment.sd_status.startswith("ROLLBACK"):
        weights = (0.0, 0.0)
    elif blue is None:
        weights = (100.0, 100.0)  # nothing to shift from: the first revision takes all traffic
    else:
        weights = (st.production_weight, st.test_weight)
    return sources, _revision_summary(svc, deployment, weights)


def brief(svc: SimService, deployment: Deployment) -> dict[str, Any]:
    return {
        "serviceDeploymentArn": deployment_arn(svc, deployment),
        "serviceArn": svc.arn,
        "clusterArn": svc.cluster_arn,
        "startedAt": deployment.created_at,
        "createdAt": deployment.created_at,
        "finishedAt": deployment.finished_at,
        "targetServiceRevisionArn": revision_arn(svc, deployment),
        "status": deployment.sd_status,
        "statusReason": deployment.sd_status_reason,
    }


def detail(svc: SimService, deployment: Deployment) -> dict[str, Any]:
    sources, target = _summaries(svc, deployment)
    shape: dict[str, Any] = {
        "serviceDeploymentArn": deployment_arn(svc, deployment),
        "serviceArn": svc.arn,
        "clusterArn": svc.cluster_arn,
        "createdAt": deployment.created_at,
        "startedAt": deployment.created_at,
        "finishedAt": deployment.finished_at,
        "updatedAt": deployment.updated_at,
        "stoppedAt": deployment.stopped_at,
        "sourceServiceRevisions": sources,
        "targetServiceRevision": target,
        "status": deployment.sd_status,
        "statusReason": deployment.sd_status_reason,
        "deploymentConfiguration": svc.deployment_configuration,
        "rollback": deployment.rollback,
        "deploymentCircuitBreaker": deployment.breaker,
        "alarms": deployment.alarms or None,
    }
    if deployment.staged is not None:
        shape["lifecycleStage"] = deployment.staged.stage or "PRE_SCALE_UP"
        shape["lifecycleHookDetails"] = [r.shape() for r in deployment.staged.runs]
    return shape


def service_revision(svc: SimService, deployment: Deployment) -> dict[str, Any]:
    """DescribeServiceRevisions: the ServiceRevision shape, from what the deployment was started with."""
    rev = deployment.revision
    definition = deployment.definition
    images = [
        {"containerName": c.get("name"), "imageDigest": None, "image": c.get("image")}
        for c in (definition.container_definitions if definition is not None else [])
    ]
    shape = {
        "serviceRevisionArn": revision_arn(svc, deployment),
        "serviceArn": svc.arn,
        "clusterArn": svc.cluster_arn,
        "taskDefinition": deployment.task_definition,
        "capacityProviderStrategy": rev.get("capacityProviderStrategy"),
        "launchType": rev.get("launchType"),
        "platformVersion": deployment.platform_version,
        "platformFamily": deployment.platform_family if deployment.platform_version else None,
        "loadBalancers": rev.get("loadBalancers") or [],
        "serviceRegistries": rev.get("serviceRegistries") or [],
        "networkConfiguration": rev.get("networkConfiguration"),
        "containerImages": [{k: v for k, v in i.items() if v is not None} for i in images],
        "guardDutyEnabled": False,
        "serviceConnectConfiguration": rev.get("serviceConnectConfiguration"),
        "volumeConfigurations": rev.get("volumeConfigurations"),
        "createdAt": deployment.created_at,
    }
    return {k: v for k, v in shape.items() if v is not None}
