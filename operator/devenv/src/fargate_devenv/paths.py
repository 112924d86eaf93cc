"""Where the source checkout is: the development commands run from one (crds/, helm/, the Dockerfile)."""

from __future__ import annotations

from pathlib import Path


def repo_root() -> Path:
    """The checkout this package is installed from (editable): operator/devenv/src/fargate_devenv/ is three below."""
    root = Path(__file__).resolve().parents[4]
    if not (root / "pyproject.toml").is_file() or not (root / "crds").is_dir():
        # A non-editable install has no checkout around it; say so instead of failing later on a missing file.
        raise RuntimeError(
            f"fargate-devenv runs from a source checkout (pip install -e operator/devenv); {root} is not one"
        )
    return root
