"""CHANGELOG.md keeps Keep a Changelog's shape, which the release workflow reads its notes from."""

from __future__ import annotations

import re
from pathlib import Path

from fargate_devenv.release_version import SEMVER

CHANGELOG = Path(__file__).resolve().parents[2] / "CHANGELOG.md"
KINDS = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def test_releases_are_unreleased_or_a_semver_version_with_a_date() -> None:
    headings = re.findall(r"^## (.*)$", CHANGELOG.read_text(), re.M)
    assert headings[0] == "[Unreleased]"
    for heading in headings[1:]:
        found = re.fullmatch(r"\[(.+)\] - \d{4}-\d{2}-\d{2}", heading)
        assert found and SEMVER.match(found.group(1)), heading


def test_every_release_has_a_link_and_only_keep_a_changelogs_kinds() -> None:
    text = CHANGELOG.read_text()
    for name in re.findall(r"^## \[([^\]]+)\]", text, re.M):
        assert re.search(rf"^\[{re.escape(name)}\]: \S+$", text, re.M), f"no link for [{name}]"
    assert set(re.findall(r"^### (.*)$", text, re.M)) <= KINDS
