"""ECS validation rules moto skips: Fargate task sizes, awsvpc, launch-type compatibility.

Pure functions over request dicts; backend.py turns a RuleError into ECS's error. The size table
is the emulator's own copy of the ECS developer guide's ("Task CPU and memory"), on purpose not the
operator's (models/fargate_sizes.py): the emulator is the oracle the operator is tested against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# cpu units -> memory MiB allowed on Fargate (Linux; 8192 and 16384 need platform 1.4.0).
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
FARGATE_MEMORY: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
_VCPU = re.compile(r"^\s*(\d*\.?\d+)\s*vcpu\s*$", re.I)
_GB = re.compile(r"^\s*(\d*\.?\d+)\s*gb\s*$", re.I)


class RuleError(Exception):
    """An ECS error: code (the error shape) and message (ECS's wording)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Registration:
    cpu: str | None
    memory: str | None
    compatibilities: list[str]


def _units(value: str | None, pattern: re.Pattern[str]) -> str | None:
    """RegisterTaskDefinition.cpu/memory: "1 vCPU" / "2 GB" are converted to units / MiB when registered."""
    if value is None:
        return None
    if m := pattern.match(value):
        return str(int(float(m.group(1)) * 1024))
    return value.strip()


def _fits_fargate(cpu: str | None, memory: str | None) -> bool:
    if not (cpu and memory and cpu.isdigit() and memory.isdigit()):
        return False
    return int(memory) in FARGATE_MEMORY.get(int(cpu), ())


def check_registration(request: dict[str, Any]) -> Registration:
    """Validate RegisterTaskDefinition as ECS does; the sizes converted and the launch types it fits.

    TaskDefinition.compatibilities: "The task launch types the task definition validated against
    during task definition registration" - FARGATE is listed whenever the definition fits it, and
    requiresCompatibilities=[FARGATE] turns a misfit into an error.
    """
    cpu = _units(request.get("cpu"), _VCPU)
    memory = _units(request.get("memory"), _GB)
    network_mode = request.get("networkMode") or "bridge"  # "If no network mode is specified, the default is bridge."
    wants_fargate = "FARGATE" in (request.get("requiresCompatibilities") or [])
    if wants_fargate:
        if network_mode != "awsvpc":
            raise RuleError("ClientException", "Fargate only supports network mode ‘awsvpc’.")
        if cpu is None:
            raise RuleError("ClientException", "Fargate requires that 'cpu' be defined at the task level.")
        if memory is None:
            raise RuleError("ClientException", "Fargate requires that 'memory' be defined at the task level.")
        if not _fits_fargate(cpu, memory):
            raise RuleError(
                "ClientException",
                f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. "
                "See the Amazon ECS documentation for the valid values.",
            )
    if memory is not None and memory.isdigit():
        for container in request.get("containerDefinitions") or []:
            if int(container.get("memory") or 0) > int(memory):
                raise RuleError(
                    "ClientException",
                    f"The 'memory' setting for container '{container.get('name')}' is greater than for the task.",
                )
    fits = network_mode == "awsvpc" and _fits_fargate(cpu, memory)
    return Registration(cpu, memory, ["EC2", "FARGATE"] if fits else ["EC2"])


def uses_fargate(launch_type: str | None, strategy: list[dict[str, Any]] | None) -> bool:
    """FARGATE launch type, or a capacity provider strategy of FARGATE / FARGATE_SPOT."""
    if launch_type:
        return launch_type == "FARGATE"
    return bool(strategy) and all(s.get("capacityProvider") in ("FARGATE", "FARGATE_SPOT") for s in strategy or [])


def check_launch(
    launch_type: str | None, strategy: list[dict[str, Any]] | None, compatibilities: list[str], td_status: str
) -> None:
    """RunTask / CreateService / UpdateService against the task definition they name."""
    if launch_type and strategy:
        raise RuleError(
            "InvalidParameterException", "Specify either Launch Type or Capacity Provider Strategy, but not both."
        )
    if td_status != "ACTIVE":
        raise RuleError("ClientException", "TaskDefinition is inactive")
    if uses_fargate(launch_type, strategy) and "FARGATE" not in compatibilities:
        raise RuleError("InvalidParameterException", "Task definition does not support launch_type FARGATE.")


def circuit_breaker_threshold(desired_count: int) -> int:
    """ServiceDeploymentCircuitBreaker.threshold: 0.5 * desired task count, at least 3, at most 200."""
    return min(200, max(3, -(-desired_count // 2)))
