"""What every handler and loop shares: config, the ECS gateway and the watch cache."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from fargate_operator.config import OperatorConfig
from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.ecs.gateways import Gateways
from fargate_operator.events.modes import Modes
from fargate_operator.models.kinds import SERVICE, TASK
from fargate_operator.reconcile.accounts import (
    PlacementWaiting,
    Resolution,
    account_of_arn,
    placement,
    region_of_arn,
)
from fargate_operator.reconcile.task import TERMINAL
from fargate_operator.store.accounts import Accounts
from fargate_operator.store.watch_cache import WatchCache
from fargate_operator.tenancy_config import PolicySource

# The status members whose ARN says where an object's ECS resources are, per kind (first one set wins).
ARN_MEMBERS = ("clusterArn", "taskDefinitionArn", "serviceArn")


@dataclass
class Runtime:
    config: OperatorConfig
    gateway: EcsGateway  # the operator's own identity, in its own region
    watch_cache: WatchCache
    # Tasks that owned FargateServices started, as ECS describes them: service ARN -> task ARN -> task.
    # Kept in memory only (refreshed by the status loop), never written to Kubernetes.
    service_tasks: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # On a follower, what brings the index up to date for these FargateServices ((namespace, name)) before a
    # front door answers from it (handlers/follower_index.py); None on the leader, whose loop keeps it.
    service_tasks_for: Callable[[Collection[tuple[str, str]]], Awaitable[None]] | None = None
    # Which clusters, task definitions and roles each namespace may use (docs/tenancy.md).
    tenancy: PolicySource = field(default_factory=PolicySource)
    # Handler bodies running at once (handlers/slots.py); sized from config in __post_init__.
    work_slots: asyncio.Semaphore = field(init=False)
    # Which AWS account and region each namespace acts in, and a gateway for each in use.
    accounts: Accounts = field(init=False)
    gateways: Gateways = field(init=False)
    # Which places (account and region) events keep fresh, and which are polled (events/modes.py).
    modes: Modes = field(default_factory=Modes)
    # One status refresh at a time: the polling cycle's and the event batches' (handlers/event_status.py),
    # so drift is never judged, nor corrected, twice over at once.
    refresh_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.work_slots = asyncio.Semaphore(self.config.max_workers)
        self.accounts = Accounts(self.watch_cache)
        self.gateways = Gateways(self.gateway)

    def ecs_for(self, obj: dict[str, Any]) -> EcsGateway:
        """The gateway an object acts through: its namespace's FargateAccount, its region, and what its status
        records. Raises reconcile.accounts.PlacementWaiting (two FargateAccounts claim the namespace) or
        PlacementRefused (a region the namespace may not use, or resources left in another account)."""
        status, spec = obj.get("status") or {}, obj.get("spec") or {}
        recorded = next((status[m] for m in ARN_MEMBERS if status.get(m)), None)
        where = placement(
            self.resolve(obj["metadata"]["namespace"]),
            spec.get("region"),
            status.get("accountId") or account_of_arn(recorded),
            status.get("region") or region_of_arn(recorded),
            self.gateway.region,
            status.get("fargateAccount"),
        )
        return self.gateways.for_mapping(where.mapping, where.region)

    def resolve(self, namespace: str) -> Resolution:
        """The namespace's FargateAccount; PlacementWaiting until the watch cache has listed them all (until
        then an unmapped-looking namespace might be a mapped one, and act in the wrong account)."""
        if not self.watch_cache.synced():
            raise PlacementWaiting("waiting for the watch cache to list FargateAccounts and Namespaces")
        return self.accounts.resolve(namespace)

    def task_definitions_in_use(self) -> set[str]:
        """Revisions a FargateService runs (any deployment) or a live FargateTask uses."""
        in_use: set[str] = set()
        for svc in self.watch_cache.items(SERVICE):
            status = svc.get("status", {})
            if status.get("taskDefinition"):
                in_use.add(status["taskDefinition"])
            in_use.update(d["taskDefinition"] for d in status.get("deployments", []) if d.get("taskDefinition"))
        for task in self.watch_cache.items(TASK):
            status = task.get("status", {})
            if status.get("phase") not in TERMINAL and status.get("taskDefinitionArn"):
                in_use.add(status["taskDefinitionArn"])
        return in_use


def runtime_of(memo: Any) -> Runtime:
    rt: Runtime = memo.runtime
    return rt
