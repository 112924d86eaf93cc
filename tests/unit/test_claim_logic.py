"""Who owns a task definition family after two objects both registered into it."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from fargate_operator.models.ownership import (
    AdoptionRefused,
    Claim,
    FamilyVerdict,
    Owner,
    check_claim,
    family_claim,
)

FAMILY = "arn:aws:ecs:us-east-1:123456789012:task-definition/web"
A = Owner("FargateTaskDefinition", "team-a", "web", "uid-a")
B = Owner("FargateTaskDefinition", "team-b", "web", "uid-b")


def rev(n: int) -> str:
    return f"{FAMILY}:{n}"


def decide(
    owner: Owner, active: list[str], ours: set[str], tags: Mapping[str, list[dict[str, str]] | None]
) -> FamilyVerdict:
    """Answer every tag request from `tags`, as the handler does from DescribeTaskDefinition."""
    known: dict[str, list[dict[str, str]] | None] = {}
    while isinstance(step := family_claim(owner, active, ours, known), str):
        known[step] = tags[step]
    return step


def test_both_racers_agree_the_lower_revision_wins() -> None:
    tags = {rev(1): A.tags(), rev(2): B.tags()}
    assert decide(A, [rev(2), rev(1)], {rev(1)}, tags) == FamilyVerdict(Claim.OURS, rev(1))
    assert decide(B, [rev(1), rev(2)], {rev(2)}, tags) == FamilyVerdict(Claim.OTHER, rev(1))


def test_own_revisions_decide_without_asking_ecs() -> None:
    assert family_claim(A, [rev(3), rev(4)], {rev(3)}, {}) == FamilyVerdict(Claim.OURS, rev(3))
    assert family_claim(A, [rev(3), rev(4)], {rev(4)}, {}) == rev(3)  # a lower revision must be asked about


def test_unowned_revisions_are_skipped() -> None:
    # An adopted family's old revisions carry no owner tags: the lowest *owned* one decides.
    tags: dict[str, list[dict[str, str]] | None] = {rev(1): [], rev(2): None, rev(5): B.tags()}
    assert decide(A, [rev(1), rev(2), rev(5), rev(6)], {rev(6)}, tags) == FamilyVerdict(Claim.OTHER, rev(5))
    assert decide(A, [rev(1), rev(6)], {rev(6)}, tags) == FamilyVerdict(Claim.OURS, rev(6))


def test_a_cluster_returned_by_createcluster_is_checked_like_an_existing_one() -> None:
    # The handler reads back the cluster CreateCluster answered with and applies check_claim to it.
    assert check_claim(A, A.tags(), "CreateOnly", "ECS cluster x") is False
    with pytest.raises(AdoptionRefused, match="FargateTaskDefinition team-b/web"):
        check_claim(A, B.tags(), "AdoptOrCreate", "ECS cluster x")
