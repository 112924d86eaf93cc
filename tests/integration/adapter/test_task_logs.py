"""A task's logs, end to end: what its container printed, through MCP `gettasklogs` and the AWS CLI's `aws logs`.

The emulator writes an awslogs container's output to its CloudWatch Logs (docs/ecs-emulator.md); the
operator reads it in the task's account and region, from where the task's task definition says,
for callers with `get fargatetasks/log`.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from mcp import ClientSession

from fargate_devenv.ecs_emulator import ACCESS_KEY, REGION, SECRET_KEY, Network
from fargate_devenv.world import World
from support.adapter import mcp
from support.awscli import AWS
from support.operator_process import OperatorProcess, awsvpc, wait_for

SCRIPT = "echo hello from the task; echo 'second line: 42 rows'; exit 3"


def _run_printing_task(adapter: OperatorProcess, token: str, network: Network, unique: str) -> str:
    """A task whose container prints two lines and exits 3; its ARN once it is STOPPED."""
    cluster, family = f"logs-{unique}", f"logs-{unique}"
    net = awsvpc(network.subnet_id, network.security_group_id)
    container = {
        "name": "app",
        "image": "busybox",
        "command": ["sh", "-c", SCRIPT],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": f"/ecs/{family}",
                "awslogs-region": REGION,
                "awslogs-stream-prefix": "job",
                "awslogs-create-group": "true",
            },
        },
    }

    async def start(s: ClientSession) -> str:
        for name, args in (
            ("createcluster", {"clusterName": cluster}),
            (
                "registertaskdefinition",
                {
                    "family": family,
                    "networkMode": "awsvpc",
                    "requiresCompatibilities": ["FARGATE"],
                    "cpu": "256",
                    "memory": "512",
                    "containerDefinitions": [container],
                },
            ),
        ):
            res = await s.call_tool(name, args)
            assert not res.is_error, (name, res.content)
        res = await s.call_tool(
            "runtask",
            {"cluster": cluster, "taskDefinition": family, "launchType": "FARGATE", "networkConfiguration": net},
        )
        assert not res.is_error, res.content
        return str(res.structured_content["tasks"][0]["taskArn"])

    arn = mcp(adapter, token, start)

    async def stopped(s: ClientSession) -> bool:
        res = await s.call_tool("describetasks", {"cluster": cluster, "tasks": [arn]})
        return bool(res.structured_content["tasks"][0].get("lastStatus") == "STOPPED")

    wait_for("the printing task to stop", lambda: mcp(adapter, token, stopped), timeout=60)
    return arn


def test_a_task_that_printed_and_exited_has_its_logs_through_mcp_and_aws_logs(
    world: World, adapter: OperatorProcess, credentials: dict[str, dict[str, str]], network: Network, unique: str
) -> None:
    token = credentials["writer"]["token"]
    arn = _run_printing_task(adapter, token, network, unique)
    cluster = f"logs-{unique}"

    async def logs(s: ClientSession) -> Any:
        return await s.call_tool("gettasklogs", {"cluster": cluster, "task": arn})

    res = mcp(adapter, token, logs)
    assert not res.is_error, res.content
    out = res.structured_content
    assert [e["message"] for e in out["events"]] == ["hello from the task", "second line: 42 rows"]  # newest last
    task_id = arn.rsplit("/", 1)[1]
    assert out["logGroupName"] == f"/ecs/logs-{unique}" and out["logStreamName"] == f"job/app/{task_id}"
    assert out["container"] == "app" and out["truncated"] is False

    async def last_line(s: ClientSession) -> Any:
        return await s.call_tool("gettasklogs", {"cluster": cluster, "task": arn, "limit": 1})

    one = mcp(adapter, token, last_line).structured_content
    assert [e["message"] for e in one["events"]] == ["second line: 42 rows"] and "earlier" in one["note"]

    # The same lines with the AWS CLI, unmodified, against the emulator's CloudWatch Logs.
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
    }
    cli = subprocess.run(
        [
            *(str(AWS), "logs", "get-log-events", "--endpoint-url", world.ecs.endpoint, "--output", "json"),
            *(
                "--log-group-name",
                f"/ecs/logs-{unique}",
                "--log-stream-name",
                f"job/app/{task_id}",
                "--start-from-head",
            ),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    assert [e["message"] for e in json.loads(cli.stdout)["events"]] == ["hello from the task", "second line: 42 rows"]


def test_a_caller_without_get_fargatetasks_log_is_refused(
    adapter: OperatorProcess, credentials: dict[str, dict[str, str]], network: Network, unique: str
) -> None:
    """The reader may get FargateTasks, not their log subresource: refused, naming it; the tool is not listed."""
    arn = _run_printing_task(adapter, credentials["writer"]["token"], network, f"r{unique}")

    async def as_reader(s: ClientSession) -> Any:
        listed = {t.name for t in (await s.list_tools()).tools}
        return listed, await s.call_tool("gettasklogs", {"cluster": f"logs-r{unique}", "task": arn})

    listed, res = mcp(adapter, credentials["reader"]["token"], as_reader)
    assert "gettasklogs" not in listed and "describetasks" in listed
    assert res.is_error and res.content[0].text.startswith("AccessDeniedException")
    assert 'get resource "fargatetasks/log"' in res.content[0].text


def test_gettasklogs_names_a_bad_argument(adapter: OperatorProcess, credentials: dict[str, dict[str, str]]) -> None:
    async def work(s: ClientSession) -> list[Any]:
        return [
            await s.call_tool("gettasklogs", {}),
            await s.call_tool("gettasklogs", {"task": "0123456789abcdef0123456789abcdef", "limit": 0}),
            await s.call_tool("gettasklogs", {"task": "0123456789abcdef0123456789abcdef"}),
            await s.call_tool("gettasklogs", {"task": "0123456789abcdef0123456789abcdef", "cluster": 7}),
            await s.call_tool("gettasklogs", {"task": "0123456789abcdef0123456789abcdef", "logGroupName": "/x"}),
        ]

    texts = [r.content[0].text for r in mcp(adapter, credentials["writer"]["token"], work)]
    assert "task" in texts[0] and "limit" in texts[1] and "not found" in texts[2], texts
    assert "cluster" in texts[3] and "logGroupName" in texts[4], texts  # where to read is never the caller's


def test_the_degraded_condition_of_a_failed_task_names_its_last_log_lines(
    world: World, adapter: OperatorProcess, credentials: dict[str, dict[str, str]], network: Network, unique: str
) -> None:
    """Exit 3: Failed, and Degraded's message ends with what the essential container printed last."""
    arn = _run_printing_task(adapter, credentials["writer"]["token"], network, f"d{unique}")
    ns = credentials["writer"]["namespace"]

    def degraded() -> dict[str, Any] | None:
        listed = json.loads(world.control_plane.kubectl("get", "fargatetasks", "-n", ns, "-o", "json").stdout)
        for obj in listed["items"]:
            if any(t.get("taskArn") == arn for t in obj.get("status", {}).get("tasks", [])):
                found = [c for c in obj["status"].get("conditions", []) if c["type"] == "Degraded"]
                if found and found[0]["status"] == "True":
                    return dict(found[0])
        return None

    condition = wait_for("the failed task's Degraded condition", degraded, timeout=60)
    message = condition["message"]
    assert "last log lines of container app: 'hello from the task' | 'second line: 42 rows'" in message, message
    assert len(message) < 2048
