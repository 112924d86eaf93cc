"""The operator's wheel holds the operator alone: no test world, no ECS emulator, no moto.

The image installs exactly this wheel (Dockerfile), so what is not here is not in the image either;
tests/node/test_image.py looks at the image's site-packages itself.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
# Test-world packages by their old and new names: the old sat inside fargate_operator.
FORBIDDEN = ("fargate_devenv", "fargate_ecs_sim", "fargate_operator.devenv", "moto")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # From a copy of what the Dockerfile sees (pyproject, README, operator/ with all three projects), so
    # no build/ left behind by an earlier build here can add or hide anything.
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("wheel")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "operator", src / "operator", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(src)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("fargate_operator-*.whl")
    return built


def _modules(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return {n.removesuffix(".py").replace("/", ".") for n in zf.namelist() if n.endswith(".py")}


def test_the_operator_wheel_holds_no_test_world_module(wheel: Path) -> None:
    modules = _modules(wheel)
    assert "fargate_operator.cli" in modules and "fargate_operator.web.rest" in modules, sorted(modules)[:20]
    shipped = sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))
    assert not shipped, f"the operator wheel ships the test world: {shipped}"
    assert {m.split(".")[0] for m in modules} == {"fargate_operator"}


def test_the_operator_wheel_does_not_require_moto(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        (metadata,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        requires = [line for line in zf.read(metadata).decode().splitlines() if line.startswith("Requires-Dist:")]
    runtime = [r for r in requires if "extra ==" not in r]  # `test` may name moto; an install without extras may not
    assert runtime and not [r for r in runtime if "moto" in r or "fargate-devenv" in r or "fargate-ecs-sim" in r]
