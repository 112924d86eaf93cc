"""Every dependency of the three distributions has a lower bound and a pinned version in requirements.lock."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
# The operator, the ECS emulator and the test world; they name each other, but are built here, not locked.
PROJECTS = (REPO, REPO / "operator" / "ecs-sim", REPO / "operator" / "devenv")
OURS = {"fargate-operator", "fargate-ecs-sim", "fargate-devenv"}


def _declared() -> list[Requirement]:
    reqs: list[str] = []
    for project_dir in PROJECTS:
        project = tomllib.loads((project_dir / "pyproject.toml").read_text())["project"]
        reqs += project["dependencies"]
        for extra in project.get("optional-dependencies", {}).values():
            reqs += extra
    return [r for r in map(Requirement, reqs) if canonicalize_name(r.name) not in OURS]


def _locked() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if m := re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)$", line.strip()):
            pins[canonicalize_name(m.group(1))] = Version(m.group(2))
    return pins


def test_every_dependency_has_a_lower_bound() -> None:
    for req in _declared():
        assert any(s.operator in (">=", "==", "~=") for s in req.specifier), f"{req} has no lower bound"


def test_lock_pins_every_dependency_within_its_bounds() -> None:
    locked = _locked()
    for req in _declared():
        name = canonicalize_name(req.name)
        assert name in locked, f"{req.name} is not in requirements.lock (run `make lock`)"
        assert req.specifier.contains(locked[name], prereleases=True), f"{req.name}=={locked[name]} violates {req}"
