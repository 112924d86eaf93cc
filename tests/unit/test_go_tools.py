"""make lint's Go tools: pinned in versions.py, built into the cache once, run from there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fargate_devenv import go_tools, versions

REPO = Path(__file__).resolve().parents[2]


def test_a_cached_tool_is_used_without_building(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FARGATE_OPERATOR_CACHE", str(tmp_path))
    monkeypatch.setenv("PATH", "")  # no Go: a build would fail
    cached = tmp_path / "tools" / f"actionlint-{versions.ACTIONLINT_VERSION}" / "actionlint"
    cached.parent.mkdir(parents=True)
    cached.write_text("")
    assert go_tools.ensure_actionlint() == cached


def test_a_missing_tool_without_go_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FARGATE_OPERATOR_CACHE", str(tmp_path))
    monkeypatch.setenv("PATH", "")
    with pytest.raises(RuntimeError, match="`go` is not on PATH"):
        go_tools.ensure_actionlint()


def test_make_lint_runs_actionlint() -> None:
    lint = re.search(r"^lint:.*?\n((?:\t.*\n)+)", (REPO / "Makefile").read_text(), re.M)
    assert lint is not None
    assert "-m fargate_devenv.go_tools actionlint" in lint.group(1)
