"""A deployment-circuit-breaker rollback is Degraded, not Ready, until the spec changes.

Unit tests of pure logic: today's emulator (moto 5.2.5) never completes or fails a
deployment and has no circuit breaker, so it cannot show a rollback. The shapes below are
ECS's, from botocore's ECS model and the ECS documentation:
- Deployment.status: PRIMARY "The most recent deployment of a service", ACTIVE "still has
  running tasks, but are in the process of being replaced with a new PRIMARY deployment".
- Deployment.rolloutState: "If the service fails to reach a steady state and circuit breaker
  is turned on, the deployment transitions to a FAILED state."
- DeploymentCircuitBreaker.rollback: "when a service deployment fails, the service is rolled
  back to the last deployment that completed successfully"
  (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentCircuitBreaker.html):
  a new PRIMARY deployment on the old revision, rolloutStateReason "ECS deployment circuit
  breaker: rolling back to deploymentId ecs-svc/...", the failed one ACTIVE with rolloutState
  FAILED, "ECS deployment circuit breaker: tasks failed to start."; once the rollback completes
  the failed deployment is gone and the service's taskDefinition is the old revision again.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fargate_operator.models.verdict import Verdict
from fargate_operator.reconcile import conditions
from fargate_operator.reconcile import service as logic
from support.argocd_health import health as argocd_health

FAMILY = "arn:aws:ecs:us-east-1:123456789012:task-definition/web"
OLD, DESIRED, NEXT = f"{FAMILY}:1", f"{FAMILY}:2", f"{FAMILY}:3"
FAILED_REASON = "ECS deployment circuit breaker: tasks failed to start."
ROLLING_BACK = "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1111111111111111111."


def _service(task_definition: str, *deployments: dict[str, Any], events: list[str] | None = None) -> dict[str, Any]:
    return {
        "status": "ACTIVE",
        "taskDefinition": task_definition,
        "desiredCount": 2,
        "runningCount": 2,
        "deployments": list(deployments),
        "events": [{"id": str(i), "message": m} for i, m in enumerate(events or [])],
    }


def _deployment(status: str, task_definition: str, rollout: str, reason: str = "") -> dict[str, Any]:
    d: dict[str, Any] = {"id": f"ecs-svc/{task_definition[-1]}", "status": status, "taskDefinition": task_definition}
    d |= {"rolloutState": rollout, "desiredCount": 2, "runningCount": 2}
    return d | ({"rolloutStateReason": reason} if reason else {})


ROLLING_BACK_SERVICE = _service(
    OLD,
    _deployment("PRIMARY", OLD, "IN_PROGRESS", ROLLING_BACK),
    _deployment("ACTIVE", DESIRED, "FAILED", FAILED_REASON),
)
ROLLED_BACK_SERVICE = _service(
    OLD,
    _deployment("PRIMARY", OLD, "COMPLETED", "ECS deployment ecs-svc/1111111111111111111 completed."),
    events=[
        "(service web) has reached a steady state.",
        "(service web) deployment ecs-svc/2 deployment failed: tasks failed to start. "
        "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1111111111111111111.",
    ],
)


def test_rollback_in_progress_is_degraded_naming_it() -> None:
    verdict = logic.health(ROLLING_BACK_SERVICE, DESIRED)
    assert (verdict.ready, verdict.degraded, verdict.reason) == (False, True, "RolledBack")
    assert FAILED_REASON in verdict.message and "rolling back" in verdict.message
    assert "web:2" in verdict.message and "web:1" in verdict.message


def test_completed_rollback_stays_degraded_not_ready() -> None:
    verdict = logic.health(ROLLED_BACK_SERVICE, DESIRED)
    assert (verdict.ready, verdict.degraded, verdict.reason) == (False, True, "RolledBack")
    assert "web:1" in verdict.message and "web:2" in verdict.message and "circuit breaker" in verdict.message
    # The status loop asks again every few seconds: the verdict holds while nothing changes.
    assert logic.health(ROLLED_BACK_SERVICE, DESIRED) == logic.health(ROLLED_BACK_SERVICE, DESIRED)


def test_completed_rollback_without_ecs_words_still_degraded() -> None:
    quiet = {**ROLLED_BACK_SERVICE, "events": []}
    verdict = logic.health(quiet, DESIRED)
    assert (verdict.degraded, verdict.reason) == (True, "RolledBack")


def test_a_spec_change_after_a_rollback_clears_the_degraded_verdict() -> None:
    """A spec change deploys again (UpdateService): the new PRIMARY is what the object asked for."""
    rolling = _service(
        NEXT, _deployment("PRIMARY", NEXT, "IN_PROGRESS"), _deployment("ACTIVE", OLD, "COMPLETED", "done")
    )
    verdict = logic.health(rolling, NEXT)
    assert (verdict.ready, verdict.progressing, verdict.degraded, verdict.reason) == (False, True, False, "RollingOut")
    steady = _service(NEXT, _deployment("PRIMARY", NEXT, "COMPLETED"))
    verdict = logic.health(steady, NEXT)
    assert (verdict.ready, verdict.progressing, verdict.degraded) == (True, False, False)
    # ...and a spec that goes back to the revision ECS rolled back to is satisfied by it.
    verdict = logic.health(ROLLED_BACK_SERVICE, OLD)
    assert (verdict.ready, verdict.progressing, verdict.degraded) == (True, False, False)


def test_circuit_breaker_without_rollback_is_still_rollout_failed() -> None:
    failed = _service(
        DESIRED,
        _deployment("PRIMARY", DESIRED, "FAILED", FAILED_REASON),
        _deployment("ACTIVE", OLD, "COMPLETED"),
    )
    assert logic.health(failed, DESIRED) == Verdict(False, False, True, "RolloutFailed", FAILED_REASON)


def test_revision_forms_compare_by_family_and_revision() -> None:
    """spec.taskDefinition may be family:revision; ECS answers with ARNs."""
    steady = _service(DESIRED, _deployment("PRIMARY", DESIRED, "COMPLETED"))
    verdict = logic.health(steady, "web:2")
    assert (verdict.ready, verdict.progressing, verdict.degraded) == (True, False, False)
    assert logic.health(ROLLED_BACK_SERVICE, "web:2").reason == "RolledBack"


def test_desired_revision_is_what_ecs_answered() -> None:
    answer = _service(DESIRED, _deployment("PRIMARY", DESIRED, "IN_PROGRESS"))
    assert logic.desired_revision(answer, "web:2") == DESIRED
    assert logic.desired_revision({}, "web:2") == "web:2"
    assert logic.desired_revision(answer, None) is None  # nothing asked for: nothing to compare


def test_argocd_shows_the_rollback_degraded() -> None:
    verdict = logic.health(ROLLED_BACK_SERVICE, DESIRED)
    obj = {
        "metadata": {"generation": 4},
        "status": {
            "observedGeneration": 4,
            "conditions": conditions.summarize(
                None,
                **asdict(verdict),
                generation=4,
            ),
        },
    }
    status, argo_message = argocd_health(obj)
    assert status == "Degraded" and "web:2" in argo_message
