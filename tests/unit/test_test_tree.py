"""The test tree's own rules, which pytest enforces only when the two offending modules meet in one run."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_no_two_test_modules_share_a_base_name() -> None:
    """Test directories are not packages (rootdir-relative "prepend" imports): two modules with the same
    base name import as the same module, and a run collecting both stops with "import file mismatch"."""
    where: dict[str, list[str]] = defaultdict(list)
    for path in TESTS.rglob("test_*.py"):
        where[path.name].append(str(path.relative_to(TESTS)))
    shared = {name: paths for name, paths in where.items() if len(paths) > 1}
    assert not shared, f"rename one of each: {shared}"
