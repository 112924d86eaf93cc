"""Steering ECS service deployments through the FargateService: the annotation (kubectl), MCP and REST (boto3).

The services are made through the REST adapter as the caller; what ECS did is read from the emulator
itself (DescribeServiceDeployments), what the operator and the adapters said from the object's Events.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.world import World
from fargate_operator.models.kinds import CONTINUE_DEPLOYMENT_ANNOTATION
from fargate_operator.web.auth import CREDENTIAL_LABEL
from support import identity as identity_support
from support.adapter import mcp
from support.awscli import ecs_cli
from support.emulator import awsvpc, container, register, service, steady, wait_until
from support.operator_process import Kube, OperatorProcess, condition, wait_for

MODEL = botocore.session.get_session().get_service_model("ecs")

PAUSE_AT_SCALE_UP = {
    "strategy": "BLUE_GREEN",
    "bakeTimeInMinutes": 1,
    "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["POST_SCALE_UP"]}],
}
LONG_CANARY = {
    "strategy": "CANARY",
    "bakeTimeInMinutes": 1,
    "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 600},
}
DONE = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")


def check_shape(operation: str, response: dict[str, Any]) -> dict[str, Any]:
    """The parsed answer fits ECS's output shape exactly: known members, right types."""
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    report = ParamValidator().validate(body, MODEL.operation_model(operation).output_shape)
    assert not report.has_errors(), report.generate_report()
    return body


@pytest.fixture(scope="module")
def credentials(credentials: dict[str, dict[str, str]], world: World, namespace: str) -> dict[str, dict[str, str]]:
    """The adapter's credentials plus `viewer`: a key that may write (not readOnly) of a user whose RBAC only
    reads (the chart's read-only role): refused anything that needs `patch fargateservices`."""
    cp = world.control_plane
    user = identity_support.service_account(cp, namespace, "viewer", identity_support.READ_ONLY)
    viewer = {
        "accessKeyId": f"AKV{uuid.uuid4().hex[:12].upper()}",
        "secretAccessKey": uuid.uuid4().hex,
        "token": uuid.uuid4().hex,
        "namespace": namespace,
        "user": user,
    }
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "cred-viewer", "labels": {CREDENTIAL_LABEL: "true"}},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in viewer.items()},
    }
    cp.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(secret))
    return {**credentials, "viewer": viewer}


class Deploying:
    """A service made through the adapter, steady on v1, then UpdateService to v2 with a deployment configuration."""

    def __init__(self, world: World, ecs: Any, network: Network, unique: str, name: str) -> None:
        self.emu = world.ecs.client()
        self.ecs, self.name, self.cluster = ecs, name, f"steer-{unique}"
        self.network = network
        ecs.create_cluster(clusterName=self.cluster)
        family = f"steer-{name}-{unique}"
        self.v1 = register(ecs, family, container(image="public.ecr.aws/docker/library/busybox:1.36"))
        self.v2 = register(ecs, family, container(image="public.ecr.aws/docker/library/busybox:1.37"))

    def create(self, name: str | None = None) -> None:
        name = name or self.name
        self.ecs.create_service(
            cluster=self.cluster,
            serviceName=name,
            taskDefinition=self.v1,
            desiredCount=1,
            launchType="FARGATE",
            networkConfiguration=awsvpc(self.network),
        )
        wait_until(f"{name} steady on v1", lambda: service(self.emu, self.cluster, name), lambda s: steady(s, 1))

    def deploy(self, config: dict[str, Any]) -> str:
        """UpdateService through the adapter; the ARN of the service deployment ECS started for it."""
        self.create()
        return self.update(config)

    def update(self, config: dict[str, Any]) -> str:
        """UpdateService of the service made already; the ARN of the deployment ECS started for it."""
        self.ecs.update_service(
            cluster=self.cluster, service=self.name, taskDefinition=self.v2, deploymentConfiguration=config
        )
        listed = wait_until(
            "the new deployment",
            lambda: self.deployments(self.name),
            lambda found: len(found) >= 2,
        )
        return str(listed[0]["serviceDeploymentArn"])  # newest first

    def deployments(self, name: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.emu.list_service_deployments(cluster=self.cluster, service=name)[
            "serviceDeployments"
        ]
        return found

    def described(self, arn: str) -> dict[str, Any]:
        found: dict[str, Any] = self.emu.describe_service_deployments(serviceDeploymentArns=[arn])[
            "serviceDeployments"
        ][0]
        return found

    def paused(self, arn: str) -> dict[str, Any]:
        """The PAUSE hook the deployment awaits action at, once it does."""
        sd = wait_until(
            "paused at the hook",
            lambda: self.described(arn),
            lambda d: any(h["status"] == "AWAITING_ACTION" for h in d.get("lifecycleHookDetails", [])),
        )
        return next(h for h in sd["lifecycleHookDetails"] if h["status"] == "AWAITING_ACTION")

    def finished(self, arn: str) -> dict[str, Any]:
        return wait_until("the deployment finished", lambda: self.described(arn), lambda d: d["status"] in DONE)


def _event(kube: Kube, name: str, reason: str, *words: str) -> dict[str, Any]:
    """The Event of `reason` on the object whose note has all of `words`, once there is one."""

    def probe() -> dict[str, Any] | None:
        for e in kube.events(name):
            note = e.get("message") or e.get("note") or ""
            if e.get("reason") == reason and all(w in note for w in words):
                return e
        return None

    return wait_for(f"Event {reason} on {name}", probe, timeout=60)


def _status_until(kube: Kube, name: str, what: str, pred: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The FargateService's status once `pred` holds of it."""

    def probe() -> dict[str, Any] | None:
        status = kube.status("fargateservice", name)
        return status if pred(status) else None

    return wait_for(f"{name}: {what}", probe, timeout=120)


def _object_of(kube: Kube, service_name: str) -> str:
    """The FargateService the adapter made for an ECS service name."""
    out = kube.cp.kubectl("get", "fargateservices", "-n", kube.namespace, "-o", "json").stdout
    items = yaml.safe_load(out)["items"]
    return str(next(o for o in items if o["spec"]["serviceName"] == service_name)["metadata"]["name"])


def test_a_paused_deployment_goes_on_when_the_annotation_names_it_and_not_for_another_services(
    world: World, adapter: OperatorProcess, ecs_for: Callable[[str], Any], namespace: str, network: Network, unique: str
) -> None:
    kube = Kube(world.control_plane, namespace)
    d = Deploying(world, ecs_for("writer"), network, unique, "paused")
    d.create("bystander")
    bystanders = d.deployments("bystander")[0]["serviceDeploymentArn"]
    arn = d.deploy(PAUSE_AT_SCALE_UP)
    d.paused(arn)
    obj = _object_of(kube, "paused")

    # A real deployment, but of another service: an Event, and the paused one still waits.
    world.control_plane.kubectl(
        "annotate", "fargateservice", obj, "-n", namespace, f"{CONTINUE_DEPLOYMENT_ANNOTATION}={bystanders}"
    )
    _event(kube, obj, "DeploymentNotThisService", bystanders)
    assert d.described(arn)["status"] == "IN_PROGRESS"
    assert any(h["status"] == "AWAITING_ACTION" for h in d.described(arn)["lifecycleHookDetails"])

    world.control_plane.kubectl(
        "annotate", "fargateservice", obj, "-n", namespace, "--overwrite", f"{CONTINUE_DEPLOYMENT_ANNOTATION}={arn}"
    )

    assert d.finished(arn)["status"] == "SUCCESSFUL"
    seen = _event(kube, obj, "DeploymentContinued", arn)
    assert f"annotation {CONTINUE_DEPLOYMENT_ANNOTATION} seen" in (seen.get("message") or seen.get("note") or "")
    assert service(d.emu, d.cluster, "paused")["taskDefinition"] == d.v2
    # Annotated again (removed and added): the deployment has finished, so an Event and no call.
    world.control_plane.kubectl(
        "annotate", "fargateservice", obj, "-n", namespace, f"{CONTINUE_DEPLOYMENT_ANNOTATION}-"
    )
    world.control_plane.kubectl(
        "annotate", "fargateservice", obj, "-n", namespace, f"{CONTINUE_DEPLOYMENT_ANNOTATION}={arn}"
    )
    _event(kube, obj, "DeploymentAlreadyFinished", arn)


def test_a_paused_deployment_is_continued_through_mcp_by_a_caller_who_may_patch_the_service(
    world: World,
    adapter: OperatorProcess,
    ecs_for: Callable[[str], Any],
    credentials: dict[str, dict[str, str]],
    namespace: str,
    network: Network,
    unique: str,
) -> None:
    kube = Kube(world.control_plane, namespace)
    d = Deploying(world, ecs_for("writer"), network, unique, "mcp-paused")
    arn = d.deploy(PAUSE_AT_SCALE_UP)
    hook = d.paused(arn)
    args = {"serviceDeploymentArn": arn, "hookId": hook["hookId"]}

    async def continue_(session: Any) -> Any:
        return await session.call_tool("continueservicedeployment", args)

    refused = mcp(adapter, credentials["viewer"]["token"], continue_)
    assert refused.is_error and "AccessDeniedException" in refused.content[0].text, refused.content
    assert 'patch resource "fargateservices"' in refused.content[0].text
    assert any(h["status"] == "AWAITING_ACTION" for h in d.described(arn)["lifecycleHookDetails"])

    done = mcp(adapter, credentials["writer"]["token"], continue_)

    assert not done.is_error, done.content
    assert done.structured_content == {"serviceDeploymentArn": arn}
    assert d.finished(arn)["status"] == "SUCCESSFUL"
    obj = _object_of(kube, "mcp-paused")
    _event(kube, obj, "ContinueServiceDeployment", credentials["writer"]["user"], arn, hook["hookId"])
    _event(kube, obj, "DeploymentContinued", arn, hook["hookId"])

    async def bad(session: Any) -> list[Any]:
        return [
            await session.call_tool("continueservicedeployment", {"serviceDeploymentArn": arn}),
            await session.call_tool("continueservicedeployment", {**args, "serviceDeploymentArn": "not-an-arn"}),
        ]

    missing_hook, not_an_arn = mcp(adapter, credentials["writer"]["token"], bad)
    assert missing_hook.is_error and "hookId" in missing_hook.content[0].text
    assert not_an_arn.is_error and "serviceDeploymentArn" in not_an_arn.content[0].text


def test_a_canary_stopped_through_the_rest_adapter_rolls_back(
    world: World,
    adapter: OperatorProcess,
    ecs_for: Callable[[str], Any],
    credentials: dict[str, dict[str, str]],
    namespace: str,
    network: Network,
    unique: str,
) -> None:
    kube = Kube(world.control_plane, namespace)
    ecs = ecs_for("writer")
    d = Deploying(world, ecs, network, unique, "canary")
    arn = d.deploy(LONG_CANARY)
    wait_until(
        "the canary takes 10%",
        lambda: d.described(arn),
        lambda sd: sd["targetServiceRevision"].get("requestedProductionTrafficWeight") == 10.0,
    )

    with pytest.raises(ClientError) as denied:
        ecs_for("viewer").stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    answer = check_shape(
        "StopServiceDeployment", ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    )

    assert answer == {"serviceDeploymentArn": arn}
    final = d.finished(arn)
    assert final["status"] == "ROLLBACK_SUCCESSFUL", final
    assert "StopServiceDeployment" in final["statusReason"]
    back = wait_until("back on v1", lambda: service(d.emu, d.cluster, "canary"), lambda s: steady(s, 1))
    assert back["taskDefinition"] == d.v1
    obj = _object_of(kube, "canary")
    _event(kube, obj, "StopServiceDeployment", credentials["writer"]["user"], arn)
    _event(kube, obj, "DeploymentStopped", arn)


def test_bad_requests_are_ecs_client_errors(
    world: World, adapter: OperatorProcess, ecs_for: Callable[[str], Any], namespace: str, network: Network, unique: str
) -> None:
    ecs = ecs_for("writer")
    d = Deploying(world, ecs, network, unique, "errors")
    d.create()
    prefix = d.v1.split(":task-definition/")[0]
    other_service = f"{prefix}:service-deployment/{d.cluster}/nope/abc"

    def code(call: Callable[[], Any]) -> tuple[str, int]:
        with pytest.raises(ClientError) as err:
            call()
        return err.value.response["Error"]["Code"], err.value.response["ResponseMetadata"]["HTTPStatusCode"]

    assert code(lambda: ecs.stop_service_deployment(serviceDeploymentArn="nope")) == ("InvalidParameterException", 400)
    assert code(lambda: ecs.stop_service_deployment(serviceDeploymentArn=other_service)) == (
        "ServiceDeploymentNotFoundException",
        400,
    )
    mine = d.deployments("errors")[0]["serviceDeploymentArn"]
    assert code(lambda: ecs.stop_service_deployment(serviceDeploymentArn=mine, stopType="ABORT")) == (
        "InvalidParameterException",
        400,
    )
    assert code(lambda: ecs.continue_service_deployment(serviceDeploymentArn=mine, hookId="h", action="SKIP")) == (
        "InvalidParameterException",
        400,
    )
    assert code(lambda: ecs.list_service_deployments(cluster=d.cluster, service="nope")) == (
        "ServiceNotFoundException",
        400,
    )
    assert code(lambda: ecs.list_service_deployments(cluster=d.cluster, service="errors", status=["DONE"])) == (
        "InvalidParameterException",
        400,
    )
    listed = check_shape("ListServiceDeployments", ecs.list_service_deployments(cluster=d.cluster, service="errors"))
    assert all(b["serviceArn"].endswith("/errors") for b in listed["serviceDeployments"])
    described = check_shape(
        "DescribeServiceDeployments", ecs.describe_service_deployments(serviceDeploymentArns=[other_service])
    )
    assert described["failures"] == [{"arn": other_service, "reason": "MISSING"}]


def test_an_annotation_written_while_the_operator_is_down_is_acted_on_once_after_it_starts(
    world: World, adapter: OperatorProcess, ecs_for: Callable[[str], Any], namespace: str, network: Network, unique: str
) -> None:
    kube = Kube(world.control_plane, namespace)
    d = Deploying(world, ecs_for("writer"), network, unique, "restart")
    arn = d.deploy(PAUSE_AT_SCALE_UP)
    d.paused(arn)
    obj = _object_of(kube, "restart")
    adapter.kill()
    try:
        world.control_plane.kubectl(
            "annotate", "fargateservice", obj, "-n", namespace, f"{CONTINUE_DEPLOYMENT_ANNOTATION}={arn}"
        )
        assert any(h["status"] == "AWAITING_ACTION" for h in d.described(arn)["lifecycleHookDetails"])
    finally:
        adapter.start().wait_ready()

    assert d.finished(arn)["status"] == "SUCCESSFUL"
    _event(kube, obj, "DeploymentContinued", arn)
    adapter.kill()  # and again: the request was handled, a restart does not make it again
    adapter.start().wait_ready()
    wait_for("the operator handled the object", lambda: kube.handled("fargateservice", obj))
    adapter.wait_cycles(2)  # a while running after the restart: time for a repeated request to show
    reasons = [e.get("reason") for e in kube.events(obj)]
    assert reasons.count("DeploymentContinued") == 1, reasons
    assert "NothingToContinue" not in reasons and "DeploymentAlreadyFinished" not in reasons, reasons


def test_a_paused_blue_green_deployment_is_seen_and_continued_with_the_aws_cli_and_seen_through_mcp(
    world: World,
    adapter: OperatorProcess,
    ecs_for: Callable[[str], Any],
    credentials: dict[str, dict[str, str]],
    namespace: str,
    network: Network,
    unique: str,
    tmp_path: Path,
) -> None:
    """What a person does: list and describe the service's deployments with `aws ecs`, take the hookId from
    describe-service-deployments (or the command the DeploymentPaused condition gives), continue it, and the
    FargateService is Ready on the new revision; an agent sees the same deployment through MCP."""
    kube = Kube(world.control_plane, namespace)
    aws = ecs_cli(adapter.rest_endpoint, credentials["writer"], tmp_path)
    d = Deploying(world, ecs_for("writer"), network, unique, "cli-paused")
    d.create()
    obj = _object_of(kube, "cli-paused")
    # status keeps the deployment in flight and the last finished one: the first is recorded before the next.
    _status_until(kube, obj, "the first deployment recorded", lambda s: bool((s.get("deployment") or {}).get("last")))
    arn = d.update(PAUSE_AT_SCALE_UP)
    hook = d.paused(arn)
    status = _status_until(
        kube,
        obj,
        "the pause in status.deployment",
        lambda s: ((s.get("deployment") or {}).get("current") or {}).get("hook", {}).get("status") == "AWAITING_ACTION",
    )

    listed = check_shape(
        "ListServiceDeployments", aws("list-service-deployments", "--cluster", d.cluster, "--service", "cli-paused")
    )
    ecs_listed = d.deployments("cli-paused")
    assert [b["serviceDeploymentArn"] for b in listed["serviceDeployments"]] == [
        b["serviceDeploymentArn"] for b in ecs_listed
    ]  # newest first, the one in flight and the last finished
    in_flight = listed["serviceDeployments"][0]
    assert in_flight["status"] == "IN_PROGRESS" and "finishedAt" not in in_flight, in_flight
    assert in_flight["targetServiceRevisionArn"] == ecs_listed[0]["targetServiceRevisionArn"]
    assert listed["serviceDeployments"][1]["status"] == "SUCCESSFUL"

    described = check_shape(
        "DescribeServiceDeployments", aws("describe-service-deployments", "--service-deployment-arns", arn)
    )
    assert described["failures"] == []
    sd, ecs_sd = described["serviceDeployments"][0], d.described(arn)
    assert sd["lifecycleStage"] == ecs_sd["lifecycleStage"] == "POST_SCALE_UP", sd
    assert sd["lifecycleHookDetails"] == [
        {"hookId": hook["hookId"], "targetType": "PAUSE", "status": "AWAITING_ACTION"}
    ]
    assert sd["deploymentConfiguration"] == {"strategy": "BLUE_GREEN"}
    # The target revision with its requested traffic weights, where ECS's shape keeps them.
    kept = ("arn", "requestedProductionTrafficWeight", "requestedTestTrafficWeight")
    target = ecs_sd["targetServiceRevision"]
    assert "requestedProductionTrafficWeight" in target, target
    assert sd["targetServiceRevision"] == {k: target[k] for k in kept if k in target}
    assert sd["sourceServiceRevisions"] == [{"arn": r["arn"]} for r in ecs_sd["sourceServiceRevisions"]]
    # Epoch seconds on the wire, as ECS's JSON protocol sends them (the CLI prints them as received).
    assert isinstance(sd["startedAt"], int | float) and abs(sd["startedAt"] - ecs_sd["startedAt"].timestamp()) < 1e-3

    async def reads(session: Any) -> list[Any]:
        return [
            await session.call_tool("listservicedeployments", {"cluster": d.cluster, "service": "cli-paused"}),
            await session.call_tool("describeservicedeployments", {"serviceDeploymentArns": [arn]}),
        ]

    mcp_listed, mcp_described = mcp(adapter, credentials["viewer"]["token"], reads)
    assert not mcp_listed.is_error and not mcp_described.is_error, (mcp_listed.content, mcp_described.content)
    assert mcp_listed.structured_content["serviceDeployments"][0] == in_flight
    assert mcp_described.structured_content["serviceDeployments"][0]["lifecycleStage"] == "POST_SCALE_UP"

    # The condition's advice, run as it is: the command names the hookId describe-service-deployments shows.
    says = condition(status, "Progressing")
    assert says["reason"] == "DeploymentPaused", says
    command = says["message"].split("or aws ecs ", 1)[1].rstrip(")").split()
    assert command == [
        "continue-service-deployment",
        "--service-deployment-arn",
        arn,
        "--hook-id",
        sd["lifecycleHookDetails"][0]["hookId"],
    ]
    assert check_shape("ContinueServiceDeployment", aws(*command)) == {"serviceDeploymentArn": arn}

    done = _status_until(
        kube,
        obj,
        "Ready on the new revision",
        lambda s: condition(s, "Ready").get("status") == "True" and not (s.get("deployment") or {}).get("current"),
    )
    assert done["deployment"]["last"]["serviceDeploymentArn"] == arn
    assert done["deployment"]["last"]["status"] == "SUCCESSFUL"
    assert service(d.emu, d.cluster, "cli-paused")["taskDefinition"] == d.v2
    finished = aws(
        "list-service-deployments", "--cluster", d.cluster, "--service", "cli-paused", "--status", "SUCCESSFUL"
    )
    assert [b["serviceDeploymentArn"] for b in finished["serviceDeployments"]] == [arn]
    assert finished["serviceDeployments"][0]["finishedAt"] >= sd["startedAt"]
