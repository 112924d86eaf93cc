"""Install the node tier's host programs from Debian's packages when they are missing.

CI starts on a bare machine (Python, Go and make only), as root, where ``apt-get``
works: the node tier's own setup installs what it needs instead of documenting a
manual step. Services the packages ship (containerd, docker) are not started by
the install: the test world starts its own copies with their own paths.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fargate_devenv import versions

CNI_DIR = Path("/usr/lib/cni")
_POLICY_RC_D = Path("/usr/sbin/policy-rc.d")


def _present(program: str) -> bool:
    if program.startswith("/"):
        return Path(program).exists()
    return shutil.which(program) is not None or any(
        (Path(d) / program).exists() for d in ("/usr/sbin", "/sbin", "/usr/bin")
    )


def missing_packages() -> list[str]:
    """Debian packages whose program is not on this machine, in install order."""
    return sorted({pkg for program, pkg in versions.NODE_HOST_PROGRAMS.items() if not _present(program)})


def which(program: str) -> Path:
    """Absolute path of a host program (components run under nsenter need absolute paths)."""
    for d in (*os.environ.get("PATH", "").split(os.pathsep), "/usr/sbin", "/sbin", "/usr/bin", "/bin"):
        candidate = Path(d) / program
        if d and candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError(f"{program} not found; install {versions.NODE_HOST_PROGRAMS.get(program, program)}")


@contextmanager
def _no_service_starts() -> Iterator[None]:
    """Debian's policy-rc.d convention: exit 101 = do not start services from maintainer scripts."""
    if _POLICY_RC_D.exists():
        yield
        return
    _POLICY_RC_D.write_text("#!/bin/sh\nexit 101\n")
    _POLICY_RC_D.chmod(0o755)
    try:
        yield
    finally:
        _POLICY_RC_D.unlink(missing_ok=True)


def ensure_host_packages() -> None:
    missing = missing_packages()
    if not missing:
        return
    if os.geteuid() != 0:
        raise RuntimeError(
            f"the node tier needs these Debian packages: {' '.join(missing)} (run as root, or install them)"
        )
    print(f"[node] installing from Debian: {' '.join(missing)}", file=sys.stderr, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with _no_service_starts():
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True, env=env)
    still = missing_packages()
    if still:
        raise RuntimeError(f"installed, but still missing programs of: {' '.join(still)}")
