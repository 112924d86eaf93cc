"""The MCP endpoint with the official MCP Python client: tools, schemas, annotations, calls, resources, scopes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from mcp import ClientSession
from mcp.types import TextResourceContents

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.world import World
from support.adapter import mcp
from support.operator_process import OperatorProcess, awsvpc

READ_TOOLS = {
    "describeclusters",
    "describetaskdefinition",
    "listtaskdefinitions",
    "describetasks",
    "listtasks",
    "describeservices",
    "listservices",
    "listservicedeployments",
    "describeservicedeployments",
}
WRITE_TOOLS = {
    "createcluster",
    "registertaskdefinition",
    "deregistertaskdefinition",
    "runtask",
    "stoptask",
    "createservice",
    "updateservice",
    "deleteservice",
    "executecommand",
    "executecommandoutput",
    "continueservicedeployment",
    "stopservicedeployment",
}
LOG_TOOLS = {"gettasklogs"}  # reads CloudWatch Logs (open world), needs get fargatetasks/log


def test_tools_are_listed_with_schemas_and_annotations(
    adapter: OperatorProcess, credentials: dict[str, dict[str, str]]
) -> None:
    tools = mcp(adapter, credentials["writer"]["token"], lambda s: s.list_tools())
    by_name = {t.name: t for t in tools.tools}
    assert set(by_name) == READ_TOOLS | WRITE_TOOLS | LOG_TOOLS
    for name, tool in by_name.items():
        assert tool.input_schema["type"] == "object" and tool.output_schema and tool.description
        assert tool.annotations.read_only_hint == (name in READ_TOOLS | LOG_TOOLS)
        assert tool.annotations.open_world_hint == (name not in READ_TOOLS)
    assert "cluster" in by_name["runtask"].input_schema["properties"]
    assert by_name["runtask"].input_schema["required"] == ["taskDefinition"]
    assert by_name["registertaskdefinition"].input_schema["properties"]["containerDefinitions"]["items"]["properties"][
        "image"
    ]
    for name in ("stoptask", "deleteservice", "deregistertaskdefinition"):
        assert by_name[name].annotations.destructive_hint
    assert not by_name["runtask"].annotations.idempotent_hint and by_name["describetasks"].annotations.idempotent_hint


def test_every_tool_end_to_end(
    world: World, adapter: OperatorProcess, credentials: dict[str, dict[str, str]], network: Network, unique: str
) -> None:
    cluster, family = f"mcp-{unique}", f"mcp-{unique}"
    net = awsvpc(network.subnet_id, network.security_group_id)

    async def work(s: ClientSession) -> dict[str, Any]:
        out: dict[str, Any] = {}

        async def call(name: str, **args: Any) -> Any:
            res = await s.call_tool(name, args)
            assert not res.is_error, (name, res.content)
            out[name] = res.structured_content
            return res.structured_content

        await call("createcluster", clusterName=cluster)
        await call("describeclusters", clusters=[cluster])
        await call(
            "registertaskdefinition",
            family=family,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            containerDefinitions=[{"name": "app", "image": "busybox", "memory": 256}],
        )
        await call(
            "registertaskdefinition",
            family=family,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            containerDefinitions=[{"name": "app", "image": "busybox:2", "memory": 256}],
        )
        await call("describetaskdefinition", taskDefinition=family)
        await call("listtaskdefinitions", familyPrefix=family)
        await call(
            "createservice",
            cluster=cluster,
            serviceName="web",
            taskDefinition=family,
            desiredCount=1,
            networkConfiguration=net,
        )
        await call("describeservices", cluster=cluster, services=["web"])
        await call("listservices", cluster=cluster)
        await call("updateservice", cluster=cluster, service="web", desiredCount=0)
        run = await call(
            "runtask", cluster=cluster, taskDefinition=family, launchType="FARGATE", networkConfiguration=net
        )
        arn = run["tasks"][0]["taskArn"]
        await call("describetasks", cluster=cluster, tasks=[arn])
        await call("listtasks", cluster=cluster)
        await call("stoptask", cluster=cluster, task=arn)
        await call("deleteservice", cluster=cluster, service="web")
        await call("deregistertaskdefinition", taskDefinition=f"{family}:1")
        # ExecuteCommand on a task started without enableExecuteCommand: ECS's error, not a crash.
        res = await s.call_tool(
            "executecommand", {"cluster": cluster, "task": arn, "command": "ls", "interactive": True}
        )
        out["executecommand"] = res
        return out

    out = mcp(adapter, credentials["writer"]["token"], work)
    assert out["describeclusters"]["clusters"][0]["clusterName"] == cluster
    assert out["describetaskdefinition"]["taskDefinition"]["revision"] == 2
    assert out["stoptask"]["task"]["desiredStatus"] == "STOPPED"
    failed = out["executecommand"]
    assert failed.is_error, failed
    code = failed.content[0].text.split(":", 1)[0]
    assert code and "Traceback" not in failed.content[0].text, failed.content[0].text


def test_invalid_arguments_are_tool_errors(adapter: OperatorProcess, credentials: dict[str, dict[str, str]]) -> None:
    async def work(s: ClientSession) -> list[Any]:
        return [
            await s.call_tool("describetasks", {}),
            await s.call_tool("describetasks", {"tasks": "not-a-list"}),
            await s.call_tool("runtask", {"taskDefinition": "x", "count": "many"}),
            await s.call_tool("describeservices", {"cluster": "nope", "services": ["x"]}),
        ]

    results = mcp(adapter, credentials["writer"]["token"], work)
    assert all(r.is_error for r in results)
    texts = [r.content[0].text for r in results]
    assert "tasks" in texts[0] and "tasks" in texts[1] and "count" in texts[2]
    assert texts[3].startswith("ClusterNotFoundException")


def test_scopes_and_namespaces(adapter: OperatorProcess, credentials: dict[str, dict[str, str]], unique: str) -> None:
    async def as_reader(s: ClientSession) -> Any:
        return await s.call_tool("createcluster", {"clusterName": f"ro-{unique}"})

    res = mcp(adapter, credentials["reader"]["token"], as_reader)
    assert res.is_error and "AccessDeniedException" in res.content[0].text

    async def list_resources(s: ClientSession) -> Any:
        return await s.list_resources()

    mine = mcp(adapter, credentials["writer"]["token"], list_resources)
    assert all(str(r.uri).startswith(f"fargate://{credentials['writer']['namespace']}/") for r in mine.resources)

    async def writer_creates(s: ClientSession) -> Any:
        return await s.call_tool("createcluster", {"clusterName": f"mine-{unique}"})

    assert not mcp(adapter, credentials["writer"]["token"], writer_creates).is_error

    async def other_looks(s: ClientSession) -> Any:
        return await s.call_tool("describeclusters", {"clusters": [f"mine-{unique}"]}), await s.list_resources()

    seen, listing = mcp(adapter, credentials["other"]["token"], other_looks)
    assert seen.structured_content["failures"][0]["reason"] == "MISSING", "another namespace's credential sees nothing"
    assert all(f"mine-{unique}" not in str(r.uri) for r in listing.resources)

    async def no_token(_: Any) -> None:
        return None

    with pytest.raises(Exception):  # noqa: B017 - the transport raises on 401 before any session exists
        mcp(adapter, "wrong-token", no_token)


def test_resources_show_spec_and_status(
    adapter: OperatorProcess, credentials: dict[str, dict[str, str]], unique: str
) -> None:
    ns = credentials["writer"]["namespace"]

    async def work(s: ClientSession) -> Any:
        await s.call_tool("createcluster", {"clusterName": f"res-{unique}"})
        listing = await s.list_resources()
        uri = next(str(r.uri) for r in listing.resources if str(r.uri).endswith(f"/fargateclusters/res-{unique}"))
        one = await s.read_resource(uri)
        many = await s.read_resource(f"fargate://{ns}/fargateclusters")
        texts = [c.text for c in (*one.contents, *many.contents) if isinstance(c, TextResourceContents)]
        return json.loads(texts[0]), json.loads(texts[1])

    one, many = mcp(adapter, credentials["writer"]["token"], work)
    assert one["spec"]["clusterName"] == f"res-{unique}" and one["status"]["clusterArn"]
    assert f"res-{unique}" in {item["name"] for item in many}


@pytest.fixture(scope="module")
def read_only_endpoint(
    world: World, namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """The default: write tools hidden and refused."""
    op = (
        OperatorProcess(
            world.control_plane,
            world.ecs.endpoint,
            f"unused-{namespace}",
            tmp_path_factory.mktemp("ro") / "operator.log",
            extra_args=("--credentials-namespace", namespace),
        )
        .start()
        .wait_ready()
    )
    yield op
    op.stop()


def test_read_only_mode(read_only_endpoint: OperatorProcess, credentials: dict[str, dict[str, str]]) -> None:
    async def work(s: ClientSession) -> Any:
        return await s.list_tools(), await s.call_tool("createcluster", {"clusterName": "x"})

    tools, refused = mcp(read_only_endpoint, credentials["writer"]["token"], work)
    assert {t.name for t in tools.tools} == READ_TOOLS | LOG_TOOLS  # reading a task's logs is a read
    assert refused.is_error and "read-only" in refused.content[0].text
