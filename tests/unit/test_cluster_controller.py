"""The FargateCluster controller in process, against the in-memory gateway (support/fake_ecs.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fargate_operator.controllers import cluster as controller
from fargate_operator.controllers.events import silent
from fargate_operator.ecs.errors import EcsError
from fargate_operator.models.ownership import UID_TAG, AdoptionRefused, Owner
from support.fake_ecs import FakeEcs

OWNER = Owner("FargateCluster", "team-a", "apps", "uid-apps")
OTHER = Owner("FargateCluster", "team-b", "apps", "uid-other")
ARN = "arn:aws:ecs:us-east-1:123456789012:cluster/apps"
SERVICE = "arn:aws:ecs:us-east-1:123456789012:service/apps/web"


def desired(**spec: Any) -> controller.Desired:
    return controller.Desired(spec, OWNER, "apps")


def cluster(owner: Owner | None = OWNER, status: str = "ACTIVE", **extra: Any) -> dict[str, Any]:
    tags = owner.tags() if owner else []
    return {"clusterArn": ARN, "clusterName": "apps", "status": status, "tags": tags, **extra}


class Ecs(FakeEcs):
    """ECS with one name: DescribeClusters answers what is there, CreateCluster makes it ours."""

    def __init__(self, there: list[dict[str, Any]], services: list[dict[str, Any]] | None = None) -> None:
        super().__init__()
        self.there = there
        self.on("DescribeClusters", lambda p: {"clusters": self.there})
        self.on("CreateCluster", self._create)
        for op in ("TagResource", "UntagResource", "UpdateCluster", "PutClusterCapacityProviders", "DeleteCluster"):
            self.on(op, lambda p: {})
        self.on("ListServices", lambda p: {"serviceArns": [s["serviceArn"] for s in services or []]})
        self.on("DescribeServices", lambda p: {"services": services or []})

    def _create(self, params: dict[str, Any]) -> dict[str, Any]:
        made = {"clusterArn": ARN, "clusterName": params["clusterName"], "status": "ACTIVE", "tags": params["tags"]}
        self.there = [made]
        return {"cluster": made}


class Said(list[tuple[str, str]]):
    async def __call__(self, reason: str, message: str) -> None:
        self.append((reason, message))


def ops(fake: FakeEcs) -> list[str]:
    return [op for op, _ in fake.calls]


def test_a_create_looks_first_then_creates_with_owner_tags() -> None:
    fake, said = Ecs([]), Said()
    made = asyncio.run(controller.ensure(fake, desired(), said, first=True))
    assert ops(fake) == ["DescribeClusters", "CreateCluster", "DescribeClusters"]
    assert {"key": UID_TAG, "value": "uid-apps"} in fake.made("CreateCluster")[0]["tags"]
    assert made["clusterArn"] == ARN and [r for r, _ in said] == ["Created"]


def test_an_inactive_cluster_of_the_name_does_not_stop_a_create() -> None:
    fake = Ecs([cluster(None, status="INACTIVE")])
    asyncio.run(controller.ensure(fake, desired(), silent, first=True))
    assert "CreateCluster" in ops(fake)


def test_an_existing_cluster_never_receives_a_create_cluster() -> None:
    fake = Ecs([cluster()])
    asyncio.run(controller.ensure(fake, desired(), silent, first=True))
    assert ops(fake) == ["DescribeClusters"]


def test_a_cluster_of_another_namespace_is_refused_without_a_write() -> None:
    for first in (True, False):
        fake = Ecs([cluster(OTHER)])
        with pytest.raises(AdoptionRefused, match="owned by FargateCluster team-b/apps"):
            asyncio.run(controller.ensure(fake, desired(adoptionPolicy="AdoptOrCreate"), silent, first=first))
        assert ops(fake) == ["DescribeClusters"]


def test_a_cluster_made_by_a_racing_creation_is_judged_after_the_create() -> None:
    fake = Ecs([])
    fake.on("CreateCluster", lambda p: {"cluster": cluster(OTHER)})  # ECS answered with the other's cluster
    fake.there = []
    looks = iter([None, cluster(OTHER)])

    async def look(name: str) -> dict[str, Any] | None:
        return next(looks)

    with pytest.raises(AdoptionRefused):
        asyncio.run(controller.ensure(fake, desired(), silent, first=True, look=look))
    assert ops(fake) == ["CreateCluster"]


def test_adopt_tags_an_unowned_cluster_then_brings_it_to_spec() -> None:
    fake, said = Ecs([cluster(None)]), Said()
    spec = {"adoptionPolicy": "Adopt", "settings": [{"name": "containerInsights", "value": "enabled"}]}
    asyncio.run(controller.ensure(fake, desired(**spec), said, first=False))
    assert ops(fake) == ["DescribeClusters", "TagResource", "UpdateCluster", "DescribeClusters"]
    assert fake.made("TagResource")[0] == {"resourceArn": ARN, "tags": OWNER.tags()}
    assert fake.made("UpdateCluster")[0]["cluster"] == ARN
    assert [r for r, _ in said] == ["Adopted", "Updated"]


def test_adopt_refuses_when_there_is_no_cluster_to_adopt() -> None:
    fake = Ecs([])
    with pytest.raises(AdoptionRefused, match="does not exist"):
        asyncio.run(controller.ensure(fake, desired(adoptionPolicy="Adopt"), silent, first=False))
    assert fake.made("CreateCluster") == []


def test_a_changed_spec_updates_capacity_providers_of_the_owned_cluster() -> None:
    fake = Ecs([cluster()])
    strategy = [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    spec = {"capacityProviders": ["FARGATE_SPOT"], "defaultCapacityProviderStrategy": strategy}
    asyncio.run(controller.ensure(fake, desired(**spec), silent, first=False))
    put = fake.made("PutClusterCapacityProviders")[0]
    assert put == {"cluster": ARN, "capacityProviders": ["FARGATE_SPOT"], "defaultCapacityProviderStrategy": strategy}


def test_an_owned_cluster_already_at_spec_gets_no_write() -> None:
    fake = Ecs([cluster()])
    asyncio.run(controller.ensure(fake, desired(), silent, first=False))
    assert ops(fake) == ["DescribeClusters"]


def test_delete_removes_an_owned_cluster_without_services() -> None:
    fake, said = Ecs([cluster()]), Said()
    asyncio.run(controller.delete(fake, OWNER, ARN, said))
    assert ops(fake) == ["DescribeClusters", "ListServices", "DescribeServices", "DeleteCluster"]
    assert fake.made("DeleteCluster")[0] == {"cluster": ARN} and [r for r, _ in said] == ["Deleted"]


def test_delete_is_blocked_while_a_service_remains() -> None:
    fake = Ecs([cluster()], services=[{"serviceArn": SERVICE, "status": "ACTIVE"}])
    with pytest.raises(EcsError) as err:
        asyncio.run(controller.delete(fake, OWNER, ARN, silent))
    assert controller.blocked(err.value) and "web" in err.value.message
    assert fake.made("DeleteCluster") == []


def test_a_deletion_blocked_only_by_stopping_tasks_is_retried_sooner_than_one_blocked_by_services() -> None:
    services = EcsError("DeleteCluster", "ClusterContainsServicesException", "1 services remain: web", 400)
    tasks = EcsError("DeleteCluster", "ClusterContainsTasksException", "Tasks are active.", 400)
    assert controller.blocked(services) and controller.blocked(tasks)
    assert controller.blocked_retry_delay(tasks) < controller.blocked_retry_delay(services)


def test_an_inactive_service_does_not_block_deletion() -> None:
    fake = Ecs([cluster()], services=[{"serviceArn": SERVICE, "status": "INACTIVE"}])
    asyncio.run(controller.delete(fake, OWNER, ARN, silent))
    assert len(fake.made("DeleteCluster")) == 1


def test_retain_only_takes_the_owner_tags_off() -> None:
    fake = Ecs([cluster()])
    asyncio.run(controller.delete(fake, OWNER, ARN, silent, retain=True))
    assert ops(fake) == ["DescribeClusters", "UntagResource"]


def test_delete_leaves_a_cluster_it_does_not_own() -> None:
    for held_by in (OTHER, None):
        fake = Ecs([cluster(held_by)])
        asyncio.run(controller.delete(fake, OWNER, "apps", silent))
        assert ops(fake) == ["DescribeClusters"]


def test_delete_of_a_cluster_already_gone_is_done() -> None:
    fake = Ecs([cluster()]).fail("ListServices", "ClusterNotFoundException", "gone")
    asyncio.run(controller.delete(fake, OWNER, ARN, silent))
    assert fake.made("DeleteCluster") == []


def test_the_verdict_is_ready_only_when_ecs_says_active() -> None:
    assert controller.verdict(cluster()).ready
    provisioning = controller.verdict(cluster(status="PROVISIONING"))
    assert (provisioning.ready, provisioning.progressing, provisioning.reason) == (False, True, "Provisioning")
    assert controller.made_verdict(cluster(status="FAILED")).reason == "Provisioning"
