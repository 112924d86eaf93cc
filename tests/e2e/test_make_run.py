"""`make run` as a newcomer meets it: `fargate-devenv run` brings up the world, prints how to use it, stops on Ctrl-C.

Clients nobody here wrote talk to it: kubectl, boto3, and the MCP Inspector CLI (npm).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from fargate_devenv import processes
from fargate_devenv.ecs_emulator import EXAMPLE_SECURITY_GROUP, EXAMPLE_SUBNET
from fargate_operator.web.app import PID_HEADER

INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass(frozen=True)
class DevWorld:
    run_dir: Path
    rest: str
    mcp: str
    printed: str


@pytest.fixture(scope="module")
def dev_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevWorld]:
    tmp = tmp_path_factory.mktemp("make-run")
    run_dir, rest_port, mcp_port = tmp / "run", processes.free_port(), processes.free_port()
    log = tmp / "dev.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            _dev_command(run_dir, rest_port, mcp_port),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while "Ctrl-C stops everything" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.5)
        yield DevWorld(run_dir, f"http://127.0.0.1:{rest_port}", f"http://127.0.0.1:{mcp_port}/mcp", log.read_text())
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    assert proc.returncode == 0, log.read_text()[-2000:]


def test_dev_world_serves_kubectl_and_the_ecs_api(dev_world: DevWorld) -> None:
    assert 'access key "test", secret "test"' in dev_world.printed and dev_world.rest in dev_world.printed
    assert dev_world.mcp in dev_world.printed and 'bearer token "test"' in dev_world.printed
    env = dict(
        line.removeprefix("export ").split("=", 1) for line in (dev_world.run_dir / "env").read_text().splitlines()
    )
    assert {"KUBECONFIG", "AWS_ENDPOINT_URL_ECS", "FARGATE_SUBNET", "FARGATE_SECURITY_GROUP"} <= set(env)
    kubectl = env["PATH"].split(":")[0] + "/kubectl"
    kube_env = {**os.environ, "KUBECONFIG": env["KUBECONFIG"].strip("'")}
    out = subprocess.run(
        [kubectl, "get", "fargate", "-A", "-o", "json"], capture_output=True, text=True, env=kube_env, check=True
    )
    assert json.loads(out.stdout)["kind"] == "List"

    ecs = boto3.client(
        "ecs",
        endpoint_url=dev_world.rest,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            created = ecs.create_cluster(clusterName="hello")
            break
        except Exception:
            assert time.monotonic() < deadline, (dev_world.run_dir / "operator.log").read_text()[-2000:]
            time.sleep(0.5)
    assert created["cluster"]["status"] == "ACTIVE"
    out = subprocess.run(
        [kubectl, "get", "fargatecluster", "hello", "-n", "default", "-o", "jsonpath={.status.clusterArn}"],
        capture_output=True,
        text=True,
        env=kube_env,
        check=True,
    )
    assert out.stdout == created["cluster"]["clusterArn"]


def _dev_command(run_dir: Path, rest_port: int, mcp_port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "fargate_devenv.cli",
        "run",
        "--run-dir",
        str(run_dir),
        "--rest-port",
        str(rest_port),
        "--mcp-port",
        str(mcp_port),
    ]


def test_world_is_up_only_once_its_own_operator_answers(dev_world: DevWorld) -> None:
    """ "world is up" is printed after the operator this command started answers /readyz itself."""
    pid = re.search(r"operator\s+pid (\d+)", dev_world.printed)
    assert pid, dev_world.printed
    with urllib.request.urlopen(f"{dev_world.rest}/readyz", timeout=5) as resp:
        assert resp.status == 200
        assert resp.headers.get(PID_HEADER) == pid.group(1)


def test_second_dev_on_the_same_run_dir_refuses_naming_the_running_pid(dev_world: DevWorld) -> None:
    kubeconfig = (dev_world.run_dir / "kubeconfig").read_bytes()
    holder = (dev_world.run_dir / "dev.lock").read_text().strip()
    second = subprocess.run(
        _dev_command(dev_world.run_dir, processes.free_port(), processes.free_port()),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode != 0
    assert f"pid {holder}" in second.stderr and str(dev_world.run_dir) in second.stderr, second.stderr
    assert "world is up" not in second.stdout
    # The running world was not touched: same credentials, and it still answers.
    assert (dev_world.run_dir / "kubeconfig").read_bytes() == kubeconfig
    with urllib.request.urlopen(f"{dev_world.rest}/readyz", timeout=5) as resp:
        assert resp.status == 200


def test_a_port_in_use_is_a_startup_error_naming_the_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        dev = subprocess.run(
            _dev_command(tmp_path / "run", port, processes.free_port()), capture_output=True, text=True, timeout=60
        )
        assert dev.returncode != 0 and f"127.0.0.1:{port}" in dev.stderr and "--rest-port" in dev.stderr, dev.stderr
        assert "world is up" not in dev.stdout
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "fargate_operator.cli",
                "run",
                "--rest-host",
                "127.0.0.1",
                "--rest-port",
                str(processes.free_port()),
                "--mcp-host",
                "127.0.0.1",
                "--mcp-port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 2 and f"127.0.0.1:{port}" in run.stderr and "--mcp-port" in run.stderr, run.stderr


@pytest.mark.skipif(
    shutil.which("npx") is None, reason="npx (Node.js) is not installed: the MCP Inspector CLI cannot run"
)
def test_mcp_inspector_cli_lists_tools_and_calls_a_read_tool(dev_world: DevWorld) -> None:
    base = [
        "npx",
        "-y",
        INSPECTOR,
        "--cli",
        dev_world.mcp,
        "--transport",
        "http",
        "--header",
        "Authorization: Bearer test",
    ]

    def inspector(*args: str) -> dict[str, object]:
        res = subprocess.run([*base, *args], capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stdout[-1000:] + res.stderr[-1000:]
        out: dict[str, object] = json.loads(res.stdout)
        return out

    tools = inspector("--method", "tools/list")["tools"]
    # The 20 ECS operations and the two tools made for agents (the local admin may exec and read logs).
    assert isinstance(tools, list) and len(tools) == 22
    assert {"executecommandoutput", "gettasklogs"} <= {t["name"] for t in tools}
    called = inspector(
        "--method", "tools/call", "--tool-name", "describeclusters", "--tool-arg", 'clusters=["default"]'
    )
    assert called["isError"] is False and "failures" in called["structuredContent"]  # type: ignore[operator]


def test_quick_start_examples_apply_unchanged_and_run(dev_world: DevWorld) -> None:
    """README quick start: `kubectl apply -f examples/` in `make run`'s world, whose ECS emulator holds the
    subnet and security group examples/ names; the service reaches 2 running tasks, the task runs."""
    env = dict(
        line.removeprefix("export ").split("=", 1) for line in (dev_world.run_dir / "env").read_text().splitlines()
    )
    assert env["FARGATE_SUBNET"] == EXAMPLE_SUBNET and env["FARGATE_SECURITY_GROUP"] == EXAMPLE_SECURITY_GROUP
    kubectl = env["PATH"].split(":")[0] + "/kubectl"
    kube_env = {**os.environ, "KUBECONFIG": env["KUBECONFIG"].strip("'")}

    def kube(*args: str) -> str:
        out = subprocess.run([kubectl, *args], capture_output=True, text=True, env=kube_env)
        assert out.returncode == 0, out.stderr
        return out.stdout

    kube("apply", "-n", "default", "-f", str(EXAMPLES))
    try:
        deadline = time.monotonic() + 240
        service: dict[str, object] = {}
        task: dict[str, object] = {}
        while time.monotonic() < deadline:
            service = json.loads(kube("get", "fargateservice", "web", "-n", "default", "-o", "json")).get("status", {})
            task = json.loads(kube("get", "fargatetask", "web-migrate-001", "-n", "default", "-o", "json")).get(
                "status", {}
            )
            if service.get("runningCount") == 2 and task.get("phase") == "Running":
                break
            time.sleep(1)
        tail = (dev_world.run_dir / "operator.log").read_text()[-2000:]
        assert service.get("runningCount") == 2 and service.get("rolloutState") == "COMPLETED", (service, tail)
        assert task.get("phase") == "Running", (task, tail)
    finally:
        kube("delete", "-n", "default", "-f", str(EXAMPLES), "--wait=true", "--timeout=120s")
