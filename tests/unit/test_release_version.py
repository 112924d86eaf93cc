"""One version, in operator/fargate_operator/__init__.py: the package, chart, image and manifests carry it."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import pytest
import yaml

import fargate_operator
from fargate_devenv.release_version import SEMVER, SOURCE, STAMPS, source_version, stale_stamps, write_stamps
from fargate_operator.cli import main

REPO = Path(__file__).resolve().parents[2]
CHART = "helm/fargate-operator/Chart.yaml"


def _copies(root: Path) -> dict[str, str]:
    """Every place that names the version, as each says it."""
    chart = yaml.safe_load((root / CHART).read_text())
    deploy = (root / "deploy/fargate-operator.yaml").read_text()
    images = set(re.findall(r'image: "ghcr\.io/[\w.-]+/fargate-operator:([^"]+)"', deploy))
    labels = set(re.findall(r'app\.kubernetes\.io/version: "([^"]+)"', deploy))
    charts = set(re.findall(r"helm\.sh/chart: fargate-operator-(\S+)", deploy))
    dockerfile = re.findall(r"^ARG VERSION=(.*)$", (root / "Dockerfile").read_text(), re.M)
    return {
        "fargate_operator.__version__": fargate_operator.__version__,
        "Chart.yaml version": chart["version"],
        "Chart.yaml appVersion": chart["appVersion"],
        "deploy/ image tag": ",".join(sorted(images)),
        "deploy/ app.kubernetes.io/version": ",".join(sorted(labels)),
        "deploy/ helm.sh/chart": ",".join(sorted(charts)),
        "Dockerfile ARG VERSION": ",".join(dockerfile),
    }


def test_every_copy_of_the_version_agrees_with_its_one_place() -> None:
    version = source_version(REPO)
    disagree = {where: said for where, said in _copies(REPO).items() if said != version}
    assert not disagree, f"{SOURCE} says {version}; run `make generate`: {disagree}"


def test_the_package_reads_its_version_from_the_one_place() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "fargate_operator.__version__"}


def test_the_image_tag_follows_the_charts_app_version() -> None:
    values = yaml.safe_load((REPO / "helm/fargate-operator/values.yaml").read_text())
    assert values["image"]["tag"] == ""  # the deployment template's default: .Chart.AppVersion


def test_a_version_bump_leaves_the_copies_stale_until_stamped(tmp_path: Path) -> None:
    for rel in [SOURCE, *STAMPS]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / rel, tmp_path / rel)
    source = tmp_path / SOURCE
    source.write_text(re.sub(r'__version__ = "[^"]*"', '__version__ = "1.2.3-rc.1"', source.read_text()))
    assert sorted(stale_stamps(tmp_path)) == sorted(STAMPS)
    write_stamps(tmp_path)
    assert stale_stamps(tmp_path) == []
    chart = yaml.safe_load((tmp_path / CHART).read_text())
    assert (chart["version"], chart["appVersion"]) == ("1.2.3-rc.1", "1.2.3-rc.1")
    assert "ARG VERSION=1.2.3-rc.1\n" in (tmp_path / "Dockerfile").read_text()


@pytest.mark.parametrize("bad", ["1.2", "v1.2.3", "01.2.3", "1.2.3+build.5"])
def test_a_version_that_is_not_semver_is_refused(tmp_path: Path, bad: str) -> None:
    assert not SEMVER.match(bad)
    (tmp_path / SOURCE).parent.mkdir(parents=True)
    (tmp_path / SOURCE).write_text(f'__version__ = "{bad}"\n')
    with pytest.raises(ValueError, match="SemVer"):
        source_version(tmp_path)


def test_the_version_flag_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.strip() == f"fargate-operator {source_version(REPO)}"
