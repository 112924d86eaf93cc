"""The tree an upgrade starts from: the newest commit whose chart, CRDs or image differ from this checkout's.

HEAD~1 is often the same chart and image (a docs or test commit), and an upgrade between equal trees
tests nothing. So "previous" is the parent of the newest commit (first-parent history) that changed
any of UPGRADE_PATHS: the last state of the shipped artefacts before the current one. It is taken
out of git (``git archive``), so it needs history: CI's checkout fetches it (fetch-depth: 0).
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from fargate_devenv.image import OPERATOR_CONTEXT
from fargate_devenv.release_version import source_version

# What users install: the chart (with its CRDs), the CRDs at the top, and the image's build context.
UPGRADE_PATHS = ("helm", "crds", *OPERATOR_CONTEXT)


@dataclass(frozen=True)
class PreviousTree:
    commit: str
    subject: str
    version: str
    root: Path  # UPGRADE_PATHS as they were at `commit`

    @property
    def chart(self) -> Path:
        return self.root / "helm" / "fargate-operator"

    @property
    def crds(self) -> Path:
        return self.root / "helm" / "fargate-operator" / "crds"


def _git(repo: Path, *args: str) -> str:
    res = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {res.stderr.strip()}")
    return res.stdout.strip()


def previous_commit(repo: Path, paths: tuple[str, ...] = UPGRADE_PATHS) -> str:
    """The parent of the newest commit that changed `paths` (the tree before the last shipped change)."""
    changed = _git(repo, "log", "-1", "--first-parent", "--format=%H", "HEAD", "--", *paths)
    if not changed:
        raise RuntimeError(f"no commit in {repo}'s history changed {paths}: a shallow clone? (fetch-depth: 0)")
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", f"{changed}^1")
    except RuntimeError:
        raise RuntimeError(f"{changed} has no parent in this clone: fetch the history (fetch-depth: 0)") from None


def extract(repo: Path, commit: str, dest: Path, paths: tuple[str, ...] = UPGRADE_PATHS) -> PreviousTree:
    """`paths` as they were at `commit`, written under `dest` (paths missing there are left out)."""
    present = [p for p in paths if _git(repo, "ls-tree", "--name-only", commit, "--", p)]
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", commit, "--", *present],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tf:
        tf.extractall(dest, filter="data")
    subject = _git(repo, "log", "-1", "--format=%h %s", commit)
    return PreviousTree(commit, subject, source_version(dest), dest)
