"""Whether a namespace may use a cluster: the decision require_cluster makes, on the facts it gathers.

The facts: the tenancy policy, the namespace, its FargateClusters managing a cluster of that name (as
the watch cache holds them) and, when those and the policy do not settle it, ECS's owner tags.
"""

from __future__ import annotations

import pytest

from fargate_operator.models.facts import ClusterFacts
from fargate_operator.models.ownership import KIND_TAG, NAME_TAG, NAMESPACE_TAG
from fargate_operator.reconcile import tenancy as t

A, B = "team-a", "team-b"
ARN = "arn:aws:ecs:us-east-1:123456789012:cluster/"
SHARED = t.parse_policy({"clusters": [{"namespaces": [B], "names": ["platform"]}]})
SHARED_DEFAULT = t.parse_policy({"clusters": [{"namespaces": ["*"], "names": [t.DEFAULT_CLUSTER]}]})


def owned_by(namespace: str | None, name: str) -> ClusterFacts:
    tags = {} if namespace is None else {NAMESPACE_TAG: namespace, KIND_TAG: "FargateCluster", NAME_TAG: name}
    return ClusterFacts(name, ARN + name, tags)


def accepted(name: str) -> t.ClusterClaim:
    return t.ClusterClaim(name, ARN + name, pending=False)


def test_another_namespaces_cluster_is_refused_naming_its_owner() -> None:
    refusal = t.cluster_decision(t.DEFAULT_POLICY, B, "a1", [], owned_by(A, "a1"))
    assert isinstance(refusal, str)
    assert f"may not be used from namespace {B}" in refusal and f"owned by namespace {A}" in refusal
    assert not t.cluster_known_usable(t.DEFAULT_POLICY, B, "a1", [])  # so ECS is asked


def test_a_policy_sharing_a_cluster_with_others_still_refuses_it_here() -> None:
    assert isinstance(t.cluster_decision(SHARED, A, "platform", [], owned_by("platform", "platform")), str)


def test_a_namespaces_own_accepted_cluster_is_allowed_without_asking_ecs() -> None:
    assert t.cluster_known_usable(t.DEFAULT_POLICY, A, "a1", [accepted("a1")])
    assert t.cluster_known_usable(t.DEFAULT_POLICY, A, ARN + "a1", [accepted("a1")])
    assert t.cluster_decision(t.DEFAULT_POLICY, A, "a1", [accepted("a1")], None) is None


def test_an_arn_other_than_the_accepted_one_is_not_the_namespaces_own() -> None:
    elsewhere = "arn:aws:ecs:eu-west-1:123456789012:cluster/a1"
    assert not t.cluster_known_usable(t.DEFAULT_POLICY, A, elsewhere, [accepted("a1")])
    assert isinstance(t.cluster_decision(t.DEFAULT_POLICY, A, elsewhere, [accepted("a1")], None), str)


def test_a_cluster_ecs_tags_with_the_namespace_is_allowed() -> None:
    assert t.cluster_decision(t.DEFAULT_POLICY, A, "a1", [], owned_by(A, "a1")) is None


def test_a_cluster_the_policy_shares_is_allowed_without_asking_ecs() -> None:
    assert t.cluster_known_usable(SHARED, B, "platform", [])
    assert t.cluster_decision(SHARED, B, "platform", [], owned_by("platform", "platform")) is None


@pytest.mark.parametrize(("policy", "allowed"), [(t.DEFAULT_POLICY, False), (SHARED_DEFAULT, True)])
def test_the_implicit_default_cluster_is_allowed_only_when_shared(policy: t.Policy, allowed: bool) -> None:
    decision = t.cluster_decision(policy, A, t.DEFAULT_CLUSTER, [], owned_by(None, "default"), implicit=True)
    if allowed:
        assert decision is None
    else:
        assert isinstance(decision, str) and "no cluster is named" in decision and "'default'" in decision


def test_a_pending_own_cluster_not_in_ecs_yet_is_waited_for_not_refused() -> None:
    pending = t.ClusterClaim("a1", None, pending=True)
    assert t.cluster_decision(t.DEFAULT_POLICY, A, "a1", [pending], None) == t.NotYet(
        f"FargateCluster {A}/a1 has no ECS cluster yet"
    )


def test_a_refused_own_cluster_not_in_ecs_is_refused() -> None:
    refused = t.ClusterClaim("a1", None, pending=False)
    decision = t.cluster_decision(t.DEFAULT_POLICY, A, "a1", [refused], None)
    assert isinstance(decision, str) and "it does not exist" in decision
