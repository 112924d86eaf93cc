"""models/status.py names each kind's status members as its CRD defines them, with the CRD's types."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import pytest
import yaml

from fargate_operator.models import status

REPO = Path(__file__).resolve().parents[2]
# The JSON Schema type each Python type stands for.
SCHEMA_TYPE = {int: "integer", str: "string", list: "array", dict: "object"}


def _status_schema(plural: str) -> dict[str, Any]:
    crd = yaml.safe_load((REPO / "crds" / f"ecs.fargate.dev_{plural}.yaml").read_text())
    (version,) = (v for v in crd["spec"]["versions"] if v["storage"])
    members: dict[str, Any] = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
    return members


def _mismatches(typed: type, plural: str) -> list[str]:
    schema = _status_schema(plural)
    wrong = []
    for member, hint in typing.get_type_hints(typed).items():
        python = typing.get_origin(hint) or hint
        if member not in schema:
            wrong.append(f"{member}: not in the CRD")
        elif SCHEMA_TYPE[python] != schema[member].get("type"):
            wrong.append(f"{member}: {SCHEMA_TYPE[python]} here, {schema[member].get('type')} in the CRD")
    return wrong


@pytest.mark.parametrize(
    ("typed", "plural"),
    [
        (status.ClusterStatus, "fargateclusters"),
        (status.ServiceStatus, "fargateservices"),
        (status.TaskStatus, "fargatetasks"),
        (status.TaskDefinitionStatus, "fargatetaskdefinitions"),
    ],
)
def test_each_status_type_matches_its_crd(typed: type, plural: str) -> None:
    assert _mismatches(typed, plural) == []


def test_a_member_the_crd_lacks_is_caught() -> None:
    class Misspelt(typing.TypedDict, total=False):
        runningTaskCount: int  # the CRD says runningTasksCount
        clusterName: int  # a string in the CRD

    assert _mismatches(Misspelt, "fargateclusters") == [
        "runningTaskCount: not in the CRD",
        "clusterName: integer here, string in the CRD",
    ]
