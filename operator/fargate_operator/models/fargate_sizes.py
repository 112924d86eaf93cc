"""Fargate task sizes (Linux): which task-level memory goes with which cpu.

One table, used by the CRD generator (to write the CEL rule the API server
enforces) and by Python code that must agree with it.
"""

from __future__ import annotations

import re

# cpu units -> allowed memory in MiB (ECS developer guide, "Task CPU and memory").
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

WINDOWS_MIN_CPU = 1024

_VCPU = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*vcpu\s*$", re.I)
_GB = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*gb\s*$", re.I)


def cpu_units(value: str) -> int:
    """ "1024" or "1 vCPU" -> 1024 (ECS converts the vCPU form when registering)."""
    if m := _VCPU.match(value):
        return int(float(m.group(1)) * 1024)
    return int(value)


def memory_mib(value: str) -> int:
    """ "2048" or "2 GB" -> 2048."""
    if m := _GB.match(value):
        return int(float(m.group(1)) * 1024)
    return int(value)


def is_valid_size(cpu: str, memory: str) -> bool:
    return memory_mib(memory) in FARGATE_SIZES.get(cpu_units(cpu), ())


def describe_sizes() -> str:
    """The matrix in one line, for error messages and docs."""
    parts = []
    for cpu, mems in FARGATE_SIZES.items():
        if len(mems) <= 3:
            parts.append(f"{cpu} -> {'|'.join(map(str, mems))}")
        else:
            parts.append(f"{cpu} -> {mems[0]}..{mems[-1]} step {mems[1] - mems[0]}")
    return "; ".join(parts)
