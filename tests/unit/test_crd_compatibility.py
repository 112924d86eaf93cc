"""The CRDs keep what the last release's objects rely on, unless the API version changes."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from fargate_devenv.release_version import source_version
from support.crd_compat import breaking_changes, load_crds

REPO = Path(__file__).resolve().parents[2]
RELEASED = REPO / "tests" / "fixtures" / "released-crds"


def _semver_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split("-", 1)[0].split("."))


def _last_release() -> Path:
    return max(RELEASED.iterdir(), key=lambda p: _semver_key(p.name))


def test_the_crds_keep_every_field_of_the_last_release() -> None:
    breaks = breaking_changes(load_crds(_last_release()), load_crds(REPO / "crds"))
    assert not breaks, "breaking CRD changes (docs/releasing.md): " + "; ".join(map(str, breaks))


def test_the_last_release_is_not_newer_than_this_version() -> None:
    assert _semver_key(_last_release().name) <= _semver_key(source_version(REPO))


@pytest.fixture
def released() -> list[dict[str, Any]]:
    return load_crds(_last_release())


def _task_spec(crds: list[dict[str, Any]]) -> dict[str, Any]:
    task = next(c for c in crds if c["spec"]["names"]["kind"] == "FargateTask")
    spec: dict[str, Any] = task["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return spec


def test_a_removed_field_is_breaking(released: list[dict[str, Any]]) -> None:
    changed = copy.deepcopy(released)
    del _task_spec(changed)["properties"]["taskDefinition"]
    breaks = breaking_changes(released, changed)
    assert [(b.path, b.why) for b in breaks] == [(".spec.taskDefinition", "removed")]


def test_a_retyped_field_is_breaking(released: list[dict[str, Any]]) -> None:
    changed = copy.deepcopy(released)
    field = _task_spec(changed)["properties"]["count"]
    assert field["type"] == "integer"
    field["type"] = "string"
    breaks = breaking_changes(released, changed)
    assert [(b.path, b.why) for b in breaks] == [(".spec.count", "type integer became string")]


def test_a_field_made_required_is_breaking(released: list[dict[str, Any]]) -> None:
    changed = copy.deepcopy(released)
    spec = _task_spec(changed)
    spec["required"] = [*spec.get("required", []), "group"]
    assert [b.path for b in breaking_changes(released, changed)] == [".spec.group"]


def test_a_removed_crd_is_breaking(released: list[dict[str, Any]]) -> None:
    changed = [c for c in copy.deepcopy(released) if c["spec"]["names"]["kind"] != "FargateTask"]
    assert [b.why for b in breaking_changes(released, changed)] == ["the CustomResourceDefinition is gone"]


def test_an_added_optional_field_is_not_breaking(released: list[dict[str, Any]]) -> None:
    changed = copy.deepcopy(released)
    _task_spec(changed)["properties"]["somethingNew"] = {"type": "string"}
    assert breaking_changes(released, changed) == []


def test_a_new_api_version_may_drop_a_field(released: list[dict[str, Any]]) -> None:
    changed = copy.deepcopy(released)
    del _task_spec(changed)["properties"]["taskDefinition"]
    task = next(c for c in changed if c["spec"]["names"]["kind"] == "FargateTask")
    task["spec"]["versions"][0]["name"] = "v1alpha2"
    assert breaking_changes(released, changed) == []
