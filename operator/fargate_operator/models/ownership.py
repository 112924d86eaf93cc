"""Who owns an ECS resource: tags naming the Kubernetes object that manages it.

ECS names are global to an account and region, Kubernetes names are per
namespace: the owner tags decide which object manages a name. Adoption of an
unowned resource happens only when the object asks for it (adoptionPolicy).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from fargate_operator.models.kinds import TASK_DEFINITION

TAG_PREFIX = "ecs.fargate.dev/"
UID_TAG = TAG_PREFIX + "uid"
NAMESPACE_TAG = TAG_PREFIX + "namespace"
NAME_TAG = TAG_PREFIX + "name"
KIND_TAG = TAG_PREFIX + "kind"
SPEC_HASH_TAG = TAG_PREFIX + "spec-hash"
OWNER_TAG_KEYS = (UID_TAG, NAMESPACE_TAG, NAME_TAG, KIND_TAG)

# botocore's ECS model, shape Tags ("max": 50) and Tag: "Maximum number of tags per resource -
# 50"; keys with the aws: prefix (any case) are AWS's: "You cannot edit or delete tag keys or
# values with this prefix. Tags with this prefix do not count against your tags per resource limit."
ECS_TAG_LIMIT = 50
RESERVED_TAG_PREFIX = "aws:"


def reserved(key: str) -> bool:
    """An aws: key: AWS's (e.g. CloudFormation's on an adopted resource), never ours to change."""
    return key.lower().startswith(RESERVED_TAG_PREFIX)


def operator_tag_keys(kind: str) -> tuple[str, ...]:
    """The tags the operator adds to what it creates for `kind` (revisions also carry the spec hash)."""
    return (*OWNER_TAG_KEYS, SPEC_HASH_TAG) if kind == TASK_DEFINITION else OWNER_TAG_KEYS


def user_tag_limit(kind: str) -> int:
    """How many tags spec.tags may hold so that ours still fit in ECS's 50."""
    return ECS_TAG_LIMIT - len(operator_tag_keys(kind))


@dataclass(frozen=True)
class Owner:
    kind: str
    namespace: str
    name: str
    uid: str

    @classmethod
    def of(cls, body: Any) -> Owner:
        meta = body["metadata"]
        return cls(body["kind"], meta["namespace"], meta["name"], meta["uid"])

    def tags(self) -> list[dict[str, str]]:
        return [
            {"key": UID_TAG, "value": self.uid},
            {"key": NAMESPACE_TAG, "value": self.namespace},
            {"key": NAME_TAG, "value": self.name},
            {"key": KIND_TAG, "value": self.kind},
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


class Claim(Enum):
    OURS = "ours"  # tagged with our uid
    OTHER = "other"  # tagged with another object's uid
    UNOWNED = "unowned"  # exists, no owner tags


def tag_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["key"]: t.get("value", "") for t in tags or []}


def claim(owner: Owner, tags: list[dict[str, str]] | None) -> Claim:
    found = tag_dict(tags).get(UID_TAG)
    if found is None:
        return Claim.UNOWNED
    return Claim.OURS if found == owner.uid else Claim.OTHER


def owner_named_in(tags: list[dict[str, str]] | None) -> str:
    t = tag_dict(tags)
    return f"{t.get(KIND_TAG, '?')} {t.get(NAMESPACE_TAG, '?')}/{t.get(NAME_TAG, '?')} (uid {t.get(UID_TAG, '?')})"


def merge_tags(user: list[dict[str, str]] | None, ours: list[dict[str, str]]) -> list[dict[str, str]]:
    """User tags plus ours; ours win on a key clash (the schema reserves nothing, so check here)."""
    our_keys = {t["key"] for t in ours}
    return [t for t in user or [] if t.get("key") not in our_keys] + ours


class AdoptionRefused(Exception):
    """The ECS name is taken and this object may not take it over."""


def check_claim(owner: Owner, tags: list[dict[str, str]] | None, adoption_policy: str, what: str) -> bool:
    """Decide whether `owner` may manage an existing resource; True when it must be tagged first."""
    state = claim(owner, tags)
    if state is Claim.OURS:
        return False
    if state is Claim.OTHER:
        raise AdoptionRefused(f"{what} is owned by {owner_named_in(tags)}; two objects cannot manage one ECS name")
    if adoption_policy in ("Adopt", "AdoptOrCreate"):
        return True
    raise AdoptionRefused(
        f"{what} already exists and no object owns it; set spec.adoptionPolicy: Adopt (or AdoptOrCreate) "
        "to manage it from this object"
    )


@dataclass(frozen=True)
class FamilyVerdict:
    """Who owns a task definition family: the claim, and the revision that decided it."""

    claim: Claim
    revision: str | None = None  # None: no revision carries owner tags


def family_claim(
    owner: Owner, active: list[str], ours: set[str], tags_of: dict[str, list[dict[str, str]] | None]
) -> FamilyVerdict | str:
    """The family's owner is the owner of its lowest ACTIVE revision that carries owner tags.

    Two objects that both found the family free may both register (revisions N and N+1);
    each then decides with this rule and they agree: the lower revision was registered first.
    Revisions in `ours` (this object's own, known without asking) decide at once; for the
    others the tags are needed: returns the ARN whose tags (into `tags_of`) it needs next,
    or the verdict. Revisions without owner tags (an adopted family's old ones) are skipped.
    """
    for arn in sorted(active, key=lambda a: int(a.rsplit(":", 1)[1])):
        if arn in ours:
            return FamilyVerdict(Claim.OURS, arn)
        if arn not in tags_of:
            return arn
        state = claim(owner, tags_of[arn])
        if state is not Claim.UNOWNED:
            return FamilyVerdict(state, arn)
    return FamilyVerdict(Claim.UNOWNED)
