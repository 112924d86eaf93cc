"""The ECS actions the emulator answers itself: moto's response class, with these methods replaced or added.

Each method reads the request as ECS defines it (all members, clientToken included, which moto's
own methods drop) and hands it to SimBackend. Every action runs under clock.LOCK, so requests and
the ticker thread never see a task half-way through a change.
"""

from __future__ import annotations

import json
from typing import Any, cast

from moto.core.responses import ActionResult
from moto.ecs.responses import DESCRIBE_TASKS_TAGS, EC2ContainerServiceResponse

from fargate_ecs_sim import ecs_events
from fargate_ecs_sim.backend import SimBackend
from fargate_ecs_sim.clock import LOCK, wall


class SimResponse(EC2ContainerServiceResponse):
    @property
    def sim(self) -> SimBackend:
        return cast(SimBackend, self.ecs_backend)

    def call_action(self) -> Any:
        with LOCK:
            answer = super().call_action()
            action = self._get_action()
            if ecs_events.records(action) and int(answer[0]) < 400:
                ecs_events.api_call(self._api_call(action, answer[2]), wall())
            return answer

    def _access_key(self) -> str:
        """The SigV4 credential's key id (moto's own reader only knows upper-case AKIA-style ids)."""
        auth = str(self.headers.get("Authorization", ""))
        if "Credential=" in auth:
            return auth.split("Credential=", 1)[1].split("/", 1)[0]
        return self.get_access_key()

    def _api_call(self, action: str, body: Any) -> ecs_events.ApiCall:
        """What CloudTrail records of this request: who, from where, the request, the response."""
        try:
            response = json.loads(body) if body else None
        except (TypeError, ValueError):
            response = None
        return ecs_events.ApiCall(
            action=action,
            account=self.current_account,
            region=self.region,
            access_key=self._access_key(),
            # moto keeps no peer address; the emulator serves loopback unless told otherwise
            source_ip=str(self.headers.get("X-Forwarded-For") or "127.0.0.1"),
            user_agent=str(self.headers.get("User-Agent", "")),
            request_parameters=self._params(),
            response_elements=response if isinstance(response, dict) else None,
        )

    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = self._get_params()
        return params

    def create_cluster(self) -> ActionResult:
        return ActionResult({"cluster": self.sim.sim_create_cluster(self._params())})

    def delete_cluster(self) -> ActionResult:
        return ActionResult({"cluster": self.sim.sim_delete_cluster(self._get_param("cluster"))})

    def register_task_definition(self) -> ActionResult:
        td = self.sim.sim_register_task_definition(self._params())
        return ActionResult({"taskDefinition": td, "tags": td.tags or None})

    def run_task(self) -> ActionResult:
        tasks, failures = self.sim.sim_run_task(self._params())
        return ActionResult({"tasks": tasks, "failures": failures})

    def describe_tasks(self) -> ActionResult:
        tasks, failures = self.sim.sim_describe_tasks(
            self._get_param("cluster", "default"), self._get_param("tasks", [])
        )
        if "TAGS" in self._get_param("include", []):
            self._include_in_response(DESCRIBE_TASKS_TAGS)
        else:
            self._exclude_from_response(DESCRIBE_TASKS_TAGS)
        return ActionResult({"tasks": tasks, "failures": failures})

    def stop_task(self) -> ActionResult:
        task = self.sim.sim_stop_task(
            self._get_param("cluster", "default"), self._get_param("task"), self._get_param("reason")
        )
        return ActionResult({"task": task})

    def list_tasks(self) -> ActionResult:
        arns, token = self.sim.sim_list_tasks(self._params())
        return ActionResult({"taskArns": arns, "nextToken": token})

    def create_service(self) -> ActionResult:
        return ActionResult({"service": self.sim.sim_create_service(self._params())})

    def update_service(self) -> ActionResult:
        return ActionResult({"service": self.sim.sim_update_service(self._params())})

    def delete_service(self) -> ActionResult:
        svc = self.sim.sim_delete_service(
            self._get_param("cluster", "default"), self._get_param("service"), bool(self._get_param("force", False))
        )
        return ActionResult({"service": svc})

    def list_services(self) -> ActionResult:
        arns, token = self.sim.sim_list_services(self._params())
        return ActionResult({"serviceArns": arns, "nextToken": token})

    def list_task_definitions(self) -> ActionResult:
        arns, token = self.sim.sim_list_task_definitions(self._params())
        return ActionResult({"taskDefinitionArns": arns, "nextToken": token})

    def list_task_definition_families(self) -> ActionResult:
        families, token = self.sim.sim_list_task_definition_families(self._params())
        return ActionResult({"families": families, "nextToken": token})

    def list_service_deployments(self) -> ActionResult:
        found, token = self.sim.sim_list_service_deployments(self._params())
        return ActionResult({"serviceDeployments": found, "nextToken": token})

    def describe_service_deployments(self) -> ActionResult:
        found, failures = self.sim.sim_describe_service_deployments(self._get_param("serviceDeploymentArns", []))
        return ActionResult({"serviceDeployments": found, "failures": failures})

    def execute_command(self) -> ActionResult:
        return ActionResult(self.sim.sim_execute_command(self._params()))

    def stop_service_deployment(self) -> ActionResult:
        arn = self.sim.sim_stop_service_deployment(self._get_param("serviceDeploymentArn"), self._get_param("stopType"))
        return ActionResult({"serviceDeploymentArn": arn})

    def continue_service_deployment(self) -> ActionResult:
        arn = self.sim.sim_continue_service_deployment(
            self._get_param("serviceDeploymentArn"), self._get_param("hookId"), self._get_param("action")
        )
        return ActionResult({"serviceDeploymentArn": arn})

    def describe_service_revisions(self) -> ActionResult:
        found, failures = self.sim.sim_describe_service_revisions(self._get_param("serviceRevisionArns", []))
        return ActionResult({"serviceRevisions": found, "failures": failures})
