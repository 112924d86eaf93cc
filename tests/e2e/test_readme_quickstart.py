"""The README's quick start, run as the README prints it.

The commands come from README.md itself (the "Start in two commands" section), so the README and
this test cannot drift apart: `make run` from the first block, in a scratch copy of the repository
(so a developer's own `.run` world is left alone), then every other shell block of the section in
one bash session, as a user types them in a second terminal. The section must keep naming what the
assertions below look for.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SECTION = "## Start in two commands"
MARK = "::readme-command::"


def quickstart_blocks(readme: str) -> list[str]:
    """The fenced `sh` blocks of the quick-start section, in order."""
    start = readme.index(SECTION)
    end = readme.find("\n## ", start + len(SECTION))
    section = readme[start : end if end != -1 else None]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)


def commands(block: str) -> list[str]:
    """Shell commands of a block, continuation lines joined; comment-only lines dropped."""
    out: list[str] = []
    pending = ""
    for line in block.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        out.append(pending + line)
        pending = ""
    return out


def test_the_quickstart_section_is_what_this_test_runs() -> None:
    blocks = quickstart_blocks((REPO / "README.md").read_text())
    assert len(blocks) >= 2
    assert any(c.split("#")[0].strip() == "make run" for c in commands(blocks[0]))
    second_terminal = [c for b in blocks[1:] for c in commands(b)]
    assert second_terminal[0] == "source .run/env"
    assert "kubectl apply -f examples/" in second_terminal


@dataclass(frozen=True)
class Checkout:
    path: Path
    make_run: subprocess.Popen[bytes]
    log: Path


def _scratch_copy(dest: Path) -> None:
    """The tracked files with their times (so make sees its venv stamps as current), plus the venvs."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    for venv in (".venv", ".venv-awscli"):
        if (REPO / venv).exists():
            (dest / venv).symlink_to(REPO / venv)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Checkout]:
    path = tmp_path_factory.mktemp("readme") / "repo"
    path.mkdir()
    _scratch_copy(path)
    first = commands(quickstart_blocks((path / "README.md").read_text())[0])
    make_run = next(c for c in first if c.split("#")[0].strip() == "make run")
    log = path.parent / "make-run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["bash", "-c", make_run], cwd=path, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 600
        while "world is up" not in log.read_text(errors="replace"):
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.5)
        yield Checkout(path, proc, log)
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C, as the README says
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_the_quickstart_works_as_printed(checkout: Checkout) -> None:
    blocks = quickstart_blocks((checkout.path / "README.md").read_text())
    typed = [c for b in blocks[1:] for c in commands(b)]
    # One bash session, as in a terminal; each command's output is told apart by a marker line.
    script = "set -euo pipefail\n" + "".join(f"echo '{MARK}{i}'\n{c}\n" for i, c in enumerate(typed))
    res = subprocess.run(
        ["bash", "-c", script], cwd=checkout.path, capture_output=True, text=True, timeout=900, env=_clean_env()
    )
    outputs = dict(
        (int(chunk.split("\n", 1)[0]), chunk.split("\n", 1)[1] if "\n" in chunk else "")
        for chunk in res.stdout.split(MARK)[1:]
    )
    failed_at = max(outputs) if outputs else 0
    assert res.returncode == 0, (
        f"README command failed: {typed[failed_at]!r}\nstdout:\n{res.stdout[-3000:]}\nstderr:\n{res.stderr[-3000:]}"
        f"\noperator log:\n{(checkout.path / '.run' / 'operator.log').read_text(errors='replace')[-3000:]}"
    )
    by_command = {typed[i]: out for i, out in outputs.items()}
    listed = [out for cmd, out in by_command.items() if "aws ecs list-tasks" in cmd]
    assert listed, "the quick start lists the service's tasks through the adapter"
    task_arns = json.loads(listed[0])["taskArns"]
    assert task_arns and all(":task/demo/" in arn for arn in task_arns), listed[0]
    ran = [out for cmd, out in by_command.items() if "aws ecs run-task" in cmd]
    assert ran and json.loads(ran[0])["tasks"], "the quick start runs a task through the adapter"


def _clean_env() -> dict[str, str]:
    """The environment of a fresh terminal: nothing of the test world's own settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KUBECONFIG", "FARGATE_"))}
