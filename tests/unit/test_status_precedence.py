"""The status writer's one precedence (status/precedence.py): handler, status loop and drift, in-process."""

from __future__ import annotations

from typing import Any

import pytest

from fargate_operator.models.kinds import CLUSTER, SERVICE, TASK, TASK_DEFINITION
from fargate_operator.models.verdict import Verdict
from fargate_operator.reconcile import conditions, merge_patch
from fargate_operator.reconcile.drift import verdict as drift_verdict
from fargate_operator.status.precedence import Source, Update, changed, compose, first_drift

READY = Verdict(True, False, False, "Steady", "running")
PROGRESSING = Verdict(False, True, False, "Deploying", "rolling out")


def _condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == type_)


def _status(degraded_reason: str | None, generation: int = 2) -> dict[str, Any]:
    """A stored status with a Degraded condition (True with `degraded_reason`, else False)."""
    held = Verdict(False, False, degraded_reason is not None, degraded_reason or "Steady", "held")
    stored: dict[str, Any] = {"observedGeneration": generation, "phase": "Old"}
    stored |= compose(stored, Update(Source.HANDLER, held, generation=generation))
    return stored


def test_a_handler_verdict_wins_over_its_own_degraded_and_stamps_the_generation_it_applied() -> None:
    patch = compose(_status("InvalidParameterException", generation=2), Update(Source.HANDLER, READY, generation=3))
    assert patch["observedGeneration"] == 3
    assert _condition(patch, "Ready")["status"] == "True"
    assert _condition(patch, "Degraded")["status"] == "False"
    assert {c["observedGeneration"] for c in patch["conditions"]} == {3}


def test_the_loop_leaves_a_handler_degraded_standing_but_writes_what_it_observed() -> None:
    stored = _status("InvalidParameterException")
    patch = compose(stored, Update(Source.LOOP, READY, {"phase": "Running"}))
    assert patch == {"phase": "Running"}  # no conditions, no observedGeneration
    assert changed(stored, patch)


@pytest.mark.parametrize("reason", sorted(conditions.OBSERVED_DEGRADED_REASONS))
def test_the_loop_clears_a_degraded_it_derived_from_ecs_itself(reason: str) -> None:
    patch = compose(_status(reason), Update(Source.LOOP, READY, {"phase": "Running"}))
    assert _condition(patch, "Degraded")["status"] == "False"
    assert _condition(patch, "Ready")["status"] == "True"


def test_the_loop_stamps_conditions_with_the_applied_generation_and_never_moves_it() -> None:
    stored = _status(None, generation=4)
    patch = compose(stored, Update(Source.LOOP, PROGRESSING, {}))
    assert "observedGeneration" not in patch
    assert {c["observedGeneration"] for c in patch["conditions"]} == {4}


def test_drift_verdict_rides_on_the_loop_verdict_and_a_dropped_one_alike() -> None:
    found = drift_verdict.Verdict({"reason": "DriftReported"}, (True, "DriftReported", "desiredCount"))
    for stored in (_status(None), _status("InvalidParameterException")):
        patch = compose(stored, Update(Source.LOOP, READY, {}, drift=found))
        assert _condition(patch, "Drifted")["status"] == "True"
        assert patch["drift"] == {"reason": "DriftReported"}
        kept_degraded = _condition(stored, "Degraded")["status"] == "True"
        assert _condition(patch, "Ready")["status"] == ("False" if kept_degraded else "True")


def test_a_later_handler_verdict_keeps_the_drifted_condition() -> None:
    found = drift_verdict.Verdict({"reason": "InSync"}, (False, "InSync", ""))
    stored = _status(None)
    stored |= compose(stored, Update(Source.LOOP, drift=found))
    patch = compose(stored, Update(Source.HANDLER, PROGRESSING, generation=3))
    assert _condition(patch, "Drifted")["reason"] == "InSync"


def test_a_handler_with_nothing_new_only_records_a_new_generation() -> None:
    stored = _status(None, generation=2)
    assert compose(stored, Update(Source.HANDLER, None, generation=2)) == {}
    patch = compose(stored, Update(Source.HANDLER, None, generation=3))
    assert patch["observedGeneration"] == 3
    assert {c["observedGeneration"] for c in patch["conditions"]} == {3}
    assert [c["reason"] for c in patch["conditions"]] == [c["reason"] for c in stored["conditions"]]


@pytest.mark.parametrize("kind", [SERVICE, CLUSTER, TASK_DEFINITION])
def test_a_handler_that_applied_the_spec_records_the_first_drift_verdict_in_sync(kind: str) -> None:
    seed = first_drift(kind, {"driftPolicy": "Report"}, {}, 1_700_000_000.0)
    assert seed is not None
    assert seed.condition == (False, drift_verdict.IN_SYNC, "")
    assert seed.drift["policy"] == "Report" and seed.event is None


def test_no_first_drift_verdict_for_tasks_observed_objects_or_one_already_recorded() -> None:
    now = 1_700_000_000.0
    assert first_drift(TASK, {}, {}, now) is None
    assert first_drift(SERVICE, {"managementPolicy": "Observe"}, {}, now) is None
    assert first_drift(SERVICE, {}, {"drift": {"reason": "DriftReported"}}, now) is None


def test_drift_first_look_writes_nothing_after_the_handler_recorded_it_in_sync() -> None:
    """The create path's status write budget: one status write, drift's first look adds none."""
    spec: dict[str, Any] = {}
    seed = first_drift(SERVICE, spec, {}, 1_700_000_000.0)
    handler_patch = compose({}, Update(Source.HANDLER, PROGRESSING, drift=seed, generation=1))
    stored = merge_patch.applied({}, handler_patch)  # what the API server keeps of Kopf's merge patch
    looked = drift_verdict.verdict([], None, stored["drift"], 1_700_000_060.0, policy="Correct")
    loop_patch = compose(stored, Update(Source.LOOP, PROGRESSING, {}, drift=looked))
    assert not changed(stored, loop_patch)


def test_a_status_unchanged_but_for_timestamps_is_no_change() -> None:
    stored = _status(None)
    again = compose(stored, Update(Source.LOOP, Verdict(False, False, False, "Steady", "held")))
    again["conditions"] = [{**c, "lastTransitionTime": "2030-01-01T00:00:00Z"} for c in again["conditions"]]
    assert not changed(stored, again)
    assert changed(stored, {**again, "phase": "New"})


def test_the_loop_writes_only_a_change_and_only_onto_the_version_it_read(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from fargate_operator import k8s
    from fargate_operator.status import writer

    sent: list[tuple[str, dict[str, Any], str | None]] = []

    async def patch_status(kind: str, ns: str, name: str, status: dict[str, Any], rv: str | None = None) -> bool:
        sent.append((name, status, rv))
        return True

    monkeypatch.setattr(k8s, "patch_status", patch_status)
    obj = {"kind": SERVICE, "metadata": {"namespace": "a", "name": "web", "resourceVersion": "41"}}
    obj["status"] = _status(None)
    same = Update(Source.LOOP, Verdict(False, False, False, "Steady", "held"), {"phase": "Old"})
    assert not asyncio.run(writer.write(obj, same))
    assert asyncio.run(writer.write(obj, Update(Source.LOOP, READY, {"phase": "Running"})))
    assert [(name, status["phase"], rv) for name, status, rv in sent] == [("web", "Running", "41")]


def test_a_handler_that_applied_the_spec_puts_the_first_drift_verdict_into_kopfs_patch() -> None:
    import kopf

    from fargate_operator.handlers.common import apply_health

    body = {"kind": CLUSTER, "metadata": {"generation": 1}, "spec": {"clusterName": "c"}}
    patch = kopf.Patch()
    apply_health(body, patch, {}, READY, drift_in_sync=True)
    assert patch.status["observedGeneration"] == 1
    assert _condition(dict(patch.status), drift_verdict.DRIFTED)["reason"] == drift_verdict.IN_SYNC
    assert None not in patch.status["drift"].values()  # nothing for the merge patch to drop
    off = kopf.Patch()
    apply_health(body, off, {}, READY)
    assert "drift" not in off.status
