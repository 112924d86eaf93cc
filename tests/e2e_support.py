"""What the e2e tests share with the summary hook: where they ran, and the cluster they drive."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

E2E_MODE = pytest.StashKey[str]()


@dataclass(frozen=True)
class E2ECluster:
    mode: str
    kubeconfig: Path
    kubectl_path: Path

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.kubectl_path), f"--kubeconfig={self.kubeconfig}", *args],
            input=input,
            capture_output=True,
            text=True,
            check=check,
            timeout=180,
        )


def docker_engine() -> tuple[bool, str]:
    docker = shutil.which("docker")
    if docker is None:
        return False, "no docker CLI on PATH"
    try:
        res = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return False, "`docker info` timed out"
    if res.returncode != 0:
        return False, "`docker info` failed: no Docker engine"
    return True, "Docker engine available"
