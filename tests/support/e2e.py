"""What the e2e tests share with the summary hook: where they ran, and the cluster they drive.

Where they run (choose_cluster, pure): a kind cluster via pytest-kind only where a Docker engine
answers AND a kind node image is already in it AND the `kind` binary is here (no registry or
download is reachable on these machines, so pytest-kind could fetch neither); else the local node
(the node tier: a real kubelet, containerd and CoreDNS in a network namespace), where this machine
can run it; else the node-less local control plane.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

E2E_MODE = pytest.StashKey[str]()
KIND_NODE_IMAGE = "kindest/node"


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


@dataclass(frozen=True)
class Facts:
    docker: tuple[bool, str]
    kind_images: tuple[str, ...]
    kind_binary: str | None
    node_possible: tuple[bool, str]


def choose_cluster(facts: Facts) -> tuple[str, str]:
    """("kind" | "node" | "control-plane", why)."""
    docker_ok, docker_why = facts.docker
    if docker_ok and facts.kind_images and facts.kind_binary:
        return "kind", f"{docker_why}; kind node image {facts.kind_images[0]}; kind at {facts.kind_binary}"
    if not docker_ok:
        missing = docker_why
    elif not facts.kind_images:
        missing = f"{docker_why}, but no {KIND_NODE_IMAGE} image in it (no registry to pull one from)"
    else:
        missing = "no `kind` binary on PATH (pytest-kind would download it; no download is reachable)"
    node_ok, node_why = facts.node_possible
    if node_ok:
        return "node", f"kind not used: {missing}; {node_why}"
    return "control-plane", f"kind not used: {missing}; no local node: {node_why}"


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


def kind_node_images() -> tuple[str, ...]:
    docker = shutil.which("docker")
    if docker is None:
        return ()
    res = subprocess.run(
        [docker, "images", KIND_NODE_IMAGE, "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    return tuple(line for line in res.stdout.split() if line) if res.returncode == 0 else ()


def node_possible() -> tuple[bool, str]:
    """The node tier needs root (namespaces, mounts, apt-get for its host packages) on Linux."""
    if os.geteuid() != 0:
        return False, "the node tier needs root"
    if not Path("/proc/self/ns/net").exists():
        return False, "no network namespaces here"
    return True, "the local node: kubelet + containerd + kube-proxy + CoreDNS in a network namespace"


def facts() -> Facts:
    docker = docker_engine()
    return Facts(
        docker=docker,
        kind_images=kind_node_images() if docker[0] else (),
        kind_binary=shutil.which("kind"),
        node_possible=node_possible(),
    )
