"""FargateTaskDefinition: the RegisterTaskDefinition request, its hash, and which revisions to retire."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fargate_operator.reconcile.ownership import SPEC_HASH_TAG, Owner, merge_tags
from fargate_operator.reconcile.requests import ecs_members, normalize_task_size, spec_hash


def register_request(spec: dict[str, Any], owner: Owner) -> tuple[dict[str, Any], str]:
    """The request and the hash of the normalized spec (the hash travels as a tag too).

    The hash covers every ECS member, so a re-apply, a no-op update or an operator
    restart registers nothing, while any real change registers revision N+1.
    """
    req = normalize_task_size(ecs_members(spec, "RegisterTaskDefinition"))
    digest = spec_hash(req)
    req["tags"] = merge_tags(spec.get("tags"), [*owner.tags(), {"key": SPEC_HASH_TAG, "value": digest}])
    return req, digest


def revision_of(arn: str) -> int:
    return int(arn.rsplit(":", 1)[1])


def newer_revision(candidate: str, current: str) -> bool:
    """Whether `candidate` is a later revision of the same family than `current` (both ARNs)."""
    same_family = candidate.rsplit(":", 1)[0] == current.rsplit(":", 1)[0]
    return same_family and ":" in candidate and revision_of(candidate) > revision_of(current)


def revisions_to_retire(active: Iterable[str], current: str, keep: int, in_use: set[str]) -> list[str]:
    """Superseded ACTIVE revisions beyond the newest `keep`, oldest first; never the current one or one in use."""
    current_rev = revision_of(current)
    older = sorted((a for a in active if revision_of(a) < current_rev), key=revision_of, reverse=True)
    return sorted((a for a in older[keep:] if a not in in_use), key=revision_of)
