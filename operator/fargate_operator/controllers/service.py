"""FargateService: observe the ECS service of a name, plan create / adopt / update / delete, act through the gate.

The handler (handlers/service.py) resolves what the spec references (cluster, task definition,
tenancy) and records status; this module decides and makes the ECS calls. Every write on an
existing service names it by the `Owned` that `plan` got from the owner check of what `observe` saw.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fargate_operator.controllers.base import Ecs, Verdict
from fargate_operator.controllers.events import Say
from fargate_operator.ecs import owner_gate
from fargate_operator.ecs.errors import EcsError
from fargate_operator.models.ownership import OWNER_TAG_KEYS, AdoptionRefused, Owner
from fargate_operator.reconcile import deployment as deployment_logic
from fargate_operator.reconcile import service as logic
from fargate_operator.reconcile.cluster import Call, tag_sync_calls

LIVE = ("ACTIVE", "DRAINING")
# A deletion that finds these is done: the service (or its whole cluster) is gone already.
GONE_CODES = frozenset({"ServiceNotFoundException", "ServiceNotActiveException", "ClusterNotFoundException"})


@dataclass(frozen=True)
class Desired:
    """What the object asks for, its references resolved by the handler."""

    spec: Mapping[str, Any]
    owner: Owner
    cluster: str
    task_definition: str | None
    default_strategy: bool = False  # the cluster declares a default capacity provider strategy
    force_deployment: bool = False  # an UpdateService with forceNewDeployment was asked and not yet made

    @property
    def name(self) -> str:
        return str(self.spec["serviceName"])

    @property
    def adoption(self) -> str:
        return str(self.spec.get("adoptionPolicy", "CreateOnly"))


@dataclass(frozen=True)
class Plan:
    """Either a CreateService request, or the writes (in order) on the service `target` names."""

    create: dict[str, Any] | None = None
    target: owner_gate.Owned | None = None
    writes: list[Call] = field(default_factory=list)


def live(services: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The service ECS still runs of several answered (an INACTIVE one of the same name is history)."""
    return next((s for s in services if s.get("status") in LIVE), None)


async def observe(ecs: Ecs, cluster: str, key: str) -> dict[str, Any] | None:
    """The live ECS service named `key` (a name or ARN) in `cluster`, with its tags; None if there is none."""
    return live(await ecs.describe_services(cluster, [key]))


def create_request(desired: Desired) -> dict[str, Any]:
    return logic.create_request(
        dict(desired.spec), desired.owner, desired.cluster, desired.task_definition, desired.default_strategy
    )


def plan(desired: Desired, observed: dict[str, Any] | None) -> Plan:
    """Create when nothing has the name; else claim what does (ours, adopted, or AdoptionRefused) and update it."""
    if observed is None:
        if desired.adoption == "Adopt":
            raise AdoptionRefused(f"ECS service {desired.name} does not exist and spec.adoptionPolicy is Adopt")
        return Plan(create=create_request(desired))
    if observed.get("status") == "DRAINING":
        raise EcsError("CreateService", "ServiceDraining", f"ECS service {desired.name} is still draining", None)
    target = owner_gate.claimed(desired.owner, observed, desired.adoption, f"ECS service {desired.name}")
    writes: list[Call] = [("TagResource", {"tags": desired.owner.tags()})] if target.adopting else []
    update = logic.update_request(dict(desired.spec), desired.cluster, desired.task_definition)
    if desired.force_deployment:
        update["forceNewDeployment"] = True
    writes.append(("UpdateService", update))
    writes += tag_sync_calls(str(observed["serviceArn"]), desired.spec.get("tags"), observed.get("tags"))
    return Plan(target=target, writes=writes)


async def create(ecs: Ecs, desired: Desired, say: Say) -> dict[str, Any]:
    """CreateService with clientToken = the object's uid: a retry after a crash or a lost answer returns
    the same service rather than a second one."""
    service: dict[str, Any] = (await ecs.call("CreateService", **create_request(desired)))["service"]
    await say("Created", f"CreateService {service['serviceArn']} ({desired.task_definition})")
    return service


async def act(ecs: Ecs, desired: Desired, planned: Plan, say: Say) -> dict[str, Any]:
    """Make the planned calls; the service as ECS last answered it."""
    if planned.target is None:
        return await create(ecs, desired, say)
    writes, service = planned.writes, {}
    if planned.target.adopting:  # the TagResource that makes it ours comes first
        (operation, params), *writes = writes
        await ecs.write(operation, planned.target, **params)
        await say("Adopted", f"adopted ECS service {planned.target.arn}")
    for operation, params in writes:
        answer = await ecs.write(operation, planned.target, **params)
        if operation == "UpdateService":
            service = answer["service"]
    await say("Updated", f"UpdateService {service['serviceArn']} ({desired.task_definition})")
    return service


async def ensure(ecs: Ecs, desired: Desired, say: Say, *, first: bool) -> dict[str, Any]:
    """Bring ECS to `desired`. `first` (nothing recorded, CreateOnly, first generation): CreateService
    straight away, one ECS call; a name in use then takes the careful path, which says whose it is."""
    if first:
        try:
            return await create(ecs, desired, say)
        except EcsError as err:
            if not logic.name_taken(err.code, err.message):
                raise
    return await act(ecs, desired, plan(desired, await observe(ecs, desired.cluster, desired.name)), say)


def recorded(
    service: dict[str, Any],
    requested: str | None,
    held_revision: str | None,
    known_deployment: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The status members a create or update records: what ECS answered, the revision deployed --
    what a circuit-breaker rollback is measured against, until the next deploy (see verdict) -- and
    the service deployment the answer names when it is a new one (status.deployment.current, which
    the status loop then describes until it has finished)."""
    observed = logic.status_from(service)
    desired = logic.desired_revision(service, requested) or held_revision
    if desired:
        observed["desiredTaskDefinition"] = desired
    if (started := deployment_logic.recorded_start(known_deployment, service)) is not None:
        observed["deployment"] = started
    return observed


def verdict(
    service: dict[str, Any],
    desired: str | None = None,
    held: str | None = None,
    deployment: Mapping[str, Any] | None = None,
) -> Verdict:
    """How the service stands: rolled back or failed (Degraded), rolling out, at a lifecycle stage, paused
    at a hook or scaling (Progressing), Steady.

    `desired`: the revision this object deployed (status.desiredTaskDefinition); `held`: its current
    Degraded reason, which keeps a rollback verdict once ECS's evidence of it is gone; `deployment`:
    status.deployment (reconcile/deployment.py).
    """
    return logic.health(service, desired, held, deployment)


async def delete(ecs: Ecs, owner: Owner, cluster: str, key: str, say: Say, *, retain: bool = False) -> None:
    """Remove the object's service `key` (its recorded ARN, else its name): scale to 0, then DeleteService;
    `retain` leaves it running and only takes the owner tags off. A service that is not the object's by its
    owner tags is left alone (an ARN names whatever service now has that name); one already gone is done."""
    try:
        found = await observe(ecs, cluster, key)
        target = owner_gate.owned(owner, found) if found else None
        if target is None:
            if found is not None:
                await say(
                    "NotOwned", f"ECS service {found['serviceArn']} is not this object's (owner tags): left alone"
                )
            return
        if retain:
            await ecs.write("UntagResource", target, tagKeys=list(OWNER_TAG_KEYS))
            await say("Retained", f"left ECS service {target.arn} running (deletionPolicy Retain)")
            return
        await ecs.write("UpdateService", target, desiredCount=0)
        await ecs.write("DeleteService", target, force=True)
        await say("Deleted", f"scaled to 0 and DeleteService {target.arn}")
    except EcsError as err:
        if err.code not in GONE_CODES:
            raise
