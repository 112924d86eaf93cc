"""The per-machine cache the test world provisions into, and what its provisioners share.

The cache lives outside the repo (``$FARGATE_OPERATOR_CACHE``, else ``$XDG_CACHE_HOME/fargate-operator``,
else ``~/.cache/fargate-operator``) so every worktree and run reuses one copy of each binary. This
module sits below every provisioner (assets, node_assets, image, go_tools, ssm_plugin, host_mounts),
so none of them needs another's internals.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def cache_root() -> Path:
    if env := os.environ.get("FARGATE_OPERATOR_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fargate-operator"


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Serialise provisioning between processes (parallel test runs, make run)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def log(msg: str) -> None:
    print(f"[assets] {msg}", file=sys.stderr, flush=True)


def go(args: list[str], cwd: Path) -> str:
    """Run `go` with static builds and go.mod updates allowed; its stdout."""
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    res = subprocess.run(["go", *args], cwd=cwd, env=env, check=True, stdout=subprocess.PIPE, text=True)
    return res.stdout
