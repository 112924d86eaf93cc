"""What the GitHub Actions workflows name in this repository: `make` targets and paths."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

_MAKE = re.compile(r"\bmake((?:[ \t]+[\w.=-]+)+)")
_TARGET = re.compile(r"^([A-Za-z][\w.-]*)[ \t]*:(?!=)", re.M)
_TOKEN = re.compile(r"[\w.*-]+(?:/[\w.*-]+)*")
_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
# `with:` inputs whose value is a path of the checkout.
PATH_INPUTS = ("context", "file", "path", "files")
_HASH_FILES = re.compile(r"hashFiles\('([^']+)'\)")
# A word of a script without a folder that is still a file of the checkout: CHANGELOG.md, Dockerfile.
_ROOT_FILE = re.compile(r"^(?:[\w-]+\.(?:md|ya?ml|toml|py|lock|json|txt)|Dockerfile|Makefile)$")


def makefile_targets(makefile: Path) -> set[str]:
    return set(_TARGET.findall(makefile.read_text()))


def steps(workflow: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for job in workflow.get("jobs", {}).values():
        yield from job.get("steps", [])


def make_targets(workflow: dict[str, Any]) -> set[str]:
    """Every target a `run:` script passes to make (variables and flags left out)."""
    targets = set()
    for step in steps(workflow):
        for match in _MAKE.finditer(step.get("run", "")):
            targets |= {w for w in match.group(1).split() if "=" not in w and not w.startswith("-")}
    return targets


def repository_paths(workflow: dict[str, Any], top_level: set[str]) -> set[str]:
    """Paths the workflow names in this checkout: path-like `with:` inputs and hashFiles() arguments,
    and the words of `run:` scripts that start with a top-level folder of the repository or look like
    a file at its root (what a job makes at run time goes under dist/, which the checkout lacks)."""
    found = set()
    for step in steps(workflow):
        for key in PATH_INPUTS:
            value = step.get("with", {}).get(key)
            if isinstance(value, str) and not _EXPRESSION.search(value) and not value.startswith("~"):
                found |= set(value.split())
        for value in step.get("with", {}).values():
            found |= set(_HASH_FILES.findall(str(value)))
        script = _EXPRESSION.sub(" ", step.get("run", ""))
        for word in _TOKEN.findall(script):
            if ("/" in word and word.split("/")[0] in top_level) or _ROOT_FILE.match(word):
                found.add(word)
    return found


def load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded
