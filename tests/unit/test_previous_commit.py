"""Which tree the upgrade test starts from: the one before the newest change to what users install."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from support.previous_commit import extract, previous_commit

PATHS = ("helm", "operator/fargate_operator")


def _git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "PATH": "/usr/bin:/bin",
        "HOME": str(repo),
    }
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env=env).stdout


def _commit(repo: Path, files: dict[str, str]) -> str:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", ", ".join(files))
    return _git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q", "-b", "main")
    return tmp_path


def test_the_previous_tree_skips_commits_that_change_nothing_users_install(repo: Path) -> None:
    first = _commit(repo, {"operator/fargate_operator/__init__.py": '__version__ = "0.1.0"\n', "helm/Chart.yaml": "a"})
    _commit(repo, {"helm/Chart.yaml": "b"})
    _commit(repo, {"docs/x.md": "docs only"})
    _commit(repo, {"tests/y.py": "a test only"})
    assert previous_commit(repo, PATHS) == first  # not HEAD~1: that is the same chart and operator


def test_a_change_at_head_makes_its_parent_the_previous_tree(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _commit(repo, {"operator/fargate_operator/__init__.py": '__version__ = "0.1.0"\n', "helm/Chart.yaml": "a"})
    parent = _commit(repo, {"docs/x.md": "docs"})
    _commit(repo, {"operator/fargate_operator/__init__.py": '__version__ = "0.2.0"\n'})
    assert previous_commit(repo, PATHS) == parent
    tree = extract(repo, parent, tmp_path_factory.mktemp("previous"), (*PATHS, "crds"))  # crds: absent there
    assert tree.version == "0.1.0" and (tree.root / "helm" / "Chart.yaml").read_text() == "a"
    assert not (tree.root / "docs").exists() and not (tree.root / "crds").exists()


def test_a_history_without_a_previous_tree_is_an_error_not_a_skip(repo: Path) -> None:
    _commit(repo, {"helm/Chart.yaml": "a"})
    with pytest.raises(RuntimeError, match="fetch-depth"):
        previous_commit(repo, PATHS)
