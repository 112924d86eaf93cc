"""moto's ECS backend with ECS's behaviour where moto falls short.

`SimBackend` replaces the class behind `moto.ecs.models.ecs_backends` (one per account and
region, recreated by /moto-api/reset). It keeps moto's models and storage and adds: tasks with a
time-driven lifecycle (lifecycle.py), a service scheduler (scheduler.py), the validation moto
skips (rules.py), clientToken idempotency, DescribeTasks MISSING failures, ListTasks filters,
guarded DeleteCluster / CreateService, ListServiceDeployments / DescribeServiceDeployments /
DescribeServiceRevisions, and StopServiceDeployment / ContinueServiceDeployment (staged.py).
`tick` is called by the ticker thread; everything runs under clock.LOCK.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from types import ModuleType
from typing import Any, cast

import moto.ecs.urls
from moto.ec2.exceptions import InvalidSecurityGroupNotFoundError, InvalidSubnetIdError
from moto.ec2.models import ec2_backends
from moto.ecs.exceptions import (
    ClusterNotFoundException,
    ECSException,
    InvalidParameterException,
    ServiceNotFoundException,
)
from moto.ecs.models import Cluster, EC2ContainerServiceBackend, TaskDefinition

from fargate_ecs_sim import ecs_events, exec_channel, rules, scheduler, staged
from fargate_ecs_sim.clock import Timeline, mono, wall
from fargate_ecs_sim.lifecycle import SimTask
from fargate_ecs_sim.scheduler import Deployment, SimService

# ECS keeps RunTask client tokens for 24 hours ("Ensuring idempotency").
RUN_TOKEN_TTL = 24 * 3600.0
LIST_TASKS_PAGE = 100  # ListTasks.maxResults: "If this parameter isn't used, then ListTasks returns up to 100 results"
LIST_SERVICES_PAGE = 10  # ListServices.maxResults: "... returns up to 10 results"
# ListTaskDefinitions.maxResults: "If this parameter isn't used, then ListTaskDefinitions returns up to
# 100 results and a nextToken value if applicable" (moto returns every revision on one page).
LIST_TASK_DEFINITIONS_PAGE = 100
# ExecuteCommand refusals, in ECS's words (docs/ecs-emulator.md names their sources).
EXEC_INTERACTIVE_ONLY = "Interactive is the only mode supported currently."
EXEC_NOT_ENABLED = (
    "The execute command failed because execute command was not enabled when the task was run or the "
    "execute command agent isn't running. Wait and try again or run a new task with execute command enabled "
    "and try again."
)
EXEC_WHICH_CONTAINER = "The container name is required when the task has more than one container."
EXEC_NOT_CONNECTED = (
    "The execute command failed due to an internal error. Try again later. (the task or container is not RUNNING)"
)
NO_INSTANCES = "No Container Instances were found in your cluster."
log = logging.getLogger("ecs_sim")


class ConflictException(ECSException):
    """RunTask: "The provided clientToken is already in use with a different RunTask request.\""""

    code = "ConflictException"

    def __init__(self, message: str, resource_ids: list[str]) -> None:
        super().__init__("ConflictException", message)
        self.resource_ids = resource_ids


class TargetNotConnectedException(ECSException):
    """ExecuteCommand: the task's agent is not connected (botocore: "The execute command cannot run")."""

    def __init__(self, message: str) -> None:
        super().__init__("TargetNotConnectedException", message)


def error(err: rules.RuleError) -> ECSException:
    return ECSException(err.code, err.message)


def _fingerprint(params: dict[str, Any], drop: tuple[str, ...] = ()) -> str:
    return json.dumps({k: v for k, v in params.items() if k not in drop}, sort_keys=True, default=str)


class SimBackend(EC2ContainerServiceBackend):
    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.timeline: Timeline[SimTask] = Timeline()
        self.run_tokens: dict[tuple[str, str], tuple[str, list[str], float]] = {}
        self.service_tokens: dict[tuple[str, str], tuple[str, SimService]] = {}

    @property
    def _url_module(self) -> ModuleType:
        return moto.ecs.urls  # moto derives it from the class's module, which is ours

    # --- time ---------------------------------------------------------------------------------

    def tick(self, now: float, stamp: datetime) -> None:
        """Advance every task that is due, then give every live service a scheduler pass."""
        for task in self.timeline.due(now):
            task.progress(now, stamp)
            self.timeline.schedule(task, task.next_due())
        launch = self._launcher(now, stamp)
        for svc in list(self.services.values()):
            if isinstance(svc, SimService) and svc.status != "INACTIVE":
                try:
                    touched = scheduler.reconcile(svc, launch, now, stamp)
                except Exception:  # one service's trouble must not stop the others (or time)
                    log.exception("scheduler pass for service %s failed", svc.arn)
                    continue
                for task in touched:
                    ecs_events.task_state_change(task, stamp)  # desiredStatus STOPPED is a change too
                    self._wake(task, now, stamp)

    def _wake(self, task: SimTask, now: float, stamp: datetime) -> None:
        task.progress(now, stamp)
        self.timeline.schedule(task, task.next_due())

    # --- clusters -----------------------------------------------------------------------------

    def sim_create_cluster(self, params: dict[str, Any]) -> Cluster:
        """CreateCluster on an ACTIVE name returns that cluster unchanged (CreateCluster is idempotent)."""
        name = params.get("clusterName") or "default"
        existing = self.clusters.get(name)
        if existing is not None and existing.status == "ACTIVE":
            return self._counted(existing)
        return self.create_cluster(
            name,
            params.get("tags"),
            params.get("settings"),
            params.get("configuration"),
            params.get("capacityProviders"),
            params.get("defaultCapacityProviderStrategy"),
            service_connect_defaults=params.get("serviceConnectDefaults"),
        )

    def _active_cluster(self, name: str) -> Cluster:
        cluster = self._get_cluster(name)
        if cluster.status != "ACTIVE":
            raise ClusterNotFoundException()
        return cluster

    def sim_delete_cluster(self, name: str) -> Cluster:
        """DeleteCluster refuses while services (ACTIVE or DRAINING) or tasks (not STOPPED) remain."""
        cluster = self._get_cluster(name)
        if any(s.cluster_name == cluster.name and s.status != "INACTIVE" for s in self.services.values()):
            raise ECSException(
                "ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active."
            )
        if any(t.last_status != "STOPPED" for t in self.tasks.get(cluster.name, {}).values()):
            raise ECSException("ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.")
        deleted = self.delete_cluster(name)
        return self._counted(deleted)

    def update_cluster_resources(self, cluster: Cluster, task_num: int, task_state: str | None = "RUNNING") -> None:
        """moto's bookkeeping of counts is replaced by counting (see _counted)."""

    def describe_clusters(self, cluster_names: list[str]) -> tuple[list[Cluster], list[Any]]:
        clusters, failures = super().describe_clusters(cluster_names)
        return [self._counted(c) for c in clusters], failures

    def _counted(self, cluster: Cluster) -> Cluster:
        """runningTasksCount / pendingTasksCount / activeServicesCount from the tasks and services themselves."""
        tasks = self.tasks.get(cluster.name, {}).values()
        cluster.running_tasks_count = sum(1 for t in tasks if t.last_status == "RUNNING")
        cluster.pending_tasks_count = sum(
            1 for t in tasks if t.last_status in ("PROVISIONING", "PENDING", "ACTIVATING")
        )
        cluster.active_services_count = sum(
            1 for s in self.services.values() if s.cluster_name == cluster.name and s.status == "ACTIVE"
        )
        return cluster

    # --- task definitions ---------------------------------------------------------------------

    def sim_register_task_definition(self, params: dict[str, Any]) -> TaskDefinition:
        try:
            checked = rules.check_registration(params)
        except rules.RuleError as err:
            raise error(err) from None
        td = self.register_task_definition(
            params.get("family", ""),
            params.get("containerDefinitions") or [],
            volumes=params.get("volumes"),
            network_mode=params.get("networkMode"),
            tags=params.get("tags"),
            placement_constraints=params.get("placementConstraints"),
            requires_compatibilities=params.get("requiresCompatibilities"),
            cpu=checked.cpu,
            memory=checked.memory,
            task_role_arn=params.get("taskRoleArn"),
            execution_role_arn=params.get("executionRoleArn"),
            proxy_configuration=params.get("proxyConfiguration"),
            inference_accelerators=params.get("inferenceAccelerators"),
            runtime_platform=params.get("runtimePlatform"),
            ipc_mode=params.get("ipcMode"),
            pid_mode=params.get("pidMode"),
            ephemeral_storage=params.get("ephemeralStorage"),
        )
        td.compatibilities = checked.compatibilities
        return td

    # --- tasks --------------------------------------------------------------------------------

    def _network(self, nc: dict[str, Any] | None) -> dict[str, Any] | None:
        """awsvpcConfiguration as ECS checks it; without securityGroups the VPC's default group is used."""
        if not nc or "awsvpcConfiguration" not in nc:
            return nc
        conf = dict(nc["awsvpcConfiguration"])
        subnets = conf.get("subnets") or []
        if not subnets:
            raise InvalidParameterException("subnets can not be empty.")
        ec2 = ec2_backends[self.account_id][self.region_name]
        try:
            found = ec2.describe_subnets(subnet_ids=subnets)
        except InvalidSubnetIdError as exc:
            subnet = exc.message.split("'")[1]
            raise InvalidParameterException(
                f"Error retrieving subnet information for [{subnet}]: {exc.message} (ErrorCode: {exc.code})"
            ) from None
        if not conf.get("securityGroups"):
            default = ec2.get_default_security_group(found[0].vpc_id)
            conf["securityGroups"] = [default.id] if default else []
        try:
            ec2.describe_security_groups(group_ids=conf["securityGroups"])
        except InvalidSecurityGroupNotFoundError as exc:
            group = exc.message.split("'{'")[1].split("'}'")[0]
            raise InvalidParameterException(
                f"Error retrieving security group information for [{group}]: "
                f"The security group '{group}' does not exist (ErrorCode: InvalidGroup.NotFound)"
            ) from None
        return {**nc, "awsvpcConfiguration": conf}

    def _placement(
        self, cluster: Cluster, launch_type: str | None, strategy: list[dict[str, Any]] | None
    ) -> tuple[str | None, list[dict[str, Any]] | None]:
        """Neither launch type nor strategy: the cluster's default strategy, else the EC2 launch type."""
        if launch_type or strategy:
            return launch_type, strategy
        default = cluster.default_capacity_provider_strategy
        return (None, default) if default else ("EC2", None)

    def _has_instances(self, cluster: Cluster) -> bool:
        return any(ci.status == "ACTIVE" for ci in self.container_instances.get(cluster.name, {}).values())

    def _new_task(
        self,
        cluster: Cluster,
        td: TaskDefinition,
        *,
        index: int,
        launch_type: str | None,
        strategy: list[dict[str, Any]] | None,
        group: str,
        started_by: str,
        overrides: dict[str, Any],
        tags: list[dict[str, str]],
        network: dict[str, Any] | None,
        platform_version: str | None,
        enable_execute_command: bool,
        now: float,
        stamp: datetime,
    ) -> SimTask:
        task = SimTask(
            cluster,
            td,
            self,
            group=group,
            overrides=overrides,
            started_by=started_by,
            tags=tags,
            launch_type=launch_type,
            network_configuration=network,
            platform_version=platform_version if rules.uses_fargate(launch_type, strategy) else None,
            capacity_provider_name=_provider_for(strategy, index),
            enable_execute_command=enable_execute_command,
            now=now,
            stamp=stamp,
        )
        if not rules.uses_fargate(launch_type, strategy):
            task.platform_version = task.platform_family = None  # type: ignore[assignment]
        self.tasks.setdefault(cluster.name, {})[task.task_arn] = task
        self.timeline.schedule(task, task.next_due())
        ecs_events.task_state_change(task, stamp)  # the new task, PROVISIONING
        return task

    def sim_run_task(self, params: dict[str, Any]) -> tuple[list[SimTask], list[dict[str, str]]]:
        cluster = self._active_cluster(params.get("cluster") or "default")
        count = int(params.get("count") or 1)
        if not 1 <= count <= 10:
            raise InvalidParameterException("count must be between 1 and 10.")
        token = params.get("clientToken")
        fingerprint = _fingerprint(params, drop=("clientToken",))
        now, stamp = mono(), wall()
        if token:
            known = self.run_tokens.get((cluster.name, token))
            if known and now - known[2] < RUN_TOKEN_TTL:
                if known[0] != fingerprint:
                    raise ConflictException(
                        "The specified client token is already in use with a different request.", known[1]
                    )
                return [cast(SimTask, self.tasks[cluster.name][arn]) for arn in known[1]], []
        td = self.describe_task_definition(params["taskDefinition"])
        launch_type, strategy = self._placement(
            cluster, params.get("launchType"), params.get("capacityProviderStrategy")
        )
        try:
            rules.check_launch(launch_type, strategy, td.compatibilities, td.status)
        except rules.RuleError as err:
            raise error(err) from None
        if not rules.uses_fargate(launch_type, strategy) and not self._has_instances(cluster):
            return [], [{"arn": cluster.arn, "reason": NO_INSTANCES}]
        network = self._network(params.get("networkConfiguration"))
        tags = list(params.get("tags") or [])
        if params.get("propagateTags") == "TASK_DEFINITION":
            tags = _merge_tags(td.tags, tags)
        tasks = [
            self._new_task(
                cluster,
                td,
                index=i,
                launch_type=launch_type,
                strategy=strategy,
                group=params.get("group") or f"family:{td.family}",
                started_by=params.get("startedBy") or "",
                overrides=params.get("overrides") or {},
                tags=tags,
                network=network,
                platform_version=params.get("platformVersion"),
                enable_execute_command=bool(params.get("enableExecuteCommand")),
                now=now,
                stamp=stamp,
            )
            for i in range(count)
        ]
        if token:
            self.run_tokens[(cluster.name, token)] = (fingerprint, [t.task_arn for t in tasks], now)
        return tasks, []

    def _find_task(self, cluster: Cluster, ref: str) -> SimTask | None:
        tasks = self.tasks.get(cluster.name, {})
        found = tasks.get(ref) if ref.startswith("arn:") else next((t for t in tasks.values() if t.id == ref), None)
        return found if isinstance(found, SimTask) else None

    def sim_describe_tasks(self, cluster_ref: str, refs: list[str]) -> tuple[list[SimTask], list[dict[str, str]]]:
        """Unknown ids are failures with reason MISSING, as DescribeServices and DescribeClusters report them."""
        cluster = self._get_cluster(cluster_ref)
        if not refs:
            raise InvalidParameterException("Tasks cannot be empty.")
        found, failures = [], []
        for ref in refs:
            task = self._find_task(cluster, ref)
            if task is None:
                arn = ref if ref.startswith("arn:") else f"{cluster.arn.replace(':cluster/', ':task/')}/{ref}"
                failures.append({"arn": arn, "reason": "MISSING"})
            else:
                found.append(task)
        return found, failures

    def sim_execute_command(self, params: dict[str, Any]) -> dict[str, Any]:
        """ExecuteCommand: a session on the emulator's data channel (exec_channel.py), for a task ECS would allow."""
        cluster = self._active_cluster(params.get("cluster") or "default")
        if not params.get("interactive"):
            raise InvalidParameterException(EXEC_INTERACTIVE_ONLY)
        task = self._find_task(cluster, str(params.get("task") or ""))
        if task is None:
            raise InvalidParameterException("The specified task was not found.")
        if not task.enable_execute_command:
            raise InvalidParameterException(EXEC_NOT_ENABLED)
        if task.status != "RUNNING":
            raise TargetNotConnectedException(EXEC_NOT_CONNECTED)
        name = params.get("container")
        containers = task.sim_containers
        if name is None and len(containers) > 1:
            raise InvalidParameterException(EXEC_WHICH_CONTAINER)
        container = next((c for c in containers if name is None or c.name == name), None)
        if container is None:
            raise InvalidParameterException(f"The container {name} does not exist in the task.")
        if not container.running:
            raise TargetNotConnectedException(EXEC_NOT_CONNECTED)
        session = exec_channel.CHANNELS.new_session(
            str(params.get("command") or ""), container.environment, f"ip-{task.id[:12]}", task.id
        )
        return {
            "clusterArn": cluster.arn,
            "containerArn": container.container_arn,
            "containerName": container.name,
            "interactive": True,
            "session": session,
            "taskArn": task.task_arn,
        }

    def sim_stop_task(self, cluster_ref: str, ref: str, reason: str | None) -> SimTask:
        """StopTask: desiredStatus STOPPED now, UserInitiated; the lifecycle does the rest."""
        cluster = self._get_cluster(cluster_ref)
        task = self._find_task(cluster, ref)
        if task is None:
            raise InvalidParameterException("The referenced task was not found.")
        now = mono()
        if task.request_stop("UserInitiated", reason or "Task stopped by user", now):
            ecs_events.task_state_change(task, wall())
        self.timeline.schedule(task, now)
        return task

    def sim_list_tasks(self, params: dict[str, Any]) -> tuple[list[str], str | None]:
        """ListTasks: exact cluster, serviceName, desiredStatus (default RUNNING); startedBy alone.

        ListTasks.startedBy: "When you specify startedBy as the filter, it must be the only filter that
        you use" - ECS answers family/serviceName/containerInstance/launchType next to it with
        InvalidParameterException; desiredStatus (a status, RUNNING by default) goes with it.
        """
        cluster = self._get_cluster(params.get("cluster") or "default")
        filters = ("family", "serviceName", "containerInstance", "launchType")
        if params.get("startedBy") and any(params.get(f) for f in filters):
            raise InvalidParameterException("cannot specify startedBy with other arguments")
        tasks = [t for t in self.tasks.get(cluster.name, {}).values() if t.cluster_arn == cluster.arn]
        desired = params.get("desiredStatus") or "RUNNING"
        tasks = [t for t in tasks if t.desired_status == desired]
        if name := params.get("serviceName"):
            svc = self._service(cluster, name)
            tasks = [t for t in tasks if t.group == f"service:{svc.name}"]
        if family := params.get("family"):
            tasks = [t for t in tasks if t.task_definition_arn.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family]
        if started_by := params.get("startedBy"):
            tasks = [t for t in tasks if t.started_by == started_by]
        if instance := params.get("containerInstance"):
            tasks = [t for t in tasks if (t.container_instance_arn or "").endswith(instance.rsplit("/", 1)[-1])]
        if launch := params.get("launchType"):
            tasks = [t for t in tasks if t.launch_type == launch]
        return _page([t.task_arn for t in tasks], params, LIST_TASKS_PAGE)

    # --- services -----------------------------------------------------------------------------

    def _service(self, cluster: Cluster, ref: str) -> SimService:
        name = ref.rsplit("/", 1)[-1]
        svc = self.services.get(f"{cluster.name}:{name}")
        if not isinstance(svc, SimService):
            raise ServiceNotFoundException()
        return svc

    def _launcher(self, now: float, stamp: datetime) -> scheduler.Launcher:
        def launch(svc: SimService, deployment: Deployment) -> SimTask | str:
            cluster = self._get_cluster(svc.cluster_name)
            strategy = deployment.capacity_provider_strategy
            launch_type = deployment.launch_type
            if not rules.uses_fargate(launch_type, strategy) and not self._has_instances(cluster):
                return (
                    "was unable to place a task because no container instance met all of its requirements. "
                    f"Reason: {NO_INSTANCES} For more information, see the Troubleshooting section of the "
                    "Amazon ECS Developer Guide."
                )
            td = deployment.definition or self.describe_task_definition(deployment.task_definition)
            tags: list[dict[str, str]] = []
            if svc.propagate_tags == "SERVICE":
                tags = list(svc.tags)
            elif svc.propagate_tags == "TASK_DEFINITION":
                tags = list(td.tags)
            if svc.enable_ecs_managed_tags:
                tags += [
                    {"key": "aws:ecs:clusterName", "value": cluster.name},
                    {"key": "aws:ecs:serviceName", "value": svc.name},
                ]
            return self._new_task(
                cluster,
                td,
                index=deployment.launched,
                launch_type=launch_type,
                strategy=strategy,
                group=f"service:{svc.name}",
                started_by=deployment.id,  # ECS's scheduler starts tasks as "ecs-svc/<deployment id>"
                overrides={},
                tags=tags,
                network=self._network(deployment.network_configuration),
                platform_version=svc.platform_version,
                enable_execute_command=svc.enable_execute_command,
                now=now,
                stamp=stamp,
            )

        return launch

    def sim_create_service(self, params: dict[str, Any]) -> SimService:
        cluster = self._active_cluster(params.get("cluster") or "default")
        name = params.get("serviceName") or ""
        fingerprint = _fingerprint(params, drop=("clientToken",))
        token = params.get("clientToken")
        existing = self.services.get(f"{cluster.name}:{name}")
        if existing is not None and existing.status != "INACTIVE":
            known = self.service_tokens.get((cluster.name, token)) if token else None
            if known and known[1] is existing and known[0] == fingerprint:
                return known[1]  # same clientToken, same request: the service it created
            if existing.status == "DRAINING":
                raise InvalidParameterException("Unable to Start a service that is still Draining.")
            raise InvalidParameterException("Creation of service was not idempotent.")
        if not params.get("taskDefinition"):
            raise InvalidParameterException("TaskDefinition must be provided.")
        td = self.describe_task_definition(params["taskDefinition"])
        launch_type, strategy = self._placement(
            cluster, params.get("launchType"), params.get("capacityProviderStrategy")
        )
        try:
            rules.check_launch(launch_type, strategy, td.compatibilities, td.status)
        except rules.RuleError as err:
            raise error(err) from None
        self._network(params.get("networkConfiguration"))  # checked now; kept as given (the default group is the ENI's)
        _check_deployment_configuration(params.get("deploymentConfiguration"))
        request = {**params, "launchType": launch_type, "capacityProviderStrategy": strategy}
        svc = SimService(cluster, self, td, request, wall())
        self.services[f"{cluster.name}:{name}"] = svc
        if token:
            self.service_tokens[(cluster.name, token)] = (fingerprint, svc)
        return svc

    def sim_update_service(self, params: dict[str, Any]) -> SimService:
        cluster = self._get_cluster(params.get("cluster") or "default")
        svc = self._service(cluster, params["service"])
        if svc.status != "ACTIVE":
            raise ECSException("ServiceNotActiveException", "Service was not ACTIVE.")
        stamp = wall()
        before = svc.revision()
        if "taskDefinition" in params:
            td = self.describe_task_definition(params["taskDefinition"])
            launch_type, strategy = (
                svc.launch_type,
                params.get("capacityProviderStrategy", svc.capacity_provider_strategy),
            )
            try:
                rules.check_launch(launch_type, strategy, td.compatibilities, td.status)
            except rules.RuleError as err:
                raise error(err) from None
            svc.task_definition = td.arn
        if "networkConfiguration" in params:
            self._network(params["networkConfiguration"])
            svc.network_configuration = params["networkConfiguration"] or {}
        for member in scheduler.REVISION_MEMBERS[2:]:
            if member in params:
                setattr(svc, scheduler._ATTRIBUTE[member], params[member])
        if "deploymentConfiguration" in params:
            _check_deployment_configuration({**svc.deployment_configuration, **params["deploymentConfiguration"]})
            scheduler.update_deployment_configuration(svc, params["deploymentConfiguration"])
        for member, attribute in (
            ("healthCheckGracePeriodSeconds", "health_check_grace_period_seconds"),
            ("propagateTags", "propagate_tags"),
            ("enableECSManagedTags", "enable_ecs_managed_tags"),
            ("placementConstraints", "placement_constraints"),
            ("placementStrategy", "placement_strategy"),
            # model: UpdateServiceRequest.availabilityZoneRebalancing: unset keeps the service's value
            ("availabilityZoneRebalancing", "availability_zone_rebalancing"),
        ):
            if member in params:
                setattr(svc, attribute, params[member])
        if "desiredCount" in params:
            svc.desired_count = int(params["desiredCount"])
            svc.primary.desired_count = svc.desired_count
            svc.primary.breaker["threshold"] = rules.circuit_breaker_threshold(svc.desired_count)
            svc.steady = False
        if svc.revision() != before or params.get("forceNewDeployment"):
            svc.start_deployment(stamp, sources=list(svc.sim_deployments))
        return svc

    def sim_delete_service(self, cluster_ref: str, ref: str, force: bool) -> SimService:
        """DeleteService: DRAINING while its tasks stop (ServiceSchedulerInitiated), then INACTIVE."""
        cluster = self._get_cluster(cluster_ref)
        svc = self._service(cluster, ref)
        if svc.status != "ACTIVE":
            raise ECSException("ServiceNotActiveException", "Service was not ACTIVE.")
        if svc.desired_count > 0 and not force:
            raise InvalidParameterException("The service cannot be stopped while it is scaled above 0.")
        svc.status, svc.desired_count = "DRAINING", 0
        for deployment in svc.sim_deployments:
            deployment.desired_count = 0
        now, stamp = mono(), wall()
        for task in scheduler.reconcile(svc, self._launcher(now, stamp), now, stamp):
            ecs_events.task_state_change(task, stamp)
            self._wake(task, now, stamp)
        return svc

    def sim_list_services(self, params: dict[str, Any]) -> tuple[list[str], str | None]:
        """DeleteService: a DRAINING service "is no longer visible in ... the ListServices API operation"."""
        cluster = self._get_cluster(params.get("cluster") or "default")
        arns = sorted(
            s.arn
            for s in self.services.values()
            if s.cluster_name == cluster.name
            and s.status == "ACTIVE"
            and (params.get("launchType") in (None, s.launch_type))
            and (params.get("schedulingStrategy") in (None, s.scheduling_strategy))
        )
        return _page(arns, params, LIST_SERVICES_PAGE)

    def sim_list_task_definitions(self, params: dict[str, Any]) -> tuple[list[str], str | None]:
        """ListTaskDefinitions in pages, "lexicographically by family name and in ascending numerical order
        by revision" (model: ListTaskDefinitionsRequest.sort; DESC reverses both)."""
        family = cast(str, params.get("familyPrefix"))  # moto: None lists every family (its hint says str)
        arns = self.list_task_definitions(family, params.get("status") or "ACTIVE")

        def key(arn: str) -> tuple[str, int]:
            family, revision = arn.rsplit("/", 1)[-1].rsplit(":", 1)
            return family, int(revision)

        arns.sort(key=key, reverse=params.get("sort") == "DESC")
        return _page(arns, params, LIST_TASK_DEFINITIONS_PAGE)

    def sim_list_task_definition_families(self, params: dict[str, Any]) -> tuple[list[str], str | None]:
        """ListTaskDefinitionFamilies with its status filter and paging (moto ignores both).

        model: ListTaskDefinitionFamiliesRequest.status ("By default, both ACTIVE and INACTIVE task
        definition families are listed ... ACTIVE, only task definition families that have an ACTIVE
        task definition revision"), .familyPrefix ("names that begin with the familyPrefix string"),
        .maxResults (up to 100 a page, with a nextToken). Families whose revisions were all deleted
        are no longer registered and not listed.
        """
        prefix, status = str(params.get("familyPrefix") or ""), params.get("status") or "ALL"
        families = []
        for family, revisions in self.task_definitions.items():
            states = {td.status for td in revisions.values()}
            active = "ACTIVE" in states
            if not family.startswith(prefix) or not states & {"ACTIVE", "INACTIVE"}:
                continue
            if status == "ALL" or (status == "ACTIVE") == active:
                families.append(family)
        return _page(sorted(families), params, LIST_TASK_DEFINITIONS_PAGE)

    def sim_list_service_deployments(self, params: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
        cluster = self._get_cluster(params.get("cluster") or "default")
        svc = self._service(cluster, params["service"])
        statuses = params.get("status") or []
        window = params.get("createdAt") or {}
        found = [
            scheduler.brief(svc, d)
            for d in svc.history
            if (not statuses or d.sd_status in statuses)
            and (window.get("after") is None or d.created_at.timestamp() >= _seconds(window["after"]))
            and (window.get("before") is None or d.created_at.timestamp() <= _seconds(window["before"]))
        ]
        items, token = _page(list(range(len(found))), params, 20)
        return [found[i] for i in items], token

    def _deployments(self) -> dict[str, tuple[SimService, Deployment]]:
        return {
            scheduler.deployment_arn(svc, d): (svc, d)
            for svc in self.services.values()
            if isinstance(svc, SimService)
            for d in svc.history
        }

    def _deployment(self, arn: str) -> tuple[SimService, Deployment]:
        found = self._deployments().get(arn)
        if found is None:
            raise ECSException("ServiceDeploymentNotFoundException", "The service deployment does not exist.")
        return found

    def sim_stop_service_deployment(self, arn: str, stop_type: str | None) -> str:
        """StopServiceDeployment: ROLLBACK (the model: "The valid values are ROLLBACK"), on the next scheduler pass."""
        if (stop_type or "ROLLBACK") != "ROLLBACK":
            raise InvalidParameterException("The valid values for stopType are ROLLBACK.")
        svc, deployment = self._deployment(arn)
        if deployment.sd_status not in ("PENDING", "IN_PROGRESS") or deployment is not svc.primary:
            raise ECSException(
                "ConflictException", f"The service deployment is {deployment.sd_status}; it cannot be stopped."
            )
        deployment.sd_status, deployment.sd_status_reason = "ROLLBACK_REQUESTED", scheduler.STOPPED_BY_USER
        deployment.stop_requested = scheduler.STOPPED_BY_USER
        deployment.touch(wall())
        return arn

    def sim_continue_service_deployment(self, arn: str, hook_id: str, action: str | None) -> str:
        """ContinueServiceDeployment: CONTINUE (the default) or ROLLBACK a PAUSE hook AWAITING_ACTION."""
        _, deployment = self._deployment(arn)
        st = deployment.staged
        if st is None or not staged.continue_hook(st, hook_id, action or "CONTINUE"):
            raise InvalidParameterException(f"The lifecycle hook {hook_id} is not awaiting action in this deployment.")
        deployment.touch(wall())
        return arn

    def sim_describe_service_revisions(self, arns: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        index = {
            scheduler.revision_arn(svc, d): (svc, d)
            for svc in self.services.values()
            if isinstance(svc, SimService)
            for d in [*svc.history, *svc.sim_deployments]
        }
        found, failures = [], []
        for arn in arns:
            if arn in index:
                found.append(scheduler.service_revision(*index[arn]))
            else:
                failures.append({"arn": arn, "reason": "MISSING"})
        return found, failures

    def sim_describe_service_deployments(self, arns: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        index = self._deployments()
        found, failures = [], []
        for arn in arns:
            if arn in index:
                found.append(scheduler.detail(*index[arn]))
            else:
                failures.append({"arn": arn, "reason": "MISSING"})
        return found, failures


def _check_deployment_configuration(config: dict[str, Any] | None) -> None:
    try:
        staged.check(config or {})
    except staged.ConfigurationError as err:
        raise InvalidParameterException(str(err)) from None


def _provider_for(strategy: list[dict[str, Any]] | None, index: int) -> str | None:
    """The capacity provider of the index-th task: `base` tasks first, then by `weight`."""
    if not strategy:
        return None
    based = [s for s in strategy if int(s.get("base") or 0) > 0]
    if based and index < int(based[0]["base"]):
        return str(based[0]["capacityProvider"])
    weighted = [s for s in strategy if int(s.get("weight") or 0) > 0] or strategy[:1]
    total = sum(max(1, int(s.get("weight") or 0)) for s in weighted)
    slot = index % total
    for s in weighted:
        slot -= max(1, int(s.get("weight") or 0))
        if slot < 0:
            return str(s["capacityProvider"])
    return str(weighted[-1]["capacityProvider"])


def _seconds(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def _merge_tags(base: list[dict[str, str]], extra: list[dict[str, str]]) -> list[dict[str, str]]:
    merged = {t["key"]: t["value"] for t in base}
    merged.update({t["key"]: t["value"] for t in extra})
    return [{"key": k, "value": v} for k, v in merged.items()]


def _page(items: list[Any], params: dict[str, Any], default_size: int) -> tuple[list[Any], str | None]:
    """maxResults / nextToken paging (the token is the opaque offset)."""
    size = int(params.get("maxResults") or default_size)
    start = int(params.get("nextToken") or 0) if str(params.get("nextToken") or "0").isdigit() else 0
    end = start + max(1, size)
    return items[start:end], (str(end) if end < len(items) else None)
