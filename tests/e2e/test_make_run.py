"""`make run` as a newcomer meets it: `fargate-operator dev` brings up the world, prints how to use it, stops on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3

from fargate_operator.devenv import processes


def test_dev_world_serves_kubectl_and_the_ecs_api(tmp_path: Path) -> None:
    run_dir, port = tmp_path / "run", processes.free_port()
    log = tmp_path / "dev.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fargate_operator.cli", "dev", "--run-dir", str(run_dir), "--rest-port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while "Ctrl-C stops everything" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.5)
        printed = log.read_text()
        assert 'access key "test", secret "test"' in printed and f"http://127.0.0.1:{port}" in printed
        env = dict(line.removeprefix("export ").split("=", 1) for line in (run_dir / "env").read_text().splitlines())
        assert {"KUBECONFIG", "AWS_ENDPOINT_URL_ECS", "FARGATE_SUBNET", "FARGATE_SECURITY_GROUP"} <= set(env)
        kubectl = env["PATH"].split(":")[0] + "/kubectl"
        kube_env = {**os.environ, "KUBECONFIG": env["KUBECONFIG"].strip("'")}
        out = subprocess.run(
            [kubectl, "get", "fargate", "-A", "-o", "json"], capture_output=True, text=True, env=kube_env, check=True
        )
        assert json.loads(out.stdout)["kind"] == "List"

        ecs = boto3.client(
            "ecs",
            endpoint_url=f"http://127.0.0.1:{port}",
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
                assert time.monotonic() < deadline, (run_dir / "operator.log").read_text()[-2000:]
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
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    assert proc.returncode == 0
