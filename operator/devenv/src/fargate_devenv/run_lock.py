"""One `fargate-devenv run` world per run directory.

A second `make run` on the same `.run` would rewrite the PKI and kubeconfig under the running
world. An exclusive flock on `<run-dir>/dev.lock`, held for the whole life of the world, stops it
before it touches anything; the lock file names the holder's pid. The kernel releases the lock
when the holder dies, however it dies, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO


class RunDirBusy(Exception):
    def __init__(self, run_dir: Path, pid: str) -> None:
        super().__init__(
            f"another fargate-devenv world is running from {run_dir} (pid {pid or 'unknown'}); "
            f"stop it first (Ctrl-C in its terminal, or kill {pid or '<pid>'}), or pass another --run-dir"
        )
        self.pid = pid


class RunDirLock:
    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / "dev.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> RunDirLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+")  # noqa: SIM115 -- held open for the life of the world
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip()
            f.close()
            raise RunDirBusy(self.path.parent, holder) from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        self._file = f
        return self

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the flock
            self._file = None
