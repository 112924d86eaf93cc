"""MCP's executecommandoutput: the operator runs a command through ECS Exec and answers output and exit code.

The ECS side is the emulator's data channel (docs/ecs-emulator.md: a simulated shell); the
operator's client reads it over a real WebSocket, through the real operator and kube-apiserver.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from mcp import ClientSession
from test_mcp import mcp

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.world import World
from support import identity as identity_support
from support.operator_process import OperatorProcess, awsvpc, wait_for

RUN = "executecommandoutput"


@pytest.fixture(scope="module")
def exec_cluster(adapter: OperatorProcess, credentials: dict[str, dict[str, str]], network: Network) -> dict[str, str]:
    """A cluster with two tasks: one started with enableExecuteCommand, one without; both RUNNING."""
    token = credentials["writer"]["token"]
    cluster, family = "exec-mcp", "exec-mcp"
    net = awsvpc(network.subnet_id, network.security_group_id)

    async def setup(s: ClientSession) -> dict[str, str]:
        async def call(name: str, **args: Any) -> Any:
            res = await s.call_tool(name, args)
            assert not res.is_error, (name, res.content)
            return res.structured_content

        await call("createcluster", clusterName=cluster)
        env = [{"name": "GREETING", "value": "hello"}]
        await call(
            "registertaskdefinition",
            family=family,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            containerDefinitions=[{"name": "app", "image": "busybox", "environment": env}],
        )
        arns = {}
        for name, enabled in (("exec", True), ("plain", False)):
            run = await call(
                "runtask",
                cluster=cluster,
                taskDefinition=family,
                launchType="FARGATE",
                networkConfiguration=net,
                enableExecuteCommand=enabled,
            )
            arns[name] = run["tasks"][0]["taskArn"]
        return arns

    arns: dict[str, str] = mcp(adapter, token, setup)

    def all_running() -> bool | None:
        async def look(s: ClientSession) -> Any:
            return (
                await s.call_tool("describetasks", {"cluster": cluster, "tasks": list(arns.values())})
            ).structured_content

        tasks = mcp(adapter, token, look)["tasks"]
        return (len(tasks) == 2 and all(t["lastStatus"] == "RUNNING" for t in tasks)) or None

    wait_for("both exec tasks RUNNING", all_running, timeout=90, interval=0.5)
    return {"cluster": cluster, **arns}


def run_command(adapter: OperatorProcess, token: str, **args: Any) -> Any:
    async def work(s: ClientSession) -> Any:
        return await s.call_tool(RUN, args)

    return mcp(adapter, token, work)


@pytest.fixture
def writer_runs(
    adapter: OperatorProcess, credentials: dict[str, dict[str, str]], exec_cluster: dict[str, str]
) -> Callable[..., Any]:
    def go(task: str = "exec", **args: Any) -> Any:
        return run_command(
            adapter, credentials["writer"]["token"], cluster=exec_cluster["cluster"], task=exec_cluster[task], **args
        )

    return go


def test_exec_returns_output_and_exit_code_0(writer_runs: Callable[..., Any]) -> None:
    res = writer_runs(command="echo $GREETING from the container")
    assert not res.is_error, res.content
    out = res.structured_content
    assert out["output"] == "hello from the container\r\n"
    assert out["exitCode"] == 0 and not out["timedOut"] and not out["outputTruncated"]
    assert out["containerName"] == "app" and 0 < out["durationSeconds"] < 30


def test_exec_returns_a_non_zero_exit_code(writer_runs: Callable[..., Any]) -> None:
    out = writer_runs(command="echo failing; exit 3").structured_content
    assert (out["output"], out["exitCode"]) == ("failing\r\n", 3)
    missing = writer_runs(command="no-such-program").structured_content
    assert missing["exitCode"] == 127 and "not found" in missing["output"]


def test_exec_stops_at_the_time_bound(writer_runs: Callable[..., Any]) -> None:
    started = time.monotonic()
    out = writer_runs(command="echo started; sleep 60", timeoutSeconds=2).structured_content
    assert out["timedOut"] and out["exitCode"] is None and out["output"] == "started\r\n"
    assert time.monotonic() - started < 20


def test_exec_output_over_the_bound_is_truncated_and_says_so(writer_runs: Callable[..., Any]) -> None:
    out = writer_runs(command="seq 1 5000", maxOutputBytes=100).structured_content
    assert out["outputTruncated"] and len(out["output"].encode()) <= 100
    assert out["output"].startswith("1\r\n2\r\n") and out["exitCode"] == 0


def test_exec_refusals_are_tool_errors_with_ecs_reasons(writer_runs: Callable[..., Any]) -> None:
    plain = writer_runs("plain", command="ls")
    assert plain.is_error and plain.content[0].text.startswith("InvalidParameterException")
    assert "execute command was not enabled" in plain.content[0].text
    nobody = writer_runs(command="ls", container="nope")
    assert nobody.is_error and nobody.content[0].text.startswith("InvalidParameterException")
    for bad in ({"timeoutSeconds": 0}, {"maxOutputBytes": 10**9}, {"timeoutSeconds": "soon"}):
        res = writer_runs(command="ls", **bad)
        assert res.is_error and next(iter(bad)) in res.content[0].text


def test_exec_needs_the_exec_verb(
    world: World, adapter: OperatorProcess, credentials: dict[str, dict[str, str]], exec_cluster: dict[str, str]
) -> None:
    cp = world.control_plane
    ns = credentials["writer"]["namespace"]
    identity_support.service_account(cp, ns, "runner", identity_support.RUN_TASKS)
    token = identity_support.token(cp, ns, "runner")
    res = run_command(adapter, token, cluster=exec_cluster["cluster"], task=exec_cluster["exec"], command="id")
    assert res.is_error and res.content[0].text.startswith("AccessDeniedException"), res.content
    assert "exec" in res.content[0].text


def test_exec_leaves_an_event_naming_caller_and_command(
    world: World, writer_runs: Callable[..., Any], credentials: dict[str, dict[str, str]]
) -> None:
    assert not writer_runs(command="echo event-probe-$GREETING").is_error
    ns = credentials["writer"]["namespace"]

    def event() -> dict[str, Any] | None:
        items = json.loads(world.control_plane.kubectl("get", "events", "-n", ns, "-o", "json").stdout)["items"]
        return next((e for e in items if "echo event-probe-$GREETING" in e.get("message", "")), None)

    found = wait_for("the exec Event", event, timeout=30, interval=0.5)
    assert found["involvedObject"]["kind"] == "FargateTask" and found["reason"] == "ExecuteCommand"
    assert credentials["writer"]["user"] in found["message"] and "hello" not in found["message"]
