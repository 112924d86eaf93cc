"""Where a task's logs are and how much of them is answered: the pure parts of task logs."""

from __future__ import annotations

import pytest

from fargate_operator.handlers.log_tail import TAIL_CHARS, failed_container
from fargate_operator.service.errors import ApiError
from fargate_operator.service.task_logs import awslogs_place, bounded

TASK_ARN = "arn:aws:ecs:eu-west-1:123456789012:task/c/0123456789abcdef0123456789abcdef"


def _definition(*containers: dict[str, object]) -> dict[str, object]:
    return {"containerDefinitions": list(containers), "family": "f"}


def _awslogs(prefix: str | None = "job", region: str | None = None) -> dict[str, object]:
    options = {"awslogs-group": "/ecs/f"}
    if prefix:
        options["awslogs-stream-prefix"] = prefix
    if region:
        options["awslogs-region"] = region
    return {"logDriver": "awslogs", "options": options}


def test_the_stream_is_prefix_container_task_id_in_the_task_region_by_default() -> None:
    place = awslogs_place(_definition({"name": "app", "logConfiguration": _awslogs()}), TASK_ARN, None)
    assert (place.group, place.stream, place.region) == (
        "/ecs/f",
        "job/app/0123456789abcdef0123456789abcdef",
        "eu-west-1",
    )


def test_without_a_name_the_first_essential_container_is_read() -> None:
    definition = _definition(
        {"name": "sidecar", "essential": False, "logConfiguration": _awslogs()},
        {"name": "app", "logConfiguration": _awslogs(region="us-east-1")},
    )
    place = awslogs_place(definition, TASK_ARN, None)
    assert place.container == "app" and place.region == "us-east-1"


@pytest.mark.parametrize(
    ("container", "config", "names"),
    [
        ("nope", _awslogs(), "its containers: app"),
        ("app", {"logDriver": "splunk", "options": {}}, "logDriver: splunk"),
        ("app", None, "logDriver: none"),
        ("app", _awslogs(prefix=None), "awslogs-stream-prefix"),
    ],
)
def test_logs_that_cannot_be_read_are_refused_naming_why(container: str, config: object, names: str) -> None:
    with pytest.raises(ApiError) as refused:
        awslogs_place(_definition({"name": "app", "logConfiguration": config}), TASK_ARN, container)
    assert refused.value.code == "InvalidParameterException" and names in refused.value.message


def test_bounded_keeps_the_newest_lines_within_the_budget_and_says_it_cut() -> None:
    events = [{"timestamp": i, "message": f"line {i} " + "x" * 100} for i in range(50)]
    kept, cut = bounded(events, 60, 300)
    assert (
        cut and kept[-1]["timestamp"] == 49 and [e["timestamp"] for e in kept] == sorted(e["timestamp"] for e in kept)
    )
    assert sum(len(e["message"]) for e in kept) <= 300 and kept[-1]["message"].endswith("[line truncated]")
    assert bounded(events[:2], 500, 1000) == (
        [{"timestamp": e["timestamp"], "message": e["message"]} for e in events[:2]],
        False,
    )


def test_the_failed_container_is_the_essential_one_that_exited_non_zero() -> None:
    task = {
        "containers": [
            {"name": "router", "exitCode": 143},
            {"name": "app", "exitCode": 0},
            {"name": "side", "exitCode": 1},
        ]
    }
    assert failed_container(task, ["router", "app"]) == "router"  # the only non-zero essential one
    assert failed_container(task, ["app"]) == "app"
    assert failed_container(task, None) == "side"  # exited by itself; the router was stopped (143)
    assert failed_container({"containers": []}, None) is None
    assert TAIL_CHARS == 1024
