"""Tests are named after the behaviour they check, never after a tracker's item or issue number.

A number means nothing to a reader without the tracker, which is not in the repository; the name
is what `pytest -k`, the docs and a failing CI run show.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
TRACKER_NUMBER = re.compile(r"test_(item|issue)\d+", re.IGNORECASE)


def tracker_named(root: Path) -> list[str]:
    """Test files, functions and classes under root whose name carries a tracker number."""
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        where = path.relative_to(root).as_posix()
        if TRACKER_NUMBER.search(path.name):
            found.append(where)
        tree = ast.parse(path.read_text(), filename=str(path))
        names = [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
        found.extend(f"{where}::{name}" for name in names if TRACKER_NUMBER.search(name))
    return found


def test_no_test_is_named_after_a_tracker_number() -> None:
    assert tracker_named(TESTS) == [], "name these after the behaviour they check"


def test_a_test_named_after_a_tracker_number_is_found(tmp_path: Path) -> None:
    (tmp_path / "test_issue3_things.py").write_text("def test_item12_works():\n    pass\n")
    (tmp_path / "test_things.py").write_text("class TestIssue4:\n    async def test_issue4_x(self):\n        pass\n")
    assert tracker_named(tmp_path) == [
        "test_issue3_things.py",
        "test_issue3_things.py::test_item12_works",
        "test_things.py::test_issue4_x",
    ]
