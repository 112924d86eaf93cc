"""ECS requests built from a spec: the spec's ECS members (per botocore's model), nothing else."""

from __future__ import annotations

import copy
import hashlib
import json
from functools import cache
from typing import Any

from fargate_operator.models.fargate_sizes import cpu_units, memory_mib
from fargate_operator.schema import model


@cache
def request_member_names(operation: str) -> frozenset[str]:
    return frozenset(model.service_model().operation_model(operation).input_shape.members)


def ecs_members(spec: dict[str, Any], operation: str) -> dict[str, Any]:
    """The members of `spec` that `operation` accepts, deep-copied (CRD extras dropped)."""
    names = request_member_names(operation)
    return {k: copy.deepcopy(v) for k, v in spec.items() if k in names}


def spec_hash(request: dict[str, Any]) -> str:
    """A stable hash of a request: key order and formatting don't matter."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def normalize_task_size(request: dict[str, Any]) -> dict[str, Any]:
    """ECS turns "1 vCPU" / "2 GB" into units / MiB: do the same so equal sizes hash equal."""
    out = dict(request)
    if "cpu" in out:
        out["cpu"] = str(cpu_units(out["cpu"]))
    if "memory" in out:
        out["memory"] = str(memory_mib(out["memory"]))
    return out
