"""The CI and release workflows name only make targets and paths that exist, and ask for little."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from support.workflows import load, make_targets, makefile_targets, repository_paths, steps

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def _top_level() -> set[str]:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return {line.split("/", 1)[0] for line in tracked.splitlines()}


def _exists(path: str) -> bool:
    return bool(list(REPO.glob(path))) if "*" in path else (REPO / path).exists()


def test_there_is_a_ci_and_a_release_workflow() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "release.yml"}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_make_target_a_workflow_runs_exists(workflow: Path) -> None:
    named = make_targets(load(workflow))
    assert named, f"{workflow.name} runs no make target"
    assert named <= makefile_targets(REPO / "Makefile")


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_repository_path_a_workflow_names_exists(workflow: Path) -> None:
    named = repository_paths(load(workflow), _top_level())
    missing = sorted(p for p in named if not _exists(p))
    assert not missing, f"{workflow.name} names paths this checkout lacks: {missing}"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_no_secret_but_the_workflows_own_token(workflow: Path) -> None:
    assert set(re.findall(r"secrets\.(\w+)", workflow.read_text())) <= {"GITHUB_TOKEN"}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_write_permissions_are_asked_for_per_job(workflow: Path) -> None:
    doc = load(workflow)
    assert doc["permissions"] in ({}, {"contents": "read"}), "the workflow's default must be read-only"
    for name, job in doc["jobs"].items():
        writes = {scope for scope, level in job.get("permissions", {}).items() if level == "write"}
        pushes = any(
            "docker/build-push-action" in s.get("uses", "") or "helm push" in s.get("run", "") for s in job["steps"]
        )
        signs = any("cosign sign" in s.get("run", "") for s in job["steps"])
        releases = any("gh release" in s.get("run", "") for s in job["steps"])
        # GitHub Pages: actions/deploy-pages needs pages and the OIDC token, and nothing else.
        deploys_pages = any("actions/deploy-pages" in s.get("uses", "") for s in job["steps"])
        assert ("packages" in writes) == pushes, name
        assert ("id-token" in writes) == (signs or deploys_pages), name
        assert ("contents" in writes) == releases, name
        assert ("pages" in writes) == deploys_pages, name


def test_the_release_renders_install_yaml_with_the_command_release_local_uses() -> None:
    """One renderer (make install-yaml, fargate_devenv/install_yaml.py): no second `helm template` to drift."""
    release = load(REPO / ".github" / "workflows" / "release.yml")
    scripts = [s.get("run", "") for s in steps(release)]
    assert any("make install-yaml" in s and "OUT=dist/install.yaml" in s for s in scripts)
    assert not any("helm template" in s for s in scripts)
    assert "install_yaml.render(" in (REPO / "operator/devenv/src/fargate_devenv/release_local.py").read_text()


def test_a_missing_target_or_path_is_found() -> None:
    workflow = yaml.safe_load(
        "jobs:\n  j:\n    steps:\n"
        "      - run: make chek && make test JOBS=2\n"
        "      - run: helm package helm/fargate-operatr --destination dist && ls dist/x.tgz CHANGELG.md\n"
        "      - uses: docker/build-push-action@v6\n        with:\n          file: Dockerfil\n"
        "      - uses: actions/cache@v4\n        with:\n          key: k-${{ hashFiles('operator/versions.py') }}\n"
    )
    assert make_targets(workflow) - makefile_targets(REPO / "Makefile") == {"chek"}
    named = repository_paths(workflow, _top_level())
    assert {p for p in named if not _exists(p)} == {
        "helm/fargate-operatr",
        "CHANGELG.md",
        "Dockerfil",
        "operator/versions.py",
    }
