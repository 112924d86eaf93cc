"""The stop-requested annotation (reconcile/stop_request.py): exactly the tasks named, only the object's own."""

from __future__ import annotations

import json

import pytest

from fargate_operator.reconcile import stop_request

A = "arn:aws:ecs:us-east-1:123456789012:task/c/aaaa"
B = "arn:aws:ecs:us-east-1:123456789012:task/c/bbbb"
FOREIGN = "arn:aws:ecs:us-east-1:123456789012:task/other/ffff"


def tasks(*arns: str, stopped: tuple[str, ...] = ()) -> list[dict[str, str]]:
    return [{"taskArn": a, "desiredStatus": "STOPPED" if a in stopped else "RUNNING"} for a in arns]


@pytest.mark.parametrize(
    ("old", "new", "current", "expected"),
    [
        (None, json.dumps({A: "one"}), tasks(A, B), {A: "one"}),
        (json.dumps({A: "one"}), json.dumps({A: "one", B: "two"}), tasks(A, B), {B: "two"}),
        (None, "maintenance", tasks(A, B), {A: "maintenance", B: "maintenance"}),  # by hand: every task
        (None, "", tasks(A), {A: stop_request.DEFAULT_REASON}),
        (None, json.dumps({FOREIGN: "x", A: "one"}), tasks(A, B), {A: "one"}),  # never another object's task
        (None, json.dumps({A: "one"}), tasks(A, B, stopped=(A,)), {}),  # ECS already stops it
        (json.dumps({A: "one"}), json.dumps({A: "again"}), tasks(A), {A: "again"}),
        (None, json.dumps(["not", "a", "map"]), tasks(A), {A: '["not", "a", "map"]'}),
    ],
)
def test_to_stop_names_exactly_the_requested_tasks(
    old: str | None, new: str | None, current: list[dict[str, str]], expected: dict[str, str]
) -> None:
    assert stop_request.to_stop(old, new, current) == expected


def test_a_stop_request_keeps_the_earlier_requests() -> None:
    value = stop_request.adding(None, [A, B], A, "one")
    value = stop_request.adding(value, [A, B], B, "two")
    assert json.loads(value) == {A: "one", B: "two"}
    # A hand-written "stop all" stays "stop all" for the tasks it covered.
    assert json.loads(stop_request.adding("maint", [A, B], B, "two")) == {A: "maint", B: "two"}
