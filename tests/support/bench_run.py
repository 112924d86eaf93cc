"""Running a benchmark script of bench/ from a test: its small form, its JSON read back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_bench(script: str, args: list[str], output: Path, timeout: float) -> None:
    """One benchmark script, its JSON into `output`; fails with the end of its output when it fails."""
    env = {**os.environ, "FARGATE_BENCH_OUTPUT": str(output)}
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
