"""Blue/green, linear and canary service deployments: stages, traffic steps, bake time, hooks, stop, continue.

The emulator runs at FAST_STEP_SECONDS (0.2 s a lifecycle step); a minute of deployment time lasts one
step, so bakeTimeInMinutes=5 is about 1 s here.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from fargate_devenv.ecs_emulator import FAST_STEP_SECONDS, EcsEmulator, Network
from support.ecs_deployments import LAMBDA, STAGES
from support.emulator import UNPULLABLE, awsvpc, container, register, service, steady, wait_until
from support.event_queue import EventQueue

DONE = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")


def _create(ecs: Any, cluster: str, network: Network, config: dict[str, Any], count: int = 2) -> tuple[str, str]:
    """A service on definition v1, steady; then the family's v2 (not yet deployed)."""
    v1 = register(ecs, "web", container(image="public.ecr.aws/docker/library/busybox:1.36"))
    ecs.create_service(
        cluster=cluster,
        serviceName="web",
        taskDefinition=v1,
        desiredCount=count,
        launchType="FARGATE",
        networkConfiguration=awsvpc(network),
        deploymentConfiguration=config,
    )
    wait_until("steady on v1", lambda: service(ecs, cluster, "web"), lambda s: steady(s, count))
    v2 = register(ecs, "web", container(image="public.ecr.aws/docker/library/busybox:1.37"))
    return v1, v2


def _deploy(ecs: Any, cluster: str, td: str) -> str:
    """UpdateService to `td`; the ARN of the service deployment it started (ListServiceDeployments: newest first)."""
    ecs.update_service(cluster=cluster, service="web", taskDefinition=td)
    arn: str = ecs.list_service_deployments(cluster=cluster, service="web")["serviceDeployments"][0][
        "serviceDeploymentArn"
    ]
    return arn


def _describe(ecs: Any, arn: str) -> dict[str, Any]:
    found: dict[str, Any] = ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]
    return found


def _watch(ecs: Any, arn: str, until: Any, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Every distinct observation of the deployment (stage, status, weights, hooks) until `until` holds."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sd = _describe(ecs, arn)
        if not seen or _key(seen[-1]) != _key(sd):
            sd["observedAt"] = time.monotonic()
            seen.append(sd)
        if until(sd):
            return seen
        time.sleep(0.02)
    raise AssertionError(f"deployment did not get there in {timeout} s; last: {seen[-1] if seen else None}")


def _key(sd: dict[str, Any]) -> tuple[Any, ...]:
    target = sd["targetServiceRevision"]
    hooks = tuple((h["hookId"], h["status"]) for h in sd.get("lifecycleHookDetails", []))
    return (sd["status"], sd.get("lifecycleStage"), target.get("requestedProductionTrafficWeight"), hooks)


def _stages(seen: list[dict[str, Any]]) -> list[str]:
    stages: list[str] = []
    for sd in seen:
        if sd.get("lifecycleStage") and (not stages or stages[-1] != sd["lifecycleStage"]):
            stages.append(sd["lifecycleStage"])
    return stages


def _in_order(stages: list[str]) -> bool:
    return [STAGES.index(s) for s in stages] == sorted(STAGES.index(s) for s in stages)


def _hook(name: str, *stages: str) -> dict[str, Any]:
    return {
        "targetType": "AWS_LAMBDA",
        "hookTargetArn": LAMBDA + name,
        "roleArn": "arn:aws:iam::123456789012:role/ecs-hooks",
        "lifecycleStages": list(stages),
    }


def test_a_blue_green_deployment_with_a_succeeding_hook_completes_after_bake(
    ecs: Any, cluster: str, network: Network
) -> None:
    bake = 5
    config = {
        "strategy": "BLUE_GREEN",
        "bakeTimeInMinutes": bake,
        "lifecycleHooks": [_hook("smoke-test", "POST_SCALE_UP", "POST_TEST_TRAFFIC_SHIFT")],
    }
    v1, v2 = _create(ecs, cluster, network, config)
    arn = _deploy(ecs, cluster, v2)

    seen = _watch(ecs, arn, lambda sd: sd["status"] in DONE)

    final = seen[-1]
    assert final["status"] == "SUCCESSFUL", final
    stages = _stages(seen)
    assert _in_order(stages), stages
    assert {"SCALE_UP", "PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"} <= set(stages), stages
    hook_statuses = {h["status"] for sd in seen for h in sd.get("lifecycleHookDetails", [])}
    assert "SUCCEEDED" in hook_statuses and "FAILED" not in hook_statuses, hook_statuses
    # bake: both revisions run with all production traffic on green, for bakeTimeInMinutes
    baking = [sd for sd in seen if sd.get("lifecycleStage") == "BAKE_TIME"]
    assert baking[0]["targetServiceRevision"]["requestedProductionTrafficWeight"] == 100.0
    assert baking[0]["targetServiceRevision"]["runningTaskCount"] == 2
    assert baking[0]["sourceServiceRevisions"][0]["runningTaskCount"] == 2
    baked = (final["finishedAt"] - baking[0]["updatedAt"]).total_seconds()
    assert bake * FAST_STEP_SECONDS * 0.9 <= baked < bake * FAST_STEP_SECONDS + 5.0, baked
    svc = service(ecs, cluster, "web")
    assert [(d["status"], d["taskDefinition"], d["rolloutState"]) for d in svc["deployments"]] == [
        ("PRIMARY", v2, "COMPLETED")
    ]
    revision = ecs.describe_service_revisions(serviceRevisionArns=[final["targetServiceRevision"]["arn"]])
    assert revision["serviceRevisions"][0]["taskDefinition"] == v2
    assert revision["serviceRevisions"][0]["containerImages"][0]["image"].endswith("busybox:1.37")
    assert final["sourceServiceRevisions"][0]["arn"] != final["targetServiceRevision"]["arn"]
    assert v1 != v2


def test_a_failing_hook_rolls_the_blue_green_deployment_back(ecs: Any, cluster: str, network: Network) -> None:
    config = {
        "strategy": "BLUE_GREEN",
        "bakeTimeInMinutes": 1,
        "lifecycleHooks": [_hook("fail-smoke-test", "POST_TEST_TRAFFIC_SHIFT")],
    }
    v1, _ = _create(ecs, cluster, network, config | {"lifecycleHooks": []})
    blue_tasks = set(ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"])
    ecs.update_service(cluster=cluster, service="web", deploymentConfiguration=config)
    v2 = register(ecs, "web", container(image="public.ecr.aws/docker/library/busybox:1.37"))
    arn = _deploy(ecs, cluster, v2)

    seen = _watch(ecs, arn, lambda sd: sd["status"] in DONE)

    final = seen[-1]
    assert final["status"] == "ROLLBACK_SUCCESSFUL", final
    assert "fail-smoke-test" in final["statusReason"] and "POST_TEST_TRAFFIC_SHIFT" in final["statusReason"]
    assert final["rollback"]["serviceRevisionArn"] == final["sourceServiceRevisions"][0]["arn"]
    assert final["rollback"]["reason"] == final["statusReason"]
    assert "BAKE_TIME" not in _stages(seen)
    assert any(sd["status"] == "ROLLBACK_IN_PROGRESS" for sd in seen), [sd["status"] for sd in seen]
    assert any(h["status"] == "FAILED" for h in final["lifecycleHookDetails"])
    svc = wait_until("blue serves alone", lambda: service(ecs, cluster, "web"), lambda s: steady(s, 2))
    assert svc["taskDefinition"] == v1 and svc["deployments"][0]["taskDefinition"] == v1
    # blue never stopped: the same tasks serve before and after
    assert set(ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"]) == blue_tasks


def test_a_linear_deployment_shifts_production_traffic_in_steps(ecs: Any, cluster: str, network: Network) -> None:
    config = {
        "strategy": "LINEAR",
        "bakeTimeInMinutes": 1,
        "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 2},
    }
    _, v2 = _create(ecs, cluster, network, config)
    arn = _deploy(ecs, cluster, v2)

    seen = _watch(ecs, arn, lambda sd: sd["status"] in DONE)

    assert seen[-1]["status"] == "SUCCESSFUL", seen[-1]
    stages = _stages(seen)
    assert _in_order(stages), stages
    shifting = [sd for sd in seen if sd.get("lifecycleStage") == "PRODUCTION_TRAFFIC_SHIFT"]
    weights: list[float] = []
    for sd in shifting:
        green = sd["targetServiceRevision"]["requestedProductionTrafficWeight"]
        blue = sd["sourceServiceRevisions"][0]["requestedProductionTrafficWeight"]
        assert green + blue == 100.0, sd
        if not weights or weights[-1] != green:
            weights.append(green)
    assert [w for w in weights if w > 0] == [25.0, 50.0, 75.0, 100.0], weights


def test_a_canary_stopped_by_hand_rolls_back(ecs: Any, cluster: str, network: Network) -> None:
    config = {
        "strategy": "CANARY",
        "bakeTimeInMinutes": 1,
        "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 600},
    }
    v1, v2 = _create(ecs, cluster, network, config)
    arn = _deploy(ecs, cluster, v2)
    _watch(ecs, arn, lambda sd: sd["targetServiceRevision"].get("requestedProductionTrafficWeight") == 10.0)

    ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    seen = _watch(ecs, arn, lambda sd: sd["status"] in DONE)

    final = seen[-1]
    assert final["status"] == "ROLLBACK_SUCCESSFUL", final
    assert "StopServiceDeployment" in final["statusReason"]
    assert final["targetServiceRevision"]["requestedProductionTrafficWeight"] == 0.0
    assert final["sourceServiceRevisions"][0]["requestedProductionTrafficWeight"] == 100.0
    svc = wait_until("blue serves alone", lambda: service(ecs, cluster, "web"), lambda s: steady(s, 2))
    assert svc["taskDefinition"] == v1
    with pytest.raises(ClientError) as err:
        ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    assert err.value.response["Error"]["Code"] == "ConflictException"


def test_a_paused_deployment_waits_for_continue(ecs: Any, cluster: str, network: Network) -> None:
    config = {
        "strategy": "BLUE_GREEN",
        "bakeTimeInMinutes": 1,
        "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}],
    }
    _, v2 = _create(ecs, cluster, network, config | {"lifecycleHooks": []})
    ecs.update_service(cluster=cluster, service="web", deploymentConfiguration=config)
    arn = _deploy(ecs, cluster, v2)

    paused = _watch(ecs, arn, lambda sd: any(h["status"] == "AWAITING_ACTION" for h in sd["lifecycleHookDetails"]))[-1]
    time.sleep(10 * FAST_STEP_SECONDS)
    still = _describe(ecs, arn)
    assert (still["status"], still["lifecycleStage"]) == ("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT"), still
    hook = paused["lifecycleHookDetails"][0]
    assert hook["targetType"] == "PAUSE" and "targetArn" not in hook
    with pytest.raises(ClientError):
        ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId="not-a-hook", action="CONTINUE")
    ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"], action="CONTINUE")

    seen = _watch(ecs, arn, lambda sd: sd["status"] in DONE)

    assert seen[-1]["status"] == "SUCCESSFUL", seen[-1]
    assert "BAKE_TIME" in _stages(seen)


def test_a_pause_hook_at_a_traffic_shift_stage_is_refused(ecs: Any, cluster: str, network: Network) -> None:
    td = register(ecs, "web")
    config = {
        "strategy": "BLUE_GREEN",
        "bakeTimeInMinutes": 1,
        "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["PRODUCTION_TRAFFIC_SHIFT"]}],
    }
    with pytest.raises(ClientError) as err:
        ecs.create_service(
            cluster=cluster,
            serviceName="web",
            taskDefinition=td,
            desiredCount=1,
            launchType="FARGATE",
            networkConfiguration=awsvpc(network),
            deploymentConfiguration=config,
        )
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"


ROLLBACK_ORDER = ["ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL"]


def test_a_rolling_deployment_stopped_by_hand_rolls_back_to_the_last_completed(
    ecs: Any, cluster: str, network: Network
) -> None:
    v1, _ = _create(ecs, cluster, network, {"strategy": "ROLLING"})
    broken = register(ecs, "web", container(image=UNPULLABLE))
    arn = _deploy(ecs, cluster, broken)
    assert "lifecycleStage" not in _describe(ecs, arn)  # rolling deployments have no stages

    ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    seen = _watch(ecs, arn, lambda sd: sd["status"] in DONE)

    # From the stop on, only rollback states, in ECS's order; the scheduler may pass ROLLBACK_REQUESTED
    # before the first look (a step is 0.2 s here), so the look may begin at ROLLBACK_IN_PROGRESS.
    statuses = [sd["status"] for sd in seen]
    assert set(statuses) <= set(ROLLBACK_ORDER), statuses
    assert statuses == sorted(statuses, key=ROLLBACK_ORDER.index), statuses
    final = seen[-1]
    assert final["status"] == "ROLLBACK_SUCCESSFUL", final
    assert "StopServiceDeployment" in final["rollback"]["reason"]
    svc = wait_until("back on v1", lambda: service(ecs, cluster, "web"), lambda s: steady(s, 2))
    assert svc["taskDefinition"] == v1
    with pytest.raises(ClientError) as err:
        ecs.stop_service_deployment(serviceDeploymentArn=arn + "0", stopType="ROLLBACK")
    assert err.value.response["Error"]["Code"] == "ServiceDeploymentNotFoundException"


def test_a_staged_deployment_emits_in_progress_then_failed_when_a_hook_fails(
    emulator: EcsEmulator, ecs: Any, cluster: str, network: Network
) -> None:
    queue = EventQueue.create(
        emulator.client("events"),
        emulator.client("sqs"),
        {"source": ["aws.ecs"], "detail-type": ["ECS Deployment State Change"]},
    )
    config = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1, "lifecycleHooks": [_hook("fail-check", "PRE_SCALE_UP")]}
    _, v2 = _create(ecs, cluster, network, config | {"lifecycleHooks": []})
    ecs.update_service(cluster=cluster, service="web", deploymentConfiguration=config)
    green = ecs.update_service(cluster=cluster, service="web", taskDefinition=v2)["service"]["deployments"][0]["id"]

    def names(got: list[dict[str, Any]]) -> list[str]:
        return [e["detail"]["eventName"] for e in got if e["detail"]["deploymentId"] == green]

    received = queue.until("the deployment FAILED", lambda got: "SERVICE_DEPLOYMENT_FAILED" in names(got))

    assert names(received) == ["SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_FAILED"]
    failed = next(e["detail"] for e in received if e["detail"]["eventName"] == "SERVICE_DEPLOYMENT_FAILED")
    assert failed["eventType"] == "ERROR" and "fail-check" in failed["reason"] and "PRE_SCALE_UP" in failed["reason"]


def _alarm(emulator: EcsEmulator, name: str) -> Any:
    cloudwatch = emulator.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        MetricName="HTTPCode_Target_5XX_Count",
        Namespace="AWS/ApplicationELB",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    return cloudwatch


def test_an_alarm_during_bake_time_rolls_the_blue_green_deployment_back(
    emulator: EcsEmulator, ecs: Any, cluster: str, network: Network
) -> None:
    cloudwatch = _alarm(emulator, "web-5xx")
    config = {
        "strategy": "BLUE_GREEN",
        "bakeTimeInMinutes": 600,
        "alarms": {"alarmNames": ["web-5xx"], "enable": True, "rollback": True},
    }
    v1, v2 = _create(ecs, cluster, network, config | {"bakeTimeInMinutes": 0})
    ecs.update_service(cluster=cluster, service="web", deploymentConfiguration=config)
    arn = _deploy(ecs, cluster, v2)
    baking = _watch(ecs, arn, lambda sd: sd.get("lifecycleStage") == "BAKE_TIME")[-1]
    assert baking["alarms"]["status"] == "MONITORING"

    cloudwatch.set_alarm_state(AlarmName="web-5xx", StateValue="ALARM", StateReason="5xx from green")
    seen = _watch(ecs, arn, lambda sd: sd["status"] in DONE)

    final = seen[-1]
    assert final["status"] == "ROLLBACK_SUCCESSFUL", final
    assert final["alarms"]["status"] == "TRIGGERED" and final["alarms"]["triggeredAlarmNames"] == ["web-5xx"]
    assert "web-5xx" in final["statusReason"]
    svc = wait_until("blue serves alone", lambda: service(ecs, cluster, "web"), lambda s: steady(s, 2))
    assert svc["taskDefinition"] == v1


def test_an_alarm_fails_a_rolling_deployment_and_rolls_back(
    emulator: EcsEmulator, ecs: Any, cluster: str, network: Network
) -> None:
    cloudwatch = _alarm(emulator, "web-errors")
    watched = {"alarms": {"alarmNames": ["web-errors"], "enable": True, "rollback": True}}
    v1, _ = _create(ecs, cluster, network, watched)
    first = ecs.list_service_deployments(cluster=cluster, service="web")["serviceDeployments"][0]
    assert _describe(ecs, first["serviceDeploymentArn"])["alarms"]["status"] == "MONITORING_COMPLETE"
    slow = register(ecs, "web", container(image=UNPULLABLE))
    arn = _deploy(ecs, cluster, slow)

    cloudwatch.set_alarm_state(AlarmName="web-errors", StateValue="ALARM", StateReason="errors")
    seen = _watch(ecs, arn, lambda sd: sd["status"] in DONE)

    final = seen[-1]
    assert final["status"] == "ROLLBACK_SUCCESSFUL", final
    assert final["alarms"]["triggeredAlarmNames"] == ["web-errors"]
    assert "ECS deployment alarms" in final["rollback"]["reason"]
    svc = wait_until("back on v1", lambda: service(ecs, cluster, "web"), lambda s: steady(s, 2))
    assert svc["taskDefinition"] == v1


@pytest.mark.parametrize(("action", "outcome"), [("ROLLBACK", "ROLLBACK_SUCCESSFUL"), ("CONTINUE", "SUCCESSFUL")])
def test_a_pause_hook_left_alone_times_out_into_its_timeout_action(
    ecs: Any, cluster: str, network: Network, action: str, outcome: str
) -> None:
    pause = {
        "targetType": "PAUSE",
        "lifecycleStages": ["POST_SCALE_UP"],
        "timeoutConfiguration": {"timeoutInMinutes": 3, "action": action},
    }
    config = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1, "lifecycleHooks": [pause]}
    _, v2 = _create(ecs, cluster, network, config | {"lifecycleHooks": []})
    ecs.update_service(cluster=cluster, service="web", deploymentConfiguration=config)
    arn = _deploy(ecs, cluster, v2)

    seen = _watch(ecs, arn, lambda sd: sd["status"] in DONE)

    assert seen[-1]["status"] == outcome, seen[-1]
    hooks = [h for sd in seen for h in sd.get("lifecycleHookDetails", [])]
    assert any(h["status"] == "TIMED_OUT" and h["timeoutAction"] == action for h in hooks), hooks
    waited = [
        sd["observedAt"] for sd in seen if any(h["status"] == "AWAITING_ACTION" for h in sd["lifecycleHookDetails"])
    ]
    timed_out = [sd["observedAt"] for sd in seen if any(h["status"] == "TIMED_OUT" for h in sd["lifecycleHookDetails"])]
    assert timed_out[0] - waited[0] >= 3 * FAST_STEP_SECONDS * 0.8


def test_a_slow_hook_is_called_again_until_it_succeeds(ecs: Any, cluster: str, network: Network) -> None:
    config = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1, "lifecycleHooks": [_hook("slow-check", "PRE_SCALE_UP")]}
    _, v2 = _create(ecs, cluster, network, config | {"lifecycleHooks": []})
    ecs.update_service(cluster=cluster, service="web", deploymentConfiguration=config)
    arn = _deploy(ecs, cluster, v2)

    seen = _watch(ecs, arn, lambda sd: sd["status"] in DONE)

    assert seen[-1]["status"] == "SUCCESSFUL", seen[-1]
    calls = [(sd["observedAt"], sd["lifecycleHookDetails"][0]["status"]) for sd in seen if sd["lifecycleHookDetails"]]
    started = next(at for at, status in calls if status == "IN_PROGRESS")
    succeeded = next(at for at, status in calls if status == "SUCCEEDED")
    # two IN_PROGRESS answers, each followed by the 30 s (half a step) call-back delay
    assert succeeded - started >= 2 * 0.5 * FAST_STEP_SECONDS * 0.8, calls


def test_describe_services_names_the_current_deployment_and_its_revisions(
    ecs: Any, cluster: str, network: Network
) -> None:
    """Service.currentServiceDeployment is the newest service deployment; currentServiceRevisions the
    revisions with tasks: blue and green while a blue/green deployment bakes, green alone afterwards."""
    config = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 3}
    _, v2 = _create(ecs, cluster, network, config)
    first = service(ecs, cluster, "web")
    listed = ecs.list_service_deployments(cluster=cluster, service="web")["serviceDeployments"]
    assert first["currentServiceDeployment"] == listed[0]["serviceDeploymentArn"]
    assert [r["arn"] for r in first["currentServiceRevisions"]] == [listed[0]["targetServiceRevisionArn"]]
    arn = _deploy(ecs, cluster, v2)

    baking = wait_until(
        "the deployment bakes",
        lambda: (service(ecs, cluster, "web"), _describe(ecs, arn)),
        lambda found: found[1].get("lifecycleStage") == "BAKE_TIME",
    )[0]
    assert baking["currentServiceDeployment"] == arn
    revisions = {r["arn"]: r for r in baking["currentServiceRevisions"]}
    sd = _describe(ecs, arn)
    assert set(revisions) == {sd["targetServiceRevision"]["arn"], sd["sourceServiceRevisions"][0]["arn"]}
    assert {r["requestedTaskCount"] for r in revisions.values()} == {2}

    _watch(ecs, arn, lambda sd: sd["status"] in DONE)
    done = wait_until(
        "green alone", lambda: service(ecs, cluster, "web"), lambda s: len(s["currentServiceRevisions"]) == 1
    )
    assert done["currentServiceDeployment"] == arn
    assert done["currentServiceRevisions"][0]["arn"] == sd["targetServiceRevision"]["arn"]
    assert done["currentServiceRevisions"][0]["runningTaskCount"] == 2
