"""What every handler and loop shares: config, the ECS gateway and the watch cache."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from fargate_operator.config import OperatorConfig
from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.ecs.owners import OwnerLookups
from fargate_operator.models.kinds import SERVICE, TASK
from fargate_operator.reconcile.task import TERMINAL
from fargate_operator.store.registry import Registry
from fargate_operator.tenancy_config import PolicySource


@dataclass
class Runtime:
    config: OperatorConfig
    gateway: EcsGateway
    registry: Registry
    # Tasks that owned FargateServices started, as ECS describes them: service ARN -> task ARN -> task.
    # Kept in memory only (refreshed by the status loop), never written to Kubernetes.
    service_tasks: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # Which clusters, task definitions and roles each namespace may use (README "Tenancy").
    tenancy: PolicySource = field(default_factory=PolicySource)
    owners: OwnerLookups = field(init=False)  # owner tags of what specs name directly, kept briefly
    # Handler bodies running at once (handlers/slots.py); sized from config in __post_init__.
    work_slots: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self.owners = OwnerLookups(self.gateway)
        self.work_slots = asyncio.Semaphore(self.config.max_workers)

    def task_definitions_in_use(self) -> set[str]:
        """Revisions a FargateService runs (any deployment) or a live FargateTask uses."""
        in_use: set[str] = set()
        for svc in self.registry.items(SERVICE):
            status = svc.get("status", {})
            if status.get("taskDefinition"):
                in_use.add(status["taskDefinition"])
            in_use.update(d["taskDefinition"] for d in status.get("deployments", []) if d.get("taskDefinition"))
        for task in self.registry.items(TASK):
            status = task.get("status", {})
            if status.get("phase") not in TERMINAL and status.get("taskDefinitionArn"):
                in_use.add(status["taskDefinitionArn"])
        return in_use


def runtime_of(memo: Any) -> Runtime:
    rt: Runtime = memo.runtime
    return rt
