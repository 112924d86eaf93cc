"""The release version: written in one place, operator/fargate_operator/__init__.py, and copied from there.

`fargate-devenv codegen` (``make generate``) stamps the copies: the chart's ``version`` and ``appVersion``
and the Dockerfile's default ``VERSION`` label. The image tag (``image.tag`` defaults to ``appVersion``) and
the rendered manifest (deploy/, helm template of the chart) follow the chart. The Python package reads
``__version__`` itself (pyproject.toml's ``[tool.setuptools.dynamic]``). ``codegen --check`` and
tests/unit/test_release_version.py fail when a copy disagrees.
"""

from __future__ import annotations

import re
from pathlib import Path

SOURCE = "operator/fargate_operator/__init__.py"
_SOURCE_LINE = re.compile(r'^__version__ = "([^"]*)"$', re.M)
# SemVer 2.0.0 without build metadata (a chart version and an image tag may not carry "+").
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")

# File -> (line pattern, line template): each pattern must match exactly one line of its file.
STAMPS: dict[str, tuple[tuple[re.Pattern[str], str], ...]] = {
    "helm/fargate-operator/Chart.yaml": (
        (re.compile(r"^version: .*$", re.M), "version: {version}"),
        (re.compile(r"^appVersion: .*$", re.M), 'appVersion: "{version}"'),
    ),
    "Dockerfile": ((re.compile(r"^ARG VERSION=.*$", re.M), "ARG VERSION={version}"),),
}


def source_version(root: Path) -> str:
    """The version in the checkout at `root`, read from the file (importing would find the installed package)."""
    found = _SOURCE_LINE.findall((root / SOURCE).read_text())
    if len(found) != 1:
        raise ValueError(f'{SOURCE} must assign __version__ = "X.Y.Z" exactly once')
    if not SEMVER.match(found[0]):
        raise ValueError(f"{SOURCE}: {found[0]!r} is not a SemVer version (X.Y.Z or X.Y.Z-pre)")
    return str(found[0])


def stamped(root: Path, version: str) -> dict[str, str]:
    """Each copying file's text with `version` stamped in."""
    files = {}
    for path, lines in STAMPS.items():
        text = (root / path).read_text()
        for pattern, template in lines:
            text, count = pattern.subn(template.format(version=version), text)
            if count != 1:
                raise ValueError(f"{path}: {pattern.pattern!r} matched {count} lines, not one")
        files[path] = text
    return files


def stale_stamps(root: Path) -> list[str]:
    """The files whose copy of the version differs from the source's."""
    return [p for p, text in stamped(root, source_version(root)).items() if (root / p).read_text() != text]


def write_stamps(root: Path) -> None:
    for path, text in stamped(root, source_version(root)).items():
        (root / path).write_text(text)
