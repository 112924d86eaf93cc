"""The status loop's change test follows merge-patch semantics (no perpetual status writes)."""

from __future__ import annotations

from fargate_operator.reconcile import merge_patch
from fargate_operator.reconcile.drift import verdict


def test_a_null_member_is_no_change_to_what_is_stored() -> None:
    stored = {"corrections": 0, "policy": "Correct", "fields": [], "reason": "InSync"}
    patch = {**stored, "windowStart": None, "lastCorrection": None, "since": None}
    assert merge_patch.applied(stored, patch) == stored
    assert not merge_patch.changes(stored, patch)


def test_a_member_set_or_removed_is_a_status_change() -> None:
    stored = {"since": "2026-11-25T06:00:00.000Z", "fields": [{"field": "desiredCount"}]}
    assert merge_patch.changes(stored, {"since": None})  # an episode ended: `since` is deleted
    assert merge_patch.changes(stored, {"fields": []})
    assert merge_patch.changes(None, {"a": 1})
    assert not merge_patch.changes({"a": {"b": 1, "c": 2}}, {"a": {"b": 1}})  # objects merge
    assert merge_patch.changes([1, 2], [1])  # lists replace


def test_an_in_sync_verdict_as_stored_is_not_written_again() -> None:
    """What the API server keeps of a verdict (nulls dropped) equals the next identical verdict."""
    first = verdict.verdict([], None, None, 0.0, policy="Correct").drift
    stored = merge_patch.applied(None, first)
    again = verdict.verdict([], None, stored, 10.0, policy="Correct").drift
    assert None in first.values()  # the nulls that made every cycle look like a change
    assert not merge_patch.changes(stored, again)
