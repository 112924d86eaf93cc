"""The FargateService controller in process, against the in-memory gateway (support/fake_ecs.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fargate_operator.controllers import service as controller
from fargate_operator.controllers.events import silent
from fargate_operator.ecs.errors import EcsError
from fargate_operator.models.ownership import UID_TAG, AdoptionRefused, Owner
from support.fake_ecs import FakeEcs

CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/apps"
OWNER = Owner("FargateService", "team-a", "web", "uid-web")
OTHER = Owner("FargateService", "team-b", "web", "uid-other")
ARN = "arn:aws:ecs:us-east-1:123456789012:service/apps/web"
TD = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3"


def desired(**spec: Any) -> controller.Desired:
    return controller.Desired({"serviceName": "web", "desiredCount": 2, **spec}, OWNER, CLUSTER, TD)


def service(owner: Owner | None = OWNER, status: str = "ACTIVE", **extra: Any) -> dict[str, Any]:
    tags = owner.tags() if owner else [{"key": "team", "value": "x"}]
    return {"serviceArn": ARN, "serviceName": "web", "clusterArn": CLUSTER, "status": status, "tags": tags, **extra}


def answering(described: list[dict[str, Any]]) -> FakeEcs:
    """ECS with `described` under the name; writes answer the service as ECS would."""
    return (
        FakeEcs()
        .on("DescribeServices", lambda p: {"services": described})
        .on("CreateService", lambda p: {"service": service(taskDefinition=p.get("taskDefinition"))})
        .on("UpdateService", lambda p: {"service": service(taskDefinition=p.get("taskDefinition"))})
        .on("TagResource", lambda p: {})
        .on("UntagResource", lambda p: {})
        .on("DeleteService", lambda p: {"service": service(status="DRAINING")})
    )


class Said(list[tuple[str, str]]):
    async def __call__(self, reason: str, message: str) -> None:
        self.append((reason, message))


def ops(fake: FakeEcs) -> list[str]:
    return [op for op, _ in fake.calls]


def test_a_first_create_is_one_create_service_call_with_the_uid_as_client_token() -> None:
    fake, said = answering([]), Said()
    asyncio.run(controller.ensure(fake, desired(), said, first=True))
    assert ops(fake) == ["CreateService"]
    request = fake.made("CreateService")[0]
    assert request["clientToken"] == "uid-web" and request["taskDefinition"] == TD
    assert {"key": UID_TAG, "value": "uid-web"} in request["tags"]
    assert [r for r, _ in said] == ["Created"]


def test_a_name_in_use_on_create_looks_then_updates_its_own_service() -> None:
    fake = answering([service()]).fail(
        "CreateService", "InvalidParameterException", "Creation of service was not idempotent."
    )
    asyncio.run(controller.ensure(fake, desired(), silent, first=True))
    assert ops(fake) == ["CreateService", "DescribeServices", "UpdateService"]


def test_a_name_held_by_another_object_is_refused_without_a_write() -> None:
    fake = answering([service(OTHER)])
    with pytest.raises(AdoptionRefused, match="owned by FargateService team-b/web"):
        asyncio.run(controller.ensure(fake, desired(adoptionPolicy="AdoptOrCreate"), silent, first=False))
    assert ops(fake) == ["DescribeServices"]


def test_an_unowned_service_is_refused_under_create_only() -> None:
    fake = answering([service(None)])
    with pytest.raises(AdoptionRefused, match="no object owns it"):
        asyncio.run(controller.ensure(fake, desired(), silent, first=False))
    assert ops(fake) == ["DescribeServices"]


def test_adopt_tags_an_unowned_service_before_updating_it() -> None:
    fake, said = answering([service(None)]), Said()
    asyncio.run(controller.ensure(fake, desired(adoptionPolicy="Adopt"), said, first=False))
    assert ops(fake)[:3] == ["DescribeServices", "TagResource", "UpdateService"]
    assert fake.made("TagResource")[0] == {"resourceArn": ARN, "tags": OWNER.tags()}
    assert [r for r, _ in said] == ["Adopted", "Updated"]


def test_adopt_refuses_when_there_is_no_service_to_adopt() -> None:
    fake = answering([])
    with pytest.raises(AdoptionRefused, match="does not exist"):
        asyncio.run(controller.ensure(fake, desired(adoptionPolicy="Adopt"), silent, first=False))
    assert fake.made("CreateService") == []


def test_adopt_or_create_creates_when_the_name_is_free() -> None:
    fake = answering([service(status="INACTIVE")])  # history of the name, not a service
    asyncio.run(controller.ensure(fake, desired(adoptionPolicy="AdoptOrCreate"), silent, first=False))
    assert ops(fake) == ["DescribeServices", "CreateService"]


def test_a_changed_spec_updates_the_owned_service_and_syncs_user_tags() -> None:
    owned = service(tags=[*OWNER.tags(), {"key": "stale", "value": "1"}])
    fake = answering([owned])
    change = desired(desiredCount=5, tags=[{"key": "team", "value": "a"}])
    asyncio.run(controller.ensure(fake, change, silent, first=False))
    update = fake.made("UpdateService")[0]
    assert update["service"] == ARN and update["cluster"] == CLUSTER
    assert update["desiredCount"] == 5 and update["taskDefinition"] == TD
    assert "forceNewDeployment" not in update
    assert fake.made("TagResource") == [{"resourceArn": ARN, "tags": [{"key": "team", "value": "a"}]}]
    assert fake.made("UntagResource") == [{"resourceArn": ARN, "tagKeys": ["stale"]}]


def test_a_force_deployment_asked_for_is_sent_once_in_the_update() -> None:
    fake = answering([service()])
    forced = controller.Desired({"serviceName": "web"}, OWNER, CLUSTER, TD, force_deployment=True)
    asyncio.run(controller.ensure(fake, forced, silent, first=False))
    assert fake.made("UpdateService")[0]["forceNewDeployment"] is True


def test_a_draining_service_of_the_name_makes_the_reconcile_retry() -> None:
    fake = answering([service(status="DRAINING")])
    with pytest.raises(EcsError) as err:
        asyncio.run(controller.ensure(fake, desired(), silent, first=False))
    assert err.value.code == "ServiceDraining" and err.value.transient


def test_the_plan_lists_every_write_on_the_claimed_service_in_order() -> None:
    planned = controller.plan(desired(adoptionPolicy="Adopt"), service(None))
    assert planned.create is None and planned.target is not None and planned.target.adopting
    # Then the user tags are brought to spec: the adopted service's own "team" tag is not in it.
    assert planned.writes[2:] == [("UntagResource", {"resourceArn": ARN, "tagKeys": ["team"]})]
    assert [op for op, _ in planned.writes] == ["TagResource", "UpdateService", "UntagResource"]


def test_the_recorded_revision_is_what_ecs_resolved_else_the_one_held() -> None:
    assert controller.recorded(service(taskDefinition=TD), "web:3", None)["desiredTaskDefinition"] == TD
    held = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2"
    assert controller.recorded(service(), None, held)["desiredTaskDefinition"] == held


def test_an_update_answer_naming_a_new_deployment_records_it_as_current() -> None:
    """UpdateService's answer carries Service.currentServiceDeployment: the status loop describes it from then on."""
    new, old = f"{CLUSTER}/web/2".replace(":cluster/", ":service-deployment/"), "arn:old-deployment"
    known = {"last": {"serviceDeploymentArn": old, "status": "SUCCESSFUL"}}
    answer = service(taskDefinition=TD, currentServiceDeployment=new)
    assert controller.recorded(answer, TD, None, known)["deployment"] == {
        "current": {"serviceDeploymentArn": new},
        "last": known["last"],
    }
    same = service(taskDefinition=TD, currentServiceDeployment=old)  # e.g. desiredCount only: no new deployment
    assert "deployment" not in controller.recorded(same, TD, None, known)


def deployment(revision: int, status: str, rollout: str, reason: str = "") -> dict[str, Any]:
    td = f"arn:aws:ecs:us-east-1:123456789012:task-definition/web:{revision}"
    return {"status": status, "taskDefinition": td, "rolloutState": rollout, "rolloutStateReason": reason}


def test_a_rollout_in_progress_is_progressing() -> None:
    svc = service(
        desiredCount=2,
        runningCount=1,
        deployments=[deployment(3, "PRIMARY", "IN_PROGRESS"), deployment(2, "ACTIVE", "COMPLETED")],
    )
    v = controller.verdict(svc, TD)
    assert (v.ready, v.progressing, v.degraded, v.reason) == (False, True, False, "RollingOut")


def test_a_completed_rollout_at_full_count_is_steady() -> None:
    svc = service(desiredCount=2, runningCount=2, deployments=[deployment(3, "PRIMARY", "COMPLETED")])
    v = controller.verdict(svc, TD)
    assert (v.ready, v.degraded, v.reason) == (True, False, "Steady")


def test_a_failed_rollout_is_degraded_with_ecs_reason() -> None:
    svc = service(deployments=[deployment(3, "PRIMARY", "FAILED", "tasks failed to start")])
    v = controller.verdict(svc, TD)
    assert (v.ready, v.degraded, v.reason, v.message) == (False, True, "RolloutFailed", "tasks failed to start")


def test_a_circuit_breaker_rollback_is_degraded_naming_both_revisions() -> None:
    breaker = "ECS deployment circuit breaker: tasks failed to start."
    svc = service(
        taskDefinition="arn:aws:ecs:us-east-1:123456789012:task-definition/web:2",
        deployments=[deployment(2, "PRIMARY", "IN_PROGRESS"), deployment(3, "ACTIVE", "FAILED", breaker)],
    )
    v = controller.verdict(svc, TD)
    assert (v.degraded, v.reason) == (True, "RolledBack")
    assert "web:2" in v.message and "web:3" in v.message and "circuit breaker" in v.message


def test_a_rollback_verdict_stands_once_the_failed_deployment_is_gone() -> None:
    svc = service(
        taskDefinition="arn:aws:ecs:us-east-1:123456789012:task-definition/web:2",
        deployments=[deployment(2, "PRIMARY", "COMPLETED")],
    )
    assert controller.verdict(svc, TD, held="RolledBack").reason == "RolledBack"


def test_delete_scales_to_zero_then_deletes_the_owned_service() -> None:
    fake, said = answering([service()]), Said()
    asyncio.run(controller.delete(fake, OWNER, CLUSTER, ARN, said))
    assert ops(fake) == ["DescribeServices", "UpdateService", "DeleteService"]
    assert fake.made("UpdateService")[0] == {"desiredCount": 0, "service": ARN, "cluster": CLUSTER}
    assert fake.made("DeleteService")[0] == {"force": True, "service": ARN, "cluster": CLUSTER}
    assert [r for r, _ in said] == ["Deleted"]


def test_retain_only_takes_the_owner_tags_off() -> None:
    fake = answering([service()])
    asyncio.run(controller.delete(fake, OWNER, CLUSTER, ARN, silent, retain=True))
    assert ops(fake) == ["DescribeServices", "UntagResource"]
    assert set(fake.made("UntagResource")[0]["tagKeys"]) == {t["key"] for t in OWNER.tags()}


def test_delete_leaves_a_service_of_the_name_it_does_not_own() -> None:
    for held_by in (OTHER, None):
        fake, said = answering([service(held_by)]), Said()
        asyncio.run(controller.delete(fake, OWNER, CLUSTER, "web", said))
        assert ops(fake) == ["DescribeServices"]
        assert [r for r, _ in said] == ["NotOwned"]


def test_delete_of_a_service_already_gone_is_done() -> None:
    fake = answering([service()]).fail("UpdateService", "ServiceNotActiveException", "gone")
    asyncio.run(controller.delete(fake, OWNER, CLUSTER, ARN, silent))
    assert fake.made("DeleteService") == []


def test_delete_retries_on_any_other_failure() -> None:
    fake = answering([service()]).fail("DeleteService", "ThrottlingException", "slow down")
    with pytest.raises(EcsError):
        asyncio.run(controller.delete(fake, OWNER, CLUSTER, ARN, silent))
