"""The owner gate: an ECS write or delete on an existing resource names it by an `Owned`, which only this module makes.

ECS names are per account and region, so an ARN in hand says nothing about whose resource it
is: a service ARN is derived from its name (another namespace's later service of the same name
has the same ARN), a bare task definition family means whatever revision is latest ACTIVE, and
status may hold an ARN that was only observed. So every mutating call on an existing resource
(WRITES below) goes out through `EcsGateway.write`, which takes the target as an `Owned`, and
`EcsGateway.call` refuses those operations. An `Owned` is made here only, from ECS's own answer
(a describe with TAGS, or the answer of the create that made the resource), when its owner uid
tag is the object's -- or, for adoption, when it carries no owner tag and the object's
adoptionPolicy takes it over (`adopting`: the TagResource that makes it ours comes first).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, final

from fargate_operator.models.ownership import Claim, Owner, check_claim, claim

# The ECS operations the operator makes on existing resources, and the request member naming the resource.
WRITES: Final[Mapping[str, str]] = {
    "UpdateService": "service",
    "DeleteService": "service",
    "DeregisterTaskDefinition": "taskDefinition",
    "DeleteTaskDefinitions": "taskDefinitions",
    "TagResource": "resourceArn",
    "UntagResource": "resourceArn",
    "StopTask": "task",
    "DeleteCluster": "cluster",
    "UpdateCluster": "cluster",
    "PutClusterCapacityProviders": "cluster",
    # A service deployment, as `deployment_of` vouches for it: one of a service the owner check found ours.
    "ContinueServiceDeployment": "serviceDeploymentArn",
    "StopServiceDeployment": "serviceDeploymentArn",
}
# Any other operation named like a change of something existing is refused until it is added above with
# its member: a new path cannot reach ECS around the gate by picking an operation the table forgot.
MUTATING_PREFIXES: Final = ("Update", "Delete", "Deregister", "Stop", "Tag", "Untag", "Put")
# Operations whose target lives in a cluster: the request's cluster is the one ECS reported it in.
IN_CLUSTER: Final = frozenset({"UpdateService", "DeleteService", "StopTask"})
ADOPTING_POLICIES: Final = ("Adopt", "AdoptOrCreate")

_SEAL: Final = object()


class UngatedWrite(TypeError):
    """A mutating ECS call on an existing resource was made without an Owned target: a bug, never sent."""


@final
class Owned:
    """An ECS resource the owner check found to be the object's (or one it adopts): the only way to name
    a resource in a write on an existing one (EcsGateway.write)."""

    __slots__ = ("adopting", "arn", "cluster", "owner")

    def __init__(self, arn: str, cluster: str | None, owner: Owner, adopting: bool, *, seal: object) -> None:
        if seal is not _SEAL:
            raise UngatedWrite("an Owned is made by the owner check only (ecs/owner_gate.py)")
        self.arn, self.cluster, self.owner, self.adopting = arn, cluster, owner, adopting

    def __repr__(self) -> str:
        return f"Owned({self.arn!r}, {self.owner}{', adopting' if self.adopting else ''})"


def _arn_and_tags(answer: Mapping[str, Any]) -> tuple[str, str | None, list[dict[str, str]] | None]:
    """The ARN, cluster and tags of an ECS answer: a service, cluster or task as described, or a
    DescribeTaskDefinition / RegisterTaskDefinition response (its tags beside the revision)."""
    revision = answer.get("taskDefinition")
    if isinstance(revision, Mapping):  # a service names its revision too, as a string
        return str(revision["taskDefinitionArn"]), None, answer.get("tags")
    for member in ("serviceArn", "taskArn"):
        if answer.get(member):
            return str(answer[member]), answer.get("clusterArn"), answer.get("tags")
    return str(answer["clusterArn"]), None, answer.get("tags")


def owned(owner: Owner, answer: Mapping[str, Any], *, adoption_policy: str = "CreateOnly") -> Owned | None:
    """The resource ECS answered with, if `owner`'s by its uid tag (or untagged and adopted by
    `adoption_policy`); None otherwise -- another object's, or not to be touched."""
    arn, cluster, tags = _arn_and_tags(answer)
    state = claim(owner, tags)
    if state is Claim.OURS:
        return Owned(arn, cluster, owner, False, seal=_SEAL)
    if state is Claim.UNOWNED and adoption_policy in ADOPTING_POLICIES:
        return Owned(arn, cluster, owner, True, seal=_SEAL)
    return None


def claimed(owner: Owner, answer: Mapping[str, Any], adoption_policy: str, what: str) -> Owned:
    """ownership.check_claim on ECS's answer: the resource as `owner` may manage it, or AdoptionRefused."""
    arn, cluster, tags = _arn_and_tags(answer)
    adopting = check_claim(owner, tags, adoption_policy, what)
    return Owned(arn, cluster, owner, adopting, seal=_SEAL)


def deployment_of(service: Owned, deployment: Mapping[str, Any]) -> Owned | None:
    """A service deployment ECS described (DescribeServiceDeployments), if it is one of `service`, which the
    owner check found the object's own (not one it is still adopting); None otherwise. A deployment carries
    no tags: whose it is follows from the service ECS says it deploys."""
    if service.adopting or not deployment.get("serviceArn") or deployment.get("serviceArn") != service.arn:
        return None
    return Owned(str(deployment["serviceDeploymentArn"]), None, service.owner, False, seal=_SEAL)


def gated(operation: str) -> bool:
    """Whether `operation` changes an existing resource: only EcsGateway.write may send it."""
    return operation in WRITES or operation.startswith(MUTATING_PREFIXES)


def request(operation: str, targets: Owned | list[Owned], params: Mapping[str, Any]) -> dict[str, Any]:
    """`params` naming `targets` (the member WRITES gives; a service's or task's cluster as ECS reported it)."""
    member = WRITES.get(operation)
    if member is None:
        raise UngatedWrite(f"{operation} is not a write on an existing resource: use EcsGateway.call")
    many = targets if isinstance(targets, list) else [targets]
    if not many or not all(isinstance(t, Owned) for t in many):
        raise UngatedWrite(f"{operation} needs an Owned target (ecs/owner_gate.py)")
    out = dict(params)
    plural = member == "taskDefinitions"
    if not plural and len(many) != 1:
        raise UngatedWrite(f"{operation} names one resource")
    out[member] = [t.arn for t in many] if plural else many[0].arn
    clusters = {t.cluster for t in many if t.cluster}
    if operation in IN_CLUSTER and clusters:
        if len(clusters) > 1:
            raise UngatedWrite(f"{operation} names resources of several clusters")
        out["cluster"] = clusters.pop()
    return out
