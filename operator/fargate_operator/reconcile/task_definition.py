"""FargateTaskDefinition: the RegisterTaskDefinition request, its hash, and which revisions to retire."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fargate_operator.models.ownership import SPEC_HASH_TAG, Owner, merge_tags
from fargate_operator.reconcile.requests import ecs_members, normalize_task_size, spec_hash


def content_hash(spec: dict[str, Any]) -> str:
    """Hash of the normalized RegisterTaskDefinition request a spec makes (status.specHash)."""
    return spec_hash(normalize_task_size(ecs_members(spec, "RegisterTaskDefinition")))


def register_request(spec: dict[str, Any], owner: Owner) -> tuple[dict[str, Any], str]:
    """The request and the hash of the normalized spec (the hash travels as a tag too).

    The hash covers every ECS member, so a re-apply, a no-op update or an operator
    restart registers nothing, while any real change registers revision N+1.
    """
    req = normalize_task_size(ecs_members(spec, "RegisterTaskDefinition"))
    digest = content_hash(spec)
    req["tags"] = merge_tags(spec.get("tags"), [*owner.tags(), {"key": SPEC_HASH_TAG, "value": digest}])
    return req, digest


def family_revision(task_definition: str) -> str:
    """The family:revision (or bare family) part of an ARN, a family:revision or a family."""
    return task_definition.rsplit("task-definition/", 1)[-1]


def same_revision(a: str | None, b: str | None) -> bool:
    """Whether two references name one revision; a bare family matches any revision of it."""
    if not a or not b:
        return False
    fa, fb = family_revision(a), family_revision(b)
    if ":" in fa and ":" in fb:
        return fa == fb
    return fa.split(":", 1)[0] == fb.split(":", 1)[0]


def essential_containers(container_definitions: Iterable[dict[str, Any]]) -> list[str]:
    """Names of the essential containers. botocore's ECS model, ContainerDefinition.essential:
    "If this parameter is omitted, a container is assumed to be essential."
    """
    return [c["name"] for c in container_definitions if c.get("essential", True) is not False]


def registered_essentials(ftd: dict[str, Any], task_definition: str) -> list[str] | None:
    """The essential containers of `task_definition` if it is this FargateTaskDefinition's current
    revision and the spec is still what was registered (its hash matches); None when unknown."""
    status, spec = ftd.get("status") or {}, ftd.get("spec") or {}
    current = status.get("taskDefinitionArn")
    wanted = family_revision(task_definition)
    if not current or ":" not in wanted or family_revision(current) != wanted:
        return None
    if status.get("specHash") != content_hash(spec):
        return None  # the spec moved on and is not registered (yet): it no longer describes `current`
    return essential_containers(spec.get("containerDefinitions") or [])


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
