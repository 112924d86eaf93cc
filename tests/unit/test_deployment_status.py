"""status.deployment and the conditions a blue/green, linear or canary deployment gives (reconcile/deployment.py).

The ServiceDeployment shapes are botocore's (DescribeServiceDeployments: status, statusReason,
lifecycleStage, lifecycleHookDetails, targetServiceRevision with requested traffic weights, rollback)
as the emulator serves them (tests/emulator/test_sim_deployments.py).
"""

from __future__ import annotations

import datetime
from typing import Any

from fargate_operator.models.verdict import Verdict
from fargate_operator.reconcile import deployment as logic
from fargate_operator.reconcile import deployment_request as request
from fargate_operator.reconcile import merge_patch
from fargate_operator.reconcile import service as service_logic
from fargate_operator.status.precedence import changed

ARN = "arn:aws:ecs:us-east-1:123456789012:service-deployment/c/web/222"
OLD_ARN = "arn:aws:ecs:us-east-1:123456789012:service-deployment/c/web/111"
BLUE = "arn:aws:ecs:us-east-1:123456789012:service-revision/c/web/111"
GREEN = "arn:aws:ecs:us-east-1:123456789012:service-revision/c/web/222"
HOOK = "arn:aws:lambda:us-east-1:123456789012:function:smoke-test"
AT = datetime.datetime(2026, 12, 7, 5, 0, tzinfo=datetime.UTC)
STEADY = Verdict(True, False, False, "Steady", "2/2 tasks running")
ROLLING = Verdict(False, True, False, "RollingOut", "deployment in progress: 2/2 running")


def _sd(status: str = "IN_PROGRESS", stage: str | None = "BAKE_TIME", **extra: Any) -> dict[str, Any]:
    sd: dict[str, Any] = {
        "serviceDeploymentArn": ARN,
        "status": status,
        "startedAt": AT,
        "updatedAt": AT,
        "deploymentConfiguration": {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5},
        "targetServiceRevision": {"arn": GREEN, "requestedProductionTrafficWeight": 100.0},
        "sourceServiceRevisions": [{"arn": BLUE, "requestedProductionTrafficWeight": 0.0}],
        "lifecycleHookDetails": [],
    }
    if stage:
        sd["lifecycleStage"] = stage
    return sd | extra


def _hook(status: str, kind: str = "AWS_LAMBDA") -> dict[str, Any]:
    hook = {"hookId": "h-1", "targetType": kind, "status": status}
    return hook | ({"targetArn": HOOK} if kind == "AWS_LAMBDA" else {})


def test_a_deployment_in_flight_is_current_with_ecs_names_and_rfc3339_times() -> None:
    seen = logic.record(None, _sd(lifecycleHookDetails=[_hook("IN_PROGRESS")]))

    current = seen["current"]
    assert current["strategy"] == "BLUE_GREEN" and current["lifecycleStage"] == "BAKE_TIME"
    assert current["startedAt"] == "2026-12-07T05:00:00+00:00"
    assert current["targetServiceRevisionArn"] == GREEN and current["sourceServiceRevisionArns"] == [BLUE]
    assert current["trafficWeights"] == {"production": 100.0}
    assert current["hook"] == {
        "hookId": "h-1",
        "hookTargetArn": HOOK,
        "targetType": "AWS_LAMBDA",
        "lifecycleStage": "BAKE_TIME",
        "status": "IN_PROGRESS",
    }
    assert "last" not in seen and "finishedAt" not in current


def test_a_finished_deployment_moves_to_last_and_current_is_removed() -> None:
    known = logic.record(None, _sd())
    done = logic.record(known, _sd("SUCCESSFUL", "CLEAN_UP", finishedAt=AT))

    stored = merge_patch.applied(known, done)
    assert "current" not in stored
    assert stored["last"]["status"] == "SUCCESSFUL" and stored["last"]["finishedAt"] == "2026-12-07T05:00:00+00:00"


def test_a_member_ecs_no_longer_reports_is_removed_from_current() -> None:
    known = merge_patch.applied({}, logic.record(None, _sd(lifecycleHookDetails=[_hook("IN_PROGRESS")])))
    later = logic.record(known, _sd(stage="CLEAN_UP"))

    stored = merge_patch.applied(known, later)
    assert "hook" not in stored["current"] and stored["current"]["lifecycleStage"] == "CLEAN_UP"


def test_the_same_observation_again_writes_nothing() -> None:
    stored = merge_patch.applied({}, logic.record(None, _sd()))
    assert not changed({"deployment": stored}, {"deployment": logic.record(stored, _sd())})


def test_a_new_deployment_keeps_the_last_finished_one() -> None:
    last = {"last": {"serviceDeploymentArn": OLD_ARN, "status": "SUCCESSFUL"}}
    stored = merge_patch.applied(last, logic.record(last, _sd()))
    assert stored["last"]["serviceDeploymentArn"] == OLD_ARN and stored["current"]["serviceDeploymentArn"] == ARN


def test_only_a_deployment_not_known_as_finished_is_described() -> None:
    steady = {"currentServiceDeployment": ARN, "deployments": [{"rolloutState": "COMPLETED"}]}
    finished = {"last": {"serviceDeploymentArn": ARN, "status": "SUCCESSFUL"}}
    assert logic.to_describe(steady, finished) is None
    assert logic.to_describe(steady, None) == ARN  # never looked at yet
    assert logic.to_describe(steady, {"current": {"serviceDeploymentArn": ARN}}) == ARN
    rolling = steady | {"deployments": [{"rolloutState": "IN_PROGRESS"}]}
    assert logic.to_describe(rolling, finished) == ARN
    assert logic.to_describe({"deployments": []}, None) is None  # ECS names none


def test_an_update_answer_records_its_new_deployment_as_current() -> None:
    last = {"last": {"serviceDeploymentArn": OLD_ARN, "status": "SUCCESSFUL"}}
    started = logic.recorded_start(last, {"currentServiceDeployment": ARN})
    assert started == {"current": {"serviceDeploymentArn": ARN}, "last": last["last"]}
    assert logic.recorded_start(last, {"currentServiceDeployment": OLD_ARN}) is None  # no new deployment
    assert logic.recorded_start(last, {}) is None


def _judged(base: Verdict, sd: dict[str, Any], held: str | None = None) -> Verdict:
    return logic.judge(base, merge_patch.applied({}, logic.record(None, sd)), held)


def test_a_baking_deployment_is_progressing_and_names_its_stage_not_ready() -> None:
    verdict = _judged(STEADY, _sd(lifecycleHookDetails=[]))
    assert (verdict.ready, verdict.progressing, verdict.degraded) == (False, True, False)
    assert verdict.reason == "DeploymentInProgress"
    assert verdict.message.startswith("blue/green deployment at BAKE_TIME")


def test_a_hook_at_work_is_named_in_progressing() -> None:
    verdict = _judged(ROLLING, _sd(stage="POST_SCALE_UP", lifecycleHookDetails=[_hook("IN_PROGRESS")]))
    assert verdict.message.startswith("blue/green deployment at POST_SCALE_UP (hook smoke-test IN_PROGRESS)")


def test_a_waiting_pause_hook_is_deployment_paused_and_says_how_to_continue() -> None:
    verdict = _judged(ROLLING, _sd(stage="POST_SCALE_UP", lifecycleHookDetails=[_hook("AWAITING_ACTION", "PAUSE")]))
    assert (verdict.ready, verdict.progressing, verdict.degraded, verdict.reason) == (
        False,
        True,
        False,
        "DeploymentPaused",
    )
    assert "PAUSE hook h-1" in verdict.message and "POST_SCALE_UP" in verdict.message
    # The advice is what is accepted: the annotation value `<arn>#<hookId>` and the AWS CLI's options.
    assert f"ecs.fargate.dev/continue-deployment={ARN}#h-1 " in verdict.message
    assert request.parse(request.CONTINUE, f"{ARN}#h-1") == request.Request(request.CONTINUE, ARN, "h-1")
    command = verdict.message.split("or aws ", 1)[1].rstrip(")").split()
    assert command == ["ecs", "continue-service-deployment", "--service-deployment-arn", ARN, "--hook-id", "h-1"]


def test_a_finished_deployment_leaves_the_service_verdict_alone() -> None:
    assert _judged(STEADY, _sd("SUCCESSFUL", "CLEAN_UP")) == STEADY


def test_a_deployment_rolling_back_after_a_failed_hook_is_degraded_naming_the_hook() -> None:
    reason = f"Lifecycle hook {HOOK} returned FAILED at POST_TEST_TRAFFIC_SHIFT."
    sd = _sd(
        "ROLLBACK_IN_PROGRESS",
        "POST_TEST_TRAFFIC_SHIFT",
        statusReason=reason,
        lifecycleHookDetails=[_hook("FAILED")],
        rollback={"reason": reason, "startedAt": AT, "serviceRevisionArn": BLUE},
    )
    verdict = _judged(ROLLING, sd)
    assert (verdict.ready, verdict.degraded, verdict.reason) == (False, True, "RolledBack")
    assert "hook smoke-test failed at POST_TEST_TRAFFIC_SHIFT" in verdict.message
    rollback = logic.record(None, sd)["current"]["rollback"]
    assert rollback == {"reason": reason, "startedAt": "2026-12-07T05:00:00+00:00", "serviceRevisionArn": BLUE}


def test_a_rollback_names_its_cause() -> None:
    for said, words in (
        ("ECS deployment alarms: errors in ALARM state.", "an alarm went off"),
        ("ECS deployment circuit breaker: tasks failed to start.", "the circuit breaker tripped"),
        ("Service deployment stopped by StopServiceDeployment (ROLLBACK).", "stopped by hand"),
    ):
        verdict = _judged(ROLLING, _sd("ROLLBACK_IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", statusReason=said))
        assert verdict.degraded and verdict.message.startswith("blue/green deployment rolled back: " + words)


def test_a_finished_rollback_keeps_naming_its_cause_while_the_rollback_verdict_holds() -> None:
    said = "Service deployment stopped by StopServiceDeployment (ROLLBACK)."
    sd = _sd("ROLLBACK_SUCCESSFUL", "PRODUCTION_TRAFFIC_SHIFT", statusReason=said)
    held = Verdict(False, False, True, "RolledBack", "rolled back: ECS runs web:1, not web:2")
    verdict = _judged(held, sd, "RolledBack")
    assert verdict.degraded and verdict.reason == "RolledBack"
    assert "stopped by hand" in verdict.message and verdict.message.endswith(held.message)
    assert _judged(STEADY, sd) == STEADY  # the spec changed since: the rollback no longer holds


def test_service_health_waits_for_the_deployment_before_ready() -> None:
    """reconcile/service.health: a service ECS shows steady is still Progressing while its deployment bakes."""
    service = {
        "status": "ACTIVE",
        "desiredCount": 2,
        "runningCount": 2,
        "deployments": [{"status": "PRIMARY", "rolloutState": "COMPLETED"}],
    }
    baking = merge_patch.applied({}, logic.record(None, _sd()))
    assert service_logic.health(service).ready
    verdict = service_logic.health(service, deployment=baking)
    assert not verdict.ready and verdict.reason == "DeploymentInProgress"


def test_the_stage_order_the_tests_check_against_is_botocores() -> None:
    """support/ecs_deployments.STAGES, the order both deployment suites assert, is the ECS model's enum."""
    import botocore.session

    from support.ecs_deployments import STAGES

    model = botocore.session.get_session().get_service_model("ecs")
    assert model.shape_for("ServiceDeploymentLifecycleStage").enum == STAGES
