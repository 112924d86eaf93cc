"""The deregister-requested annotation (reconcile/deregistration.py): exactly the revisions named, only the object's own."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fargate_operator.reconcile import deregistration

R1, R2, R3 = (f"arn:aws:ecs:us-east-1:123456789012:task-definition/web:{n}" for n in (1, 2, 3))
FOREIGN = "arn:aws:ecs:us-east-1:123456789012:task-definition/someone-elses:7"


def status(current: str = R2, inactive: tuple[str, ...] = ()) -> dict[str, Any]:
    retained = [
        {
            "revision": int(a.rsplit(":", 1)[1]),
            "taskDefinitionArn": a,
            **({"status": "INACTIVE"} if a in inactive else {}),
        }
        for a in (R2, R1)
    ]
    return {"taskDefinitionArn": current, "revision": int(current.rsplit(":", 1)[1]), "retainedRevisions": retained}


@pytest.mark.parametrize(
    ("old", "new", "current", "expected"),
    [
        (None, [R2], status(), [R2]),
        ([R2], [R2, R1], status(), [R1]),  # only what is new since the last handled value
        (None, [FOREIGN, R1], status(), [R1]),  # never another family's revision
        (None, [R1], status(inactive=(R1,)), []),  # already INACTIVE
        (None, [R3], status(current=R3), [R3]),  # the current revision, not yet in retainedRevisions
    ],
)
def test_to_deregister_names_exactly_the_requested_revisions(
    old: list[str] | None, new: list[str], current: dict[str, Any], expected: list[str]
) -> None:
    old_value = json.dumps(old) if old is not None else None
    assert deregistration.to_deregister(old_value, json.dumps(new), current) == expected


def test_recorded_marks_only_the_deregistered_revisions_inactive() -> None:
    after = deregistration.recorded(status(), [R2])
    assert [(r["taskDefinitionArn"], r.get("status", "ACTIVE")) for r in after] == [(R2, "INACTIVE"), (R1, "ACTIVE")]
    assert deregistration.status_of({**status(), "retainedRevisions": after}, R2) == "INACTIVE"


def test_a_deregistration_request_keeps_earlier_revisions_once() -> None:
    value = deregistration.adding(deregistration.adding(None, R1), R2)
    assert deregistration.requested(deregistration.adding(value, R1)) == [R1, R2]
    assert deregistration.requested("not json") == [] and deregistration.requested('{"a": 1}') == []
