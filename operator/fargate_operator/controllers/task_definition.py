"""FargateTaskDefinition's controller: register on change, win or yield the family race, retire, delete.

The common create costs one ECS call (the fast path): a new object's first attempt whose family
the family index has not seen registers at once, and revision 1 says the family began with it.
Everything else takes the careful path: look at the family's latest revision (adoption, or one
an earlier attempt registered before a crash), register only when it is not there, then decide
whose the family is (ownership.family_claim: the owner of its lowest owner-tagged ACTIVE
revision). Two objects that both found the family free agree on the winner; the loser takes its
revision back. What the watch cache knows (another object's recorded revisions, revisions in
use) comes in with `Desired`; Events go out through `say` (controllers/events.py): this module knows neither Kopf
nor the Kubernetes client.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from fargate_operator.controllers.base import Ecs, Verdict
from fargate_operator.controllers.events import Say
from fargate_operator.ecs import owner_gate
from fargate_operator.ecs.errors import EcsError
from fargate_operator.ecs.gateway import DELETE_TASK_DEFINITIONS_BATCH
from fargate_operator.models.ownership import (
    OWNER_TAG_KEYS,
    SPEC_HASH_TAG,
    AdoptionRefused,
    Claim,
    Owner,
    check_claim,
    claim,
    family_claim,
    owner_named_in,
    tag_dict,
)
from fargate_operator.models.status import TaskDefinitionStatus
from fargate_operator.reconcile import task_definition as logic

# An unrecorded revision is the family's newest but one or two (a racing writer): this many are looked at.
UNRECORDED_LOOKUP_MAX = 5
Tags = list[dict[str, str]]


class Families(Protocol):
    """ecs.families.FamilyIndex: which families are known to have no ACTIVE revision."""

    async def is_new(self, family: str) -> bool: ...

    def note_registered(self, family: str) -> None: ...


@dataclass(frozen=True)
class Holder:
    """Another FargateTaskDefinition that recorded a revision of the family where this one acts."""

    namespace: str
    name: str
    deleting: bool


@dataclass(frozen=True)
class Desired:
    """The object, what its status recorded, and what the watch cache says around it."""

    owner: Owner
    spec: dict[str, Any]
    retained: frozenset[str] = frozenset()  # status.retainedRevisions: this object's, known without asking
    first_attempt: bool = False  # a new object's first try: the fast path may register without looking
    holder: Holder | None = None
    in_use: Callable[[], set[str]] = set  # revisions services and tasks use (asked only when retiring)

    @property
    def family(self) -> str:
        return str(self.spec["family"])

    @property
    def adoption(self) -> str:
        return str(self.spec.get("adoptionPolicy", "CreateOnly"))

    @property
    def delete_deregistered(self) -> bool:
        return bool(self.spec.get("deleteDeregisteredRevisions"))


@dataclass(frozen=True)
class Registered:
    """The revision the object now stands on, and the family's ACTIVE revisions it keeps."""

    family: str
    revision: int
    arn: str
    digest: str
    kept: list[str] = field(default_factory=list)

    def status(self) -> TaskDefinitionStatus:
        return {
            "family": self.family,
            "revision": self.revision,
            "taskDefinitionArn": self.arn,
            "specHash": self.digest,
            "retainedRevisions": [
                {"revision": logic.revision_of(a), "taskDefinitionArn": a, "status": "ACTIVE"} for a in self.kept
            ],
        }

    @property
    def verdict(self) -> Verdict:
        return Verdict(True, False, False, "Registered", f"revision {self.revision}")


@dataclass(frozen=True)
class FamilyVerdict:
    claim: Claim
    revision: str | None
    tags: Tags | None


@dataclass(frozen=True)
class Plan:
    """After registering: refuse (lost the family race; the new revision is taken back) or retire."""

    refused: str | None = None
    retire: list[str] = field(default_factory=list)


def up_to_date(desired: Desired, status: TaskDefinitionStatus) -> bool:
    """Whether status already records a revision of exactly this spec: nothing to ask ECS."""
    _, digest = logic.register_request(dict(desired.spec), desired.owner)
    return bool(status.get("specHash") == digest and status.get("taskDefinitionArn"))


def held(family: str, holder: Holder) -> Exception:
    """The refusal when another object records revisions of the family (retried while that one goes)."""
    why = (
        f"family {family} is held by FargateTaskDefinition {holder.namespace}/{holder.name}, which recorded "
        "revisions of it (ACTIVE or not); two objects cannot manage one family"
    )
    if holder.deleting:  # it is going: try again once its finalizer is done
        return EcsError("RegisterTaskDefinition", "FamilyHeld", f"{why} (that object is being deleted)", None)
    return AdoptionRefused(why)


def plan(desired: Desired, arn: str, active: list[str], verdict: FamilyVerdict, in_use: Callable[[], set[str]]) -> Plan:
    """What follows a registration: the family race's outcome, else the superseded revisions to retire."""
    if verdict.claim is Claim.OTHER:
        return Plan(
            refused=f"family {desired.family} is owned by {owner_named_in(verdict.tags)} (its lowest revision, "
            f"{verdict.revision}); two objects cannot manage one family, so {arn} was deregistered"
        )
    keep = int(desired.spec.get("revisionHistoryLimit", 10))
    return Plan(retire=logic.revisions_to_retire(active, arn, keep, in_use()))


async def latest(ecs: Ecs, family: str) -> tuple[dict[str, Any] | None, Tags]:
    """The family's latest ACTIVE revision and its tags, or None when the family has none."""
    try:
        resp = await ecs.call("DescribeTaskDefinition", taskDefinition=family, include=["TAGS"])
    except EcsError as err:
        if err.code == "ClientException" and not err.transient:
            return None, []  # ECS: "Unable to describe task definition."
        raise
    found = resp.get("taskDefinition")
    if found is None or found.get("status") != "ACTIVE":
        return None, []  # only INACTIVE revisions left: the family is free again
    return found, resp.get("tags", [])


async def active_revisions(ecs: Ecs, family: str) -> list[str]:
    arns = await ecs.list_all("ListTaskDefinitions", "taskDefinitionArns", familyPrefix=family, status="ACTIVE")
    return [a for a in arns if a.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family]


async def family_verdict(ecs: Ecs, owner: Owner, active: list[str], ours: set[str]) -> FamilyVerdict:
    """ownership.family_claim, asking ECS for the tags of each revision it needs (lowest first)."""
    tags_of: dict[str, Tags | None] = {}
    while isinstance(step := family_claim(owner, active, ours, tags_of), str):
        try:
            resp = await ecs.call("DescribeTaskDefinition", taskDefinition=step, include=["TAGS"])
            tags_of[step] = resp.get("tags") or []
        except EcsError as err:
            if err.transient:
                raise
            tags_of[step] = None  # gone meanwhile (deleted): it decides nothing
    return FamilyVerdict(step.claim, step.revision, tags_of.get(step.revision) if step.revision else None)


async def owned_revisions(ecs: Ecs, owner: Owner, arns: list[str], adoption_policy: str) -> list[owner_gate.Owned]:
    """The revisions of `arns` the owner gate admits: this object's by owner tag, or untagged ones of a family
    it adopted (one DescribeTaskDefinition each; revisions gone meanwhile are left out)."""
    found = []
    for arn in arns:
        try:
            resp = await ecs.call("DescribeTaskDefinition", taskDefinition=arn, include=["TAGS"])
        except EcsError as err:
            if err.transient:
                raise
            continue  # gone meanwhile
        if (target := owner_gate.owned(owner, resp, adoption_policy=adoption_policy)) is not None:
            found.append(target)
    return found


async def _delete(ecs: Ecs, targets: list[owner_gate.Owned]) -> None:
    for start in range(0, len(targets), DELETE_TASK_DEFINITIONS_BATCH):
        await ecs.write("DeleteTaskDefinitions", targets[start : start + DELETE_TASK_DEFINITIONS_BATCH])


async def retire(ecs: Ecs, say: Say, targets: list[owner_gate.Owned], delete: bool) -> None:
    arns = [t.arn for t in targets]
    for target in targets:
        await ecs.write("DeregisterTaskDefinition", target)
    if arns:
        await say("Deregistered", f"DeregisterTaskDefinition {', '.join(arns)}")
    if delete and arns:
        await _delete(ecs, targets)
        await say("DeletedRevisions", f"DeleteTaskDefinitions {', '.join(arns)}")


async def _register(ecs: Ecs, say: Say, families: Families, request: dict[str, Any], family: str) -> dict[str, Any]:
    """RegisterTaskDefinition's answer: the revision, and its tags beside it (the owner gate reads them)."""
    answer: dict[str, Any] = await ecs.call("RegisterTaskDefinition", **request)
    families.note_registered(family)
    await say("Registered", f"RegisterTaskDefinition {answer['taskDefinition']['taskDefinitionArn']}")
    return answer


def _own_new(owner: Owner, answer: dict[str, Any]) -> owner_gate.Owned:
    """The revision this object just registered (RegisterTaskDefinition's answer, tags included)."""
    target = owner_gate.owned(owner, answer)
    if target is None:  # ECS answered without the tags it was given: nothing may act on it blind
        raise EcsError("RegisterTaskDefinition", "TagsMissing", "ECS's answer carries no owner tags", None)
    return target


async def _undo_if_family_appeared(
    ecs: Ecs, say: Say, desired: Desired, mine: owner_gate.Owned, active: list[str]
) -> None:
    """Registered first into a family the index had not seen, and ECS made revision N+1 > 1.

    Only INACTIVE revisions before it: the family was free, and is now this object's. Another
    ACTIVE revision: the family appeared after the walk (another object, or someone outside the
    operator). Whose it is, and whether this object may adopt it, is the careful path's question:
    take this revision back and let the retry ask it.
    """
    others = [a for a in active if a != mine.arn]
    if others:
        await retire(ecs, say, [mine], desired.delete_deregistered)
        raise EcsError(
            "RegisterTaskDefinition",
            "FamilyAppeared",
            f"family {desired.family} has other ACTIVE revisions ({', '.join(others[:3])}) that were not there a "
            f"moment ago; {mine.arn} was deregistered and ownership is checked again",
            None,  # no HTTP status: transient, so Kopf retries -- the careful way (retry > 0)
        )


async def _reuse_or_register(
    ecs: Ecs, say: Say, families: Families, desired: Desired, request: dict[str, Any], digest: str
) -> dict[str, Any]:
    """The careful path: look at the family's latest revision first (adoption, or a revision an
    earlier attempt registered before a crash), then register only if it is not already there.
    Returns the answer naming the revision and its tags."""
    family, owner = desired.family, desired.owner
    found, tags = await latest(ecs, family)
    if found is None and desired.adoption == "Adopt":
        raise AdoptionRefused(f"task definition family {family} has no ACTIVE revision and adoptionPolicy is Adopt")
    if found is not None and check_claim(owner, tags, desired.adoption, f"family {family}"):
        await say("Adopted", f"adopting task definition family {family}")
    if found is not None and claim(owner, tags) is Claim.OURS and tag_dict(tags).get(SPEC_HASH_TAG) == digest:
        return {"taskDefinition": found, "tags": tags}  # registered before a crash or restart: reuse it
    return await _register(ecs, say, families, request, family)


async def reconcile(ecs: Ecs, say: Say, families: Families, desired: Desired) -> Registered:
    """Register the spec (once), decide the family race, retire superseded revisions.

    Raises AdoptionRefused (permanent) and EcsError (transient ones retry)."""
    owner, family = desired.owner, desired.family
    request, digest = logic.register_request(dict(desired.spec), owner)
    if desired.holder is not None:
        raise held(family, desired.holder)
    answer = None
    if desired.first_attempt and await families.is_new(family):
        answer = await _register(ecs, say, families, request, family)  # the common path: one ECS call
    if answer is not None and answer["taskDefinition"]["revision"] == 1:
        # The family began with this revision: it is this object's, and holds nothing else.
        arn = answer["taskDefinition"]["taskDefinitionArn"]
        return Registered(family, 1, arn, digest, [arn])
    registered_first = answer is not None
    if answer is None:
        answer = await _reuse_or_register(ecs, say, families, desired, request, digest)
    registered, mine = answer["taskDefinition"], _own_new(owner, answer)
    arn = registered["taskDefinitionArn"]
    active = await active_revisions(ecs, family)
    if registered_first:
        await _undo_if_family_appeared(ecs, say, desired, mine, active)
    verdict = await family_verdict(ecs, owner, active, {arn, *desired.retained})
    step = plan(desired, arn, active, verdict, desired.in_use)
    if step.refused is not None:
        # Lost a race for the family: take back what we registered, leave the family to its owner.
        await retire(ecs, say, [mine], desired.delete_deregistered)
        raise AdoptionRefused(step.refused)
    targets = await owned_revisions(ecs, owner, step.retire, desired.adoption)
    await retire(ecs, say, targets, desired.delete_deregistered)
    gone = {t.arn for t in targets}
    kept = sorted((a for a in active if a not in gone), key=logic.revision_of, reverse=True)
    return Registered(family, int(registered["revision"]), arn, digest, kept)


async def unrecorded_revisions(ecs: Ecs, owner: Owner, family: str) -> list[owner_gate.Owned]:
    """Revisions of this object that status never recorded: RegisterTaskDefinition reached ECS and the
    operator stopped before the status patch (a crash, a lost answer), and the object was deleted
    before a retry. Found by owner tag among the family's newest ACTIVE revisions (ECS itself is
    asked: the family index may not list a family registered moments ago, nor one registered before
    a restart)."""
    newest = sorted(await active_revisions(ecs, family), key=logic.revision_of, reverse=True)
    return await owned_revisions(ecs, owner, newest[:UNRECORDED_LOOKUP_MAX], "CreateOnly")


async def delete(ecs: Ecs, say: Say, desired: Desired, recorded: bool) -> None:
    """On deletion, by deletionPolicy: Retain leaves the object's revisions registered and untagged; Delete
    deregisters them (and deletes those nothing uses, with deleteDeregisteredRevisions). Only revisions the
    owner gate admits are touched: another object may have registered into the family since."""
    owner, family = desired.owner, desired.family
    if recorded:
        active = await owned_revisions(ecs, owner, await active_revisions(ecs, family), desired.adoption)
    else:
        active = await unrecorded_revisions(ecs, owner, family)
    if desired.spec.get("deletionPolicy") == "Retain":
        for target in active:
            await ecs.write("UntagResource", target, tagKeys=[*OWNER_TAG_KEYS, SPEC_HASH_TAG])
        await say("Retained", f"left family {family} registered (deletionPolicy Retain)")
        return
    # Deregistered revisions keep running where services use them; only deletion must spare them.
    for target in active:
        await ecs.write("DeregisterTaskDefinition", target)
    if active:
        await say("Deregistered", f"DeregisterTaskDefinition {', '.join(t.arn for t in active)}")
    if desired.delete_deregistered:
        in_use = desired.in_use()
        await _delete(ecs, [t for t in active if t.arn not in in_use])


async def deregister_named(ecs: Ecs, desired: Desired, todo: list[str], done: list[str]) -> None:
    """DeregisterTaskDefinition asked through the ECS API adapter: exactly the named revisions that are this
    object's. Each one is appended to `done` as it goes, so a failure midway still tells what was done."""
    for target in await owned_revisions(ecs, desired.owner, todo, desired.adoption):
        await ecs.write("DeregisterTaskDefinition", target)
        done.append(target.arn)
