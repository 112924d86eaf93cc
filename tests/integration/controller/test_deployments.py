"""Blue/green, linear and canary deployments as a FargateService shows them: status.deployment and conditions.

On the real API server and the ECS emulator, which runs ECS's lifecycle stages, traffic steps, bake
times and Lambda hook stand-ins (a function named "...fail..." answers FAILED, any other SUCCEEDED).
A minute of deployment time is one emulator step (FAST_STEP_SECONDS); the status loop runs every
STATUS_INTERVAL seconds here, so it sees the stages that last a few steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fargate_devenv.ecs_emulator import FAST_STEP_SECONDS, Network
from fargate_devenv.ecs_proxy import EcsProxy
from fargate_devenv.world import World
from support.ecs_deployments import LAMBDA, STAGES
from support.operator_process import (
    Kube,
    OperatorProcess,
    awsvpc,
    condition,
    manifest,
    service_manifest,
    task_definition_spec,
    wait_for,
)

STATUS_INTERVAL = 0.3
DEADLINE = 90.0


@pytest.fixture(scope="module")
def operator_process(
    world: World, ecs_proxy: EcsProxy, namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """The operator with a short status interval: the stages of a deployment last a few emulator steps."""
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    op = OperatorProcess(world.control_plane, ecs_proxy.endpoint, namespace, log, status_interval=STATUS_INTERVAL)
    yield op.start().wait_ready()
    op.stop()


@pytest.fixture(scope="module")
def cluster(operator_process: OperatorProcess, kube: Kube) -> Iterator[str]:
    kube.apply(manifest("FargateCluster", "c", {}))
    wait_for("cluster", lambda: kube.status("fargatecluster", "c").get("clusterArn"))
    yield "c"
    for obj in ("fargateservice", "fargatetaskdefinition"):
        kube.cp.kubectl("delete", obj, "--all", "-n", kube.namespace, "--wait=true", "--timeout=120s")
    kube.delete("fargatecluster", "c", wait=True)


def _hook(name: str, *stages: str) -> dict[str, Any]:
    return {"targetType": "AWS_LAMBDA", "hookTargetArn": LAMBDA + name, "lifecycleStages": list(stages)}


def _service(kube: Kube, network: Network, name: str, config: dict[str, Any], desired: int = 2) -> dict[str, Any]:
    obj = service_manifest(name, awsvpc(network.subnet_id, network.security_group_id), td=name, desired=desired)
    obj["spec"]["deploymentConfiguration"] = config
    return obj


def _start(kube: Kube, network: Network, name: str, config: dict[str, Any]) -> dict[str, Any]:
    """A task definition and a service named `name`, Ready on revision 1."""
    kube.apply(manifest("FargateTaskDefinition", name, task_definition_spec(f"{name}-{kube.namespace}")))
    kube.apply(_service(kube, network, name, config))
    return _until(kube, name, "Ready on revision 1", lambda s: _is(s, "Ready"))


def _roll(kube: Kube, name: str, image: str = "public.ecr.aws/docker/library/busybox:1.37") -> None:
    """A new image: a new revision of the task definition, which the service deploys."""
    kube.apply(manifest("FargateTaskDefinition", name, task_definition_spec(f"{name}-{kube.namespace}", image)))


def _is(status: dict[str, Any], type_: str) -> bool:
    return condition(status, type_).get("status") == "True"


def _until(
    kube: Kube, name: str, what: str, pred: Callable[[dict[str, Any]], bool], seen: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Read the service's status until `pred` holds; every status read goes into `seen`."""

    def probe() -> dict[str, Any] | None:
        status = kube.status("fargateservice", name)
        if seen is not None:
            seen.append(status)
        return status if pred(status) else None

    return wait_for(f"{name}: {what}", probe, timeout=DEADLINE, interval=0.1)


def _current(status: dict[str, Any]) -> dict[str, Any]:
    return (status.get("deployment") or {}).get("current") or {}


def _last(status: dict[str, Any]) -> dict[str, Any]:
    return (status.get("deployment") or {}).get("last") or {}


def _finished_after(before: str | None) -> Callable[[dict[str, Any]], bool]:
    """The service's newest deployment (not `before`) has finished."""
    return lambda s: bool(_last(s).get("serviceDeploymentArn") not in (None, before) and not _current(s))


def test_a_blue_green_deployment_with_a_succeeding_hook_is_ready_after_its_bake_time(
    cluster: str, kube: Kube, network: Network, unique: str
) -> None:
    name, bake = f"bg-{unique}", 15
    config = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": bake, "lifecycleHooks": [_hook("smoke", "POST_SCALE_UP")]}
    first = _last(_start(kube, network, name, config))
    assert first["status"] == "SUCCESSFUL" and first["strategy"] == "BLUE_GREEN", first
    _roll(kube, name)
    seen: list[dict[str, Any]] = []

    done = _until(kube, name, "the new deployment finished", _finished_after(first["serviceDeploymentArn"]), seen)
    done = _until(kube, name, "Ready", lambda s: _is(s, "Ready"), seen)

    assert _last(done)["status"] == "SUCCESSFUL" and _last(done)["strategy"] == "BLUE_GREEN"
    baking = [s for s in seen if _current(s).get("lifecycleStage") == "BAKE_TIME"]
    assert baking, "the bake time was never seen in status"
    says = condition(baking[0], "Progressing")
    assert says["status"] == "True" and says["reason"] == "DeploymentInProgress", says
    assert says["message"].startswith("blue/green deployment at BAKE_TIME"), says
    # (Ready stays True from revision 1 until the handler has made the new deployment: counted from then.)
    deploying = next(i for i, s in enumerate(seen) if _current(s))
    assert not any(_is(s, "Ready") for s in seen[deploying : seen.index(baking[-1]) + 1]), "Ready before the bake"
    assert not any(_is(s, "Drifted") for s in seen), "a deployment in flight was judged as drift"
    # Ready came after the bake: no sooner than bakeTimeInMinutes after the stage began.
    first_baking = seen.index(baking[0])
    ready_at = next(i for i, s in enumerate(seen) if i > first_baking and _is(s, "Ready"))
    assert ready_at > seen.index(baking[-1])
    assert _last(done)["targetServiceRevisionArn"] != first["targetServiceRevisionArn"]


def test_a_failing_hook_rolls_back_and_the_service_is_degraded_naming_the_hook(
    cluster: str, kube: Kube, network: Network, ecs_proxy: EcsProxy, operator_process: OperatorProcess, unique: str
) -> None:
    name = f"hook-{unique}"
    plain = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1}
    first = _last(_start(kube, network, name, plain))
    # The hook first (its own spec change, no new revision: no deployment), then the revision that deploys.
    kube.apply(_service(kube, network, name, plain | {"lifecycleHooks": [_hook("fail-smoke", "POST_SCALE_UP")]}))
    _until(kube, name, "the hook applied", lambda s: condition(s, "Ready").get("observedGeneration") == 2)
    _roll(kube, name)

    degraded = _until(kube, name, "Degraded", lambda s: _is(s, "Degraded"))
    says = condition(degraded, "Degraded")
    assert says["reason"] == "RolledBack" and "hook fail-smoke failed at POST_SCALE_UP" in says["message"], says
    rolled = _until(kube, name, "rolled back", _finished_after(first["serviceDeploymentArn"]))
    assert _last(rolled)["status"] == "ROLLBACK_SUCCESSFUL", _last(rolled)
    assert _last(rolled)["rollback"]["serviceRevisionArn"] == first["targetServiceRevisionArn"]
    assert _last(rolled)["hook"]["status"] == "FAILED"

    # ECS's rollback is reported, not fought: it stays Degraded, and no UpdateService puts the failed revision back.
    writes = ecs_proxy.count("UpdateService")
    operator_process.wait_cycles(3)
    held = kube.status("fargateservice", name)
    assert _is(held, "Degraded") and "fail-smoke" in condition(held, "Degraded")["message"]
    assert ecs_proxy.count("UpdateService") == writes


def test_a_linear_deployment_shows_its_stages_in_order(
    cluster: str, world: World, kube: Kube, network: Network, unique: str
) -> None:
    name = f"lin-{unique}"
    config = {
        "strategy": "LINEAR",
        "bakeTimeInMinutes": 5,
        "linearConfiguration": {"stepPercent": 34.0, "stepBakeTimeInMinutes": 8},
    }
    first = _last(_start(kube, network, name, config))
    _roll(kube, name)
    seen: list[dict[str, Any]] = []

    _until(kube, name, "the new deployment finished", _finished_after(first["serviceDeploymentArn"]), seen)

    stages: list[str] = []
    weights: list[float] = []
    for status in seen:
        current = _current(status)
        if current.get("lifecycleStage") and (not stages or stages[-1] != current["lifecycleStage"]):
            stages.append(current["lifecycleStage"])
        weight = (current.get("trafficWeights") or {}).get("production")
        if current.get("lifecycleStage") == "PRODUCTION_TRAFFIC_SHIFT" and weight and weight not in weights:
            weights.append(weight)
    assert [STAGES.index(s) for s in stages] == sorted(STAGES.index(s) for s in stages), stages
    assert {"PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME"} <= set(stages), stages
    assert weights == sorted(weights) and {34.0, 68.0} <= set(weights), weights
    messages = [condition(s, "Progressing").get("message", "") for s in seen if _current(s).get("lifecycleStage")]
    assert any(m.startswith("linear deployment at PRODUCTION_TRAFFIC_SHIFT") for m in messages), messages
    table = world.control_plane.kubectl("get", "fsvc", name, "-n", kube.namespace).stdout.split("\n")
    assert "STRATEGY" in table[0] and "STAGE" in table[0] and "LINEAR" in table[1], table


def test_kubectl_wait_for_ready_returns_no_sooner_than_the_bake_time(
    cluster: str, world: World, kube: Kube, network: Network, unique: str
) -> None:
    name, bake = f"wait-{unique}", 25
    kube.apply(manifest("FargateTaskDefinition", name, task_definition_spec(f"{name}-{kube.namespace}")))
    started = time.monotonic()
    kube.apply(_service(kube, network, name, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": bake}))

    res = world.control_plane.kubectl(
        "wait", "--for=condition=Ready", f"fsvc/{name}", "-n", kube.namespace, f"--timeout={DEADLINE:.0f}s", check=False
    )

    waited = time.monotonic() - started
    assert res.returncode == 0, res.stderr
    assert waited >= bake * FAST_STEP_SECONDS, waited
    status = kube.status("fargateservice", name)
    assert _last(status)["status"] == "SUCCESSFUL" and not _current(status), status.get("deployment")


def test_a_canary_stopped_by_hand_is_degraded_saying_so(
    cluster: str, kube: Kube, network: Network, ecs_client: Any, unique: str
) -> None:
    name = f"can-{unique}"
    config = {
        "strategy": "CANARY",
        "bakeTimeInMinutes": 1,
        "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 60},
    }
    first = _last(_start(kube, network, name, config))
    _roll(kube, name)
    canary = _until(
        kube,
        name,
        "the canary takes traffic",
        lambda s: (_current(s).get("trafficWeights") or {}).get("production") == 10.0,
    )
    arn = _current(canary)["serviceDeploymentArn"]
    assert arn != first["serviceDeploymentArn"]

    ecs_client.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")

    degraded = _until(kube, name, "Degraded", lambda s: _is(s, "Degraded"))
    says = condition(degraded, "Degraded")
    assert says["reason"] == "RolledBack" and "stopped by hand" in says["message"], says
    assert says["message"].startswith("canary deployment")
    rolled = _until(kube, name, "rolled back", _finished_after(first["serviceDeploymentArn"]))
    assert _last(rolled)["status"] == "ROLLBACK_SUCCESSFUL" and _last(rolled)["serviceDeploymentArn"] == arn


def test_a_pause_hook_holds_the_deployment_as_paused_until_it_is_continued(
    cluster: str, kube: Kube, network: Network, ecs_client: Any, unique: str
) -> None:
    """Progressing with reason DeploymentPaused naming the hook (Argo CD: Suspended) until
    ContinueServiceDeployment (here made on ECS directly), then Ready."""
    from support.argocd_health import health

    name = f"pause-{unique}"
    plain = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1}
    first = _last(_start(kube, network, name, plain))
    pause = {"targetType": "PAUSE", "lifecycleStages": ["POST_SCALE_UP"]}
    kube.apply(_service(kube, network, name, plain | {"lifecycleHooks": [pause]}))
    _until(kube, name, "the hook applied", lambda s: condition(s, "Ready").get("observedGeneration") == 2)
    _roll(kube, name)

    paused = _until(kube, name, "paused", lambda s: condition(s, "Progressing").get("reason") == "DeploymentPaused")

    hook = _current(paused)["hook"]
    assert hook["targetType"] == "PAUSE" and hook["status"] == "AWAITING_ACTION", hook
    assert hook["lifecycleStage"] == "POST_SCALE_UP"
    says = condition(paused, "Progressing")["message"]
    assert f"PAUSE hook {hook['hookId']}" in says and "ContinueServiceDeployment" in says, says
    assert health(kube.get("fargateservice", name) or {})[0] == "Suspended"
    arn = _current(paused)["serviceDeploymentArn"]
    ecs_client.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"])
    done = _until(kube, name, "Ready", lambda s: _is(s, "Ready") and _finished_after(first["serviceDeploymentArn"])(s))
    assert _last(done)["status"] == "SUCCESSFUL" and _last(done)["serviceDeploymentArn"] == arn


def test_a_change_made_by_hand_during_a_deployment_is_judged_only_once_it_has_finished(
    cluster: str,
    kube: Kube,
    network: Network,
    ecs_client: Any,
    ecs_proxy: EcsProxy,
    operator_process: OperatorProcess,
    unique: str,
) -> None:
    """While ECS bakes a blue/green deployment, a desiredCount set by hand is neither Drifted nor corrected
    (an UpdateService then would meddle with the deployment); once it has finished, drift corrects it."""
    name = f"drift-{unique}"
    first = _last(_start(kube, network, name, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 40}))
    _roll(kube, name)
    baking = _until(kube, name, "baking", lambda s: _current(s).get("lifecycleStage") == "BAKE_TIME")
    writes = ecs_proxy.count("UpdateService")

    ecs_client.update_service(cluster=baking["clusterArn"], service=name, desiredCount=3)

    operator_process.wait_cycles(3)
    during = kube.status("fargateservice", name)
    assert _current(during).get("lifecycleStage") == "BAKE_TIME", "the bake ended before the test could look"
    assert ecs_proxy.count("UpdateService") == writes and not _is(during, "Drifted")
    _until(kube, name, "the deployment finished", _finished_after(first["serviceDeploymentArn"]))
    wait_for("the correction", lambda: ecs_proxy.count("UpdateService") > writes, timeout=DEADLINE)
    corrected = _until(kube, name, "back at 2 desired", lambda s: s.get("desiredCount") == 2 and _is(s, "Ready"))
    assert _last(corrected)["status"] == "SUCCESSFUL"


def test_steady_services_cost_no_describe_service_deployments(
    cluster: str, kube: Kube, network: Network, ecs_proxy: EcsProxy, operator_process: OperatorProcess, unique: str
) -> None:
    """Only a deployment in flight is described: once every service's last deployment is recorded as
    finished, status cycles make DescribeServices calls and no DescribeServiceDeployments at all."""
    name = f"steady-{unique}"
    ready = _start(kube, network, name, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1})
    assert _last(ready)["status"] == "SUCCESSFUL"
    for obj in kube.cp.kubectl("get", "fsvc", "-n", kube.namespace, "-o", "name").stdout.split():
        _until(kube, obj.split("/", 1)[1], "settled", lambda s: bool(_last(s)) and not _current(s))

    ecs_proxy.reset()
    operator_process.wait_cycles(3)
    calls = ecs_proxy.reset()

    assert calls["DescribeServices"] >= 3, calls
    assert calls["DescribeServiceDeployments"] == 0, calls


def test_the_blue_green_example_in_the_docs_is_accepted_by_the_api_server(world: World, kube: Kube) -> None:
    """docs/deployments.md's FargateService, as the API server validates it (schema and CEL rules)."""
    doc = (Path(__file__).resolve().parents[3] / "docs" / "deployments.md").read_text()
    example = next(block for block in doc.split("```yaml\n")[1:] if "kind: FargateService" in block)
    res = world.control_plane.kubectl(
        "apply", "--dry-run=server", "-n", kube.namespace, "-f", "-", input=example.split("```")[0], check=False
    )
    assert res.returncode == 0, res.stderr
