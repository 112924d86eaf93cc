"""docs/requirements.md maps the README's promises to tests; every test it names must exist.

A renamed or removed test would otherwise leave a promise pointing at nothing.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
REQUIREMENTS = TESTS.parent / "docs" / "requirements.md"
CITED = re.compile(r"`([\w/]+\.py)::(test_\w+)`")


def defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_every_test_named_in_the_requirements_exists() -> None:
    cited = CITED.findall(REQUIREMENTS.read_text())
    assert len(cited) > 100, "the table names its tests as `file::test`"
    missing = [
        f"{file}::{name}"
        for file, name in cited
        if not (TESTS / file).is_file() or name not in defined_tests(TESTS / file)
    ]
    assert missing == [], "docs/requirements.md names tests that do not exist"
