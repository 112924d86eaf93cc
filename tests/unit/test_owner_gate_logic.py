"""The owner gate: a write or delete on an existing ECS resource goes out only for an Owned target."""

from __future__ import annotations

import asyncio

import pytest

from fargate_operator.ecs import owner_gate
from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.ecs.settings import GatewaySettings
from fargate_operator.models.ownership import AdoptionRefused, Owner

OWNER = Owner("FargateService", "team-a", "web", "uid-a")
SERVICE = "arn:aws:ecs:us-east-1:123456789012:service/prod/web"
CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/prod"


def _service(uid: str | None) -> dict[str, object]:
    tags = [{"key": "ecs.fargate.dev/uid", "value": uid}] if uid else []
    revision = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3"
    return {
        "serviceArn": SERVICE,
        "clusterArn": CLUSTER,
        "serviceName": "web",
        "taskDefinition": revision,
        "tags": tags,
    }


def _gateway() -> EcsGateway:
    # No request is ever sent: the endpoint does not exist, and every refusal comes before botocore.
    return EcsGateway(GatewaySettings(region="us-east-1", endpoint_url="http://127.0.0.1:9", max_attempts=1))


@pytest.mark.parametrize("operation", [*sorted(owner_gate.WRITES), "UpdateTaskSet", "DeleteAttributes"])
def test_a_write_on_an_existing_resource_cannot_be_made_without_the_owner_check(operation: str) -> None:
    gw = _gateway()
    try:
        with pytest.raises(owner_gate.UngatedWrite):
            asyncio.run(gw.call(operation, resourceArn=SERVICE, cluster=CLUSTER, service=SERVICE))
        with pytest.raises(owner_gate.UngatedWrite):
            asyncio.run(gw.write(operation, SERVICE))  # type: ignore[arg-type]  # an ARN string is not an Owned
    finally:
        gw.close()


def test_only_the_owner_check_makes_an_owned_target() -> None:
    with pytest.raises(owner_gate.UngatedWrite):
        owner_gate.Owned(SERVICE, CLUSTER, OWNER, False, seal=object())


def test_the_owner_check_admits_only_the_objects_own_or_an_adoption_it_asked_for() -> None:
    assert owner_gate.owned(OWNER, _service("uid-b")) is None
    assert owner_gate.owned(OWNER, _service(None)) is None
    ours = owner_gate.owned(OWNER, _service("uid-a"))
    assert ours is not None and ours.arn == SERVICE and not ours.adopting
    adopted = owner_gate.owned(OWNER, _service(None), adoption_policy="Adopt")
    assert adopted is not None and adopted.adopting
    assert owner_gate.owned(OWNER, _service("uid-b"), adoption_policy="Adopt") is None
    with pytest.raises(AdoptionRefused):
        owner_gate.claimed(OWNER, _service("uid-b"), "AdoptOrCreate", "ECS service web")
    with pytest.raises(AdoptionRefused):
        owner_gate.claimed(OWNER, _service(None), "CreateOnly", "ECS service web")


def test_a_gated_request_names_exactly_the_checked_resource_in_the_cluster_ecs_reported() -> None:
    ours = owner_gate.owned(OWNER, _service("uid-a"))
    assert ours is not None
    # Whatever the caller wrote (a name that may now be another service's, another cluster), the checked ARN goes.
    request = owner_gate.request("DeleteService", ours, {"cluster": "elsewhere", "service": "web", "force": True})
    assert request == {"cluster": CLUSTER, "service": SERVICE, "force": True}
    revisions = [
        owner_gate.owned(
            OWNER,
            {"taskDefinition": {"taskDefinitionArn": f"arn:aws:ecs:us-east-1:1:task-definition/f:{n}"}, "tags": tags},
        )
        for n, tags in ((1, [{"key": "ecs.fargate.dev/uid", "value": "uid-a"}]), (2, []))
    ]
    assert revisions[1] is None  # untagged, no adoption asked
    assert revisions[0] is not None
    assert owner_gate.request("DeleteTaskDefinitions", [revisions[0]], {}) == {
        "taskDefinitions": ["arn:aws:ecs:us-east-1:1:task-definition/f:1"]
    }
