"""`fargate-devenv node` (make run-node) as a person meets it, next to another node (the session's).

Two nodes at once is what two test runs on one shared machine do: the second's teardown must leave
the first intact (its bind mounts over the shared host mountpoints, its cgroups, its processes).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fargate_devenv.node import NodeWorld
from support.node import NodeImages


def _env(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        key, value = line.removeprefix("export ").split("=", 1)
        out[key] = value.strip("'")
    return out


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short directory: containerd's sockets live under the run directory, and a unix socket path
    may not exceed 104 bytes (pytest's own temporary paths do on workers)."""
    path = Path(tempfile.mkdtemp(prefix="dev-node-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_dev_node_installs_the_operator_and_stops_leaving_the_other_node_intact(
    node: NodeWorld, node_images: NodeImages, short_tmp: Path
) -> None:
    run_dir, log = short_tmp / "run", short_tmp / "dev.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fargate_devenv.cli", "node", "--run-dir", str(run_dir)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 400
        while "Ctrl-C stops everything" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(1)
        env = _env(run_dir / "node-env")
        assert node.assets is not None
        kubectl = [str(node.assets.kubectl), f"--kubeconfig={env['KUBECONFIG']}"]
        deployment = json.loads(
            subprocess.run(
                [*kubectl, "get", "deployment", "-n", "fargate-system", "fargate-operator", "-o", "json"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        assert deployment["status"].get("readyReplicas") == 2, "the chart's two replicas (one leads)"
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == node_images.operator.ref
        assert env["AWS_ENDPOINT_URL_ECS"].startswith("http://127.0.0.1:"), "the host uses loopback only"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(120)
    assert proc.returncode == 0, log.read_text()[-3000:]
    # The session's node is untouched by the other's teardown: Ready, and it still runs pods.
    ready = node.kubectl("get", "nodes", "-o", "jsonpath={.items[0].status.conditions[?(@.type=='Ready')].status}")
    assert ready.stdout == "True"
    assert Path("/var/lib/kubelet").is_dir() and Path("/run/containerd").is_dir(), "mountpoints the first still uses"
    # Inside the first node's namespace its bind mount is still there (the host's directory is empty).
    assert node.ns is not None and "device-plugins" in node.ns.run("ls", "/var/lib/kubelet").split()
    assert not any(Path("/var/lib/kubelet").iterdir())
