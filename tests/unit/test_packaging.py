"""Every dependency has a lower bound and a pinned version in requirements.lock."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]


def _declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return [Requirement(r) for r in reqs]


def _locked() -> dict[str, Version]:
    pins = {}
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
