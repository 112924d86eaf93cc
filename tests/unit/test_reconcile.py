"""Pure reconcile logic: requests, hashes, revisions, phases, conditions, ownership."""

from __future__ import annotations

import pytest

from fargate_operator.models import ownership
from fargate_operator.models.verdict import Verdict
from fargate_operator.reconcile import conditions
from fargate_operator.reconcile import service as service_logic
from fargate_operator.reconcile import task as task_logic
from fargate_operator.reconcile import task_definition as td_logic
from fargate_operator.reconcile.cluster import tag_sync_calls, update_calls
from fargate_operator.reconcile.requests import ecs_members

OWNER = ownership.Owner("FargateTask", "ns", "job", "0b3f4e7a-1111-2222-3333-444455556666")
TD = "arn:aws:ecs:us-east-1:1:task-definition/web"


def test_ecs_members_drop_kubernetes_fields() -> None:
    spec = {"family": "web", "revisionHistoryLimit": 3, "deletionPolicy": "Delete", "cpu": "256"}
    assert ecs_members(spec, "RegisterTaskDefinition") == {"family": "web", "cpu": "256"}


def test_equal_sizes_hash_equal_and_changes_do_not() -> None:
    base = {"family": "web", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "x"}]}
    _, h1 = td_logic.register_request(base, OWNER)
    _, h2 = td_logic.register_request(
        {**base, "cpu": ".25 vCPU", "memory": "0.5 GB", "deletionPolicy": "Retain"}, OWNER
    )
    _, h3 = td_logic.register_request({**base, "containerDefinitions": [{"name": "a", "image": "y"}]}, OWNER)
    assert h1 == h2 != h3


def test_register_request_tags_owner_and_hash() -> None:
    req, digest = td_logic.register_request({"family": "web", "tags": [{"key": "team", "value": "a"}]}, OWNER)
    tags = ownership.tag_dict(req["tags"])
    assert tags["team"] == "a" and tags[ownership.UID_TAG] == OWNER.uid and tags[ownership.SPEC_HASH_TAG] == digest


@pytest.mark.parametrize(
    ("active", "keep", "in_use", "retired"),
    [
        ([1, 2, 3, 4, 5], 2, set(), [1, 2]),
        ([1, 2, 3, 4, 5], 0, {2}, [1, 3, 4]),
        ([5], 0, set(), []),
        ([3, 4, 5, 6], 10, set(), []),
        ([1, 5, 6], 0, set(), [1]),  # 6 is newer than current 5: never ours to retire
    ],
)
def test_revisions_to_retire(active: list[int], keep: int, in_use: set[int], retired: list[int]) -> None:
    arns = [f"{TD}:{n}" for n in active]
    got = td_logic.revisions_to_retire(arns, f"{TD}:5", keep, {f"{TD}:{n}" for n in in_use})
    assert got == [f"{TD}:{n}" for n in retired]


def test_run_request_is_idempotent_by_uid() -> None:
    req = task_logic.run_request({"count": 2, "ttlSecondsAfterFinished": 5}, OWNER, "c", f"{TD}:1")
    assert req["clientToken"] == OWNER.uid and req["startedBy"] == f"fargate-operator/{OWNER.uid}"
    assert len(req["startedBy"]) <= 128 and "ttlSecondsAfterFinished" not in req and req["count"] == 2


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([], "Pending"),
        ([("PROVISIONING", None)], "Pending"),
        ([("RUNNING", None)], "Running"),
        ([("RUNNING", None), ("PENDING", None)], "Running"),
        ([("STOPPED", 0), ("STOPPED", 0)], "Succeeded"),
        ([("STOPPED", 0), ("STOPPED", 1)], "Failed"),
    ],
)
def test_task_phase_follows_its_tasks_states_and_exit_codes(
    states: list[tuple[str, int | None]], expected: str
) -> None:
    tasks = [{"lastStatus": s, "containers": [{"name": "a", "exitCode": code}]} for s, code in states]
    assert task_logic.phase_of(tasks, max(1, len(tasks))) == expected


def test_failed_to_start_is_failed() -> None:
    assert (
        task_logic.phase_of([{"lastStatus": "STOPPED", "stopCode": "TaskFailedToStart", "containers": []}], 1)
        == "Failed"
    )


def test_service_health() -> None:
    steady = {
        "status": "ACTIVE",
        "runningCount": 2,
        "desiredCount": 2,
        "deployments": [{"status": "PRIMARY", "rolloutState": "COMPLETED"}],
    }
    verdict = service_logic.health(steady)
    assert (verdict.ready, verdict.progressing, verdict.degraded) == (True, False, False)
    rolling = {**steady, "deployments": [{"status": "PRIMARY", "rolloutState": "IN_PROGRESS"}, {"status": "ACTIVE"}]}
    verdict = service_logic.health(rolling)
    assert (verdict.ready, verdict.progressing, verdict.degraded, verdict.reason) == (False, True, False, "RollingOut")
    failed = {
        **steady,
        "deployments": [{"status": "PRIMARY", "rolloutState": "FAILED", "rolloutStateReason": "circuit breaker"}],
    }
    assert service_logic.health(failed) == Verdict(False, False, True, "RolloutFailed", "circuit breaker")


def test_service_create_defaults_desired_count_only_on_create() -> None:
    spec = {"serviceName": "web", "networkConfiguration": {}}
    assert service_logic.create_request(spec, OWNER, "c", f"{TD}:1")["desiredCount"] == 1
    assert "desiredCount" not in service_logic.update_request(spec, "c", f"{TD}:1")
    assert service_logic.update_request({**spec, "desiredCount": 0}, "c", None)["desiredCount"] == 0


def test_conditions_keep_transition_time_when_status_holds() -> None:
    first = conditions.set_condition(None, "Ready", True, "A", "m", 1, now="2026-01-01T00:00:00Z")
    same = conditions.set_condition(first, "Ready", True, "B", "m2", 2, now="2026-02-02T00:00:00Z")
    flipped = conditions.set_condition(same, "Ready", False, "C", "m3", 3, now="2026-03-03T00:00:00Z")
    assert same[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z" and same[0]["observedGeneration"] == 2
    assert flipped[0]["lastTransitionTime"] == "2026-03-03T00:00:00Z"
    assert conditions.same_conditions(first, conditions.set_condition(None, "Ready", True, "A", "m", 1, now="x"))


def test_a_claim_accepts_our_tags_adopts_only_when_asked_and_refuses_others() -> None:
    assert not ownership.check_claim(OWNER, OWNER.tags(), "CreateOnly", "x")
    assert ownership.check_claim(OWNER, [], "Adopt", "x")
    other = ownership.Owner("FargateTask", "other", "job", "uid-2").tags()
    with pytest.raises(ownership.AdoptionRefused, match="owned by FargateTask other/job"):
        ownership.check_claim(OWNER, other, "AdoptOrCreate", "x")
    with pytest.raises(ownership.AdoptionRefused, match="adoptionPolicy: Adopt"):
        ownership.check_claim(OWNER, [{"key": "team", "value": "a"}], "CreateOnly", "x")


def test_cluster_updates_and_tag_sync() -> None:
    calls = update_calls(
        {"settings": [{"name": "containerInsights", "value": "enabled"}], "capacityProviders": ["FARGATE"]},
        "arn:c",
        [{"key": "old", "value": "1"}, *OWNER.tags()],
    )
    assert [op for op, _ in calls] == ["UpdateCluster", "PutClusterCapacityProviders", "UntagResource"]
    assert calls[-1][1]["tagKeys"] == ["old"]
    assert tag_sync_calls("arn", [{"key": "a", "value": "1"}], [{"key": "a", "value": "1"}]) == []
