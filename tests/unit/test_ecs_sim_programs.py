"""What an emulated container does, from its definition alone (fargate_ecs_sim/programs.py; pure, no moto)."""

from __future__ import annotations

from typing import Any

import pytest

from fargate_ecs_sim.programs import cannot_pull, program_for
from fargate_ecs_sim.rules import RuleError, check_registration, circuit_breaker_threshold


@pytest.mark.parametrize(
    ("definition", "runs_for", "code", "handles_sigterm"),
    [
        ({}, None, 0, True),  # the image's own process: until stopped, ends on SIGTERM
        ({"command": ["sh", "-c", "exit 3"]}, 0, 3, False),
        ({"command": ["exit 3"]}, 0, 3, False),
        ({"command": ["true"]}, 0, 0, False),
        ({"command": ["false"]}, 0, 1, False),
        ({"command": ["sleep", "30"]}, 30, 0, False),
        ({"command": ["/bin/sh", "-c", "sleep 2 && exit 7"]}, 2, 7, False),
        ({"command": ["sh", "-c", "sleep 1m; echo done"]}, 60, 0, False),
        ({"command": ["sleep", "infinity"]}, None, 0, False),
        ({"command": ["./manage.py", "migrate"]}, None, 0, True),
        ({"entryPoint": ["sh", "-c"], "command": ["exit 9"]}, 0, 9, False),
        ({"command": ["sleep", "5"], "linuxParameters": {"initProcessEnabled": True}}, 5, 0, True),
    ],
)
def test_a_containers_command_decides_how_long_it_runs_and_how_it_exits(
    definition: dict[str, Any], runs_for: float | None, code: int, handles_sigterm: bool
) -> None:
    program = program_for({"name": "app", "image": "busybox", **definition})
    assert (program.runs_for, program.exit_code, program.handles_sigterm) == (runs_for, code, handles_sigterm)


def test_override_command_wins_and_stop_timeout_is_capped() -> None:
    program = program_for({"name": "app", "command": ["sleep", "9"], "stopTimeout": 500}, {"command": ["exit 2"]})
    assert (program.runs_for, program.exit_code, program.stop_timeout) == (0, 2, 120)


@pytest.mark.parametrize(
    ("image", "fails"),
    [
        ("registry.invalid/team/app:1.0", True),
        ("cache.example.invalid:5000/app", True),
        ("nginx", False),
        ("public.ecr.aws/nginx/nginx:1.27", False),
        ("invalid/app", False),  # Docker Hub user "invalid", not a registry host
    ],
)
def test_only_registries_under_dot_invalid_cannot_be_pulled(image: str, fails: bool) -> None:
    error = cannot_pull(image)
    assert (error is not None) == fails
    if error:
        assert error.startswith("CannotPullContainerError: pull image manifest has been retried 5 time(s)")


def test_registration_sizes_and_the_breaker_threshold_follow_ecs() -> None:
    ok = check_registration(
        {"networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "0.5 vCPU", "memory": "1 GB"}
    )
    assert (ok.cpu, ok.memory, ok.compatibilities) == ("512", "1024", ["EC2", "FARGATE"])
    with pytest.raises(RuleError, match="No Fargate configuration exists for given values: 256 CPU, 1536 memory"):
        check_registration(
            {"networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "1536"}
        )
    assert [circuit_breaker_threshold(n) for n in (0, 1, 6, 7, 100, 1000)] == [3, 3, 3, 4, 50, 200]
