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


def test_a_source_tool_is_keyed_by_its_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cached build of tools/<name> is used as long as the source is unchanged; an edit misses it."""
    monkeypatch.setenv("FARGATE_OPERATOR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", "")
    source = tmp_path / "demo"
    source.mkdir()
    for name, text in {"go.mod": "module demo\n", "go.sum": "", "main.go": "package main\n"}.items():
        (source / name).write_text(text)
    cached = tmp_path / "cache" / "tools" / f"demo-{go_tools.source_digest(source)}" / "demo"
    cached.parent.mkdir(parents=True)
    cached.write_text("")
    assert go_tools.ensure_source_go_tool(source) == cached
    (source / "main.go").write_text("package main\n\nfunc main() {}\n")
    with pytest.raises(RuntimeError, match="`go` is not on PATH"):
        go_tools.ensure_source_go_tool(source)


def test_the_argocd_health_harness_pins_argo_cds_lua_modules() -> None:
    """go.mod requires what versions.py names (the versions Argo CD v3 builds with), go.sum locks them."""
    source = REPO / "tools" / "argocd-health"
    go_mod = (source / "go.mod").read_text()
    go_sum = (source / "go.sum").read_text()
    for module, version in (
        (versions.GOPHER_LUA_MODULE, versions.GOPHER_LUA_VERSION),
        (versions.GOPHER_JSON_MODULE, versions.GOPHER_JSON_VERSION),
    ):
        assert re.search(rf"^\s*{re.escape(module)} {re.escape(version)}$", go_mod, re.M), module
        assert f"{module} {version} h1:" in go_sum, module
