"""`aws ecs execute-command` through the REST adapter, with AWS's session-manager-plugin built from its source.

The AWS CLI (its own venv) asks the adapter for ExecuteCommand and DescribeTasks (the container's
runtimeId), then runs the real plugin, which speaks the data channel to the emulator's WebSocket
(docs/ecs-emulator.md). The plugin is found or built by fargate_devenv.ssm_plugin.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.ssm_plugin import ensure_session_manager_plugin
from support.awscli import AWS
from support.operator_process import OperatorProcess, awsvpc, wait_for


def test_aws_cli_execute_command_prints_the_output_of_the_command(
    adapter: OperatorProcess, credentials: dict[str, dict[str, str]], network: Network, unique: str, tmp_path: Path
) -> None:
    assert AWS.exists(), f"{AWS} is missing: `make venv` installs the AWS CLI (or set FARGATE_AWS_CLI)"
    plugin = ensure_session_manager_plugin()
    env = {
        "PATH": f"{plugin.parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": credentials["writer"]["accessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["writer"]["secretAccessKey"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
    }

    def aws(*args: str) -> subprocess.CompletedProcess[str]:
        # The plugin reads keystrokes from stdin and ends the session on EOF: give it a pipe that stays
        # open, as a terminal does, so the session ends when the agent closes the channel.
        keys, held = os.pipe()
        try:
            return subprocess.run(
                [str(AWS), "ecs", *args, "--endpoint-url", adapter.rest_endpoint],
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
                stdin=keys,
            )
        finally:
            os.close(keys)
            os.close(held)

    def json_of(*args: str) -> Any:
        res = aws(*args, "--output", "json")
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)

    cluster = f"cli-exec-{unique}"
    json_of("create-cluster", "--cluster-name", cluster)
    td = {
        "family": cluster,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [
            {"name": "app", "image": "busybox", "environment": [{"name": "WHO", "value": "the plugin"}]}
        ],
    }
    (tmp_path / "td.json").write_text(json.dumps(td))
    json_of("register-task-definition", "--cli-input-json", f"file://{tmp_path / 'td.json'}")
    net = json.dumps(awsvpc(network.subnet_id, network.security_group_id))
    run = json_of(
        "run-task",
        "--cluster",
        cluster,
        "--task-definition",
        cluster,
        "--launch-type",
        "FARGATE",
        "--enable-execute-command",
        "--started-by",
        "exec-demo",
        "--network-configuration",
        net,
    )
    arn = run["tasks"][0]["taskArn"]
    # The README's steps: find the task by startedBy, wait for it with the CLI's waiter.
    found = aws(
        "list-tasks", "--cluster", cluster, "--started-by", "exec-demo", "--query", "taskArns[0]", "--output", "text"
    )
    assert found.stdout.strip() == arn, (found.stdout, found.stderr)
    waited = aws("wait", "tasks-running", "--cluster", cluster, "--tasks", arn)
    assert waited.returncode == 0, waited.stderr

    def running() -> bool | None:
        task = json_of("describe-tasks", "--cluster", cluster, "--tasks", arn)["tasks"][0]
        return (task["lastStatus"] == "RUNNING" and all(c.get("runtimeId") for c in task["containers"])) or None

    wait_for("the task RUNNING with its containers' runtimeId", running, timeout=90, interval=0.5)
    res = aws(
        "execute-command",
        "--cluster",
        cluster,
        "--task",
        arn,
        "--container",
        "app",
        "--interactive",
        "--command",
        'sh -c "echo hello from $WHO && id"',
    )
    assert res.returncode == 0, (res.stdout, res.stderr)
    assert "Starting session with SessionId: ecs-execute-command-" in res.stdout, res.stdout
    # text mode reads the TTY's \r\n as \n
    assert "\nhello from the plugin\nuid=0(root) gid=0(root) groups=0(root)\n" in res.stdout, res.stdout
    assert "Exiting session with sessionId" in res.stdout, res.stdout
