"""Pure logic of the lean create path (one ECS write per new object): the family index and the shared DescribeClusters."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fargate_operator.ecs.coalesce import CoalescedClusters
from fargate_operator.ecs.errors import EcsError
from fargate_operator.ecs.families import FamilyIndex
from fargate_operator.reconcile.service import name_taken


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Pages:
    """ListTaskDefinitionFamilies answered from a list, `size` a page; counts the calls."""

    def __init__(self, families: list[str], size: int = 2) -> None:
        self.families, self.size, self.calls = families, size, 0
        self.fail = False

    async def __call__(self, operation: str, **params: Any) -> dict[str, Any]:
        assert operation == "ListTaskDefinitionFamilies" and params["status"] == "ACTIVE"
        self.calls += 1
        if self.fail:
            raise EcsError(operation, "AccessDeniedException", "no", 400)
        await asyncio.sleep(0)
        start = int(params.get("nextToken") or 0)
        page = self.families[start : start + self.size]
        token = str(start + self.size) if start + self.size < len(self.families) else None
        return {"families": page, **({"nextToken": token} if token else {})}


def test_a_family_is_new_only_when_a_fresh_walk_did_not_list_it() -> None:
    pages, clock = Pages(["a", "b", "c"]), Clock()
    index = FamilyIndex(pages, clock=clock, fresh_seconds=15, max_pages=10)

    async def run() -> list[bool]:
        # Ten creations at once share one walk (two pages).
        found = await asyncio.gather(*(index.is_new(f) for f in ["a", "x", *["y"] * 8]))
        return list(found)

    assert asyncio.run(run()) == [False, True, *[True] * 8]
    assert pages.calls == 2
    index.note_registered("x")
    assert asyncio.run(index.is_new("x")) is False  # registered here since the walk
    clock.now += 10
    assert asyncio.run(index.is_new("z")) is True and pages.calls == 2  # still fresh: no walk
    clock.now += 10
    assert asyncio.run(index.is_new("z")) is True and pages.calls == 4  # stale: walked again


def test_unsure_means_not_new() -> None:
    pages, clock = Pages([f"f{i}" for i in range(30)], size=2), Clock()
    index = FamilyIndex(pages, clock=clock, fresh_seconds=15, max_pages=10)
    assert asyncio.run(index.is_new("new")) is False and pages.calls == 11  # the first walk stops past the cap
    clock.now += 1
    assert asyncio.run(index.is_new("f29")) is False  # the cut-short walk knows no family to be new
    assert asyncio.run(index.is_new("new")) is False and pages.calls == 11
    clock.now += 20
    assert asyncio.run(index.is_new("new")) is False and pages.calls == 11  # too long to walk per creation
    index.note_walk(["f1"], started=clock.now, pages=1)  # the drift check's walk keeps it usable
    assert asyncio.run(index.is_new("new")) is True
    failing = Pages([])
    failing.fail = True
    assert asyncio.run(FamilyIndex(failing, clock=Clock()).is_new("new")) is False


def test_creations_share_describe_clusters() -> None:
    calls: list[list[str]] = []

    async def describe(names: list[str]) -> list[dict[str, Any]]:
        calls.append(names)
        return [{"clusterName": n, "clusterArn": f"arn:aws:ecs:r:1:cluster/{n}", "status": "ACTIVE"} for n in names]

    batcher = CoalescedClusters(describe, window=0.05, limit=100)

    async def run() -> list[dict[str, Any] | None]:
        first = await asyncio.gather(*(batcher.describe(f"c{i}") for i in range(150)))
        lone = await batcher.describe("late")
        return [*first, lone]

    found = asyncio.run(run())
    assert [f["clusterName"] for f in found if f] == [*(f"c{i}" for i in range(150)), "late"]
    assert sorted(len(c) for c in calls) == [1, 50, 100]  # 100 a call (ECS's limit), then the rest, then alone


def test_a_failed_shared_describe_fails_each_caller() -> None:
    async def describe(names: list[str]) -> list[dict[str, Any]]:
        raise EcsError("DescribeClusters", "ThrottlingException", "slow down", 400)

    batcher = CoalescedClusters(describe, window=0.01)

    async def run() -> list[Any]:
        return list(await asyncio.gather(batcher.describe("a"), batcher.describe("b"), return_exceptions=True))

    assert all(isinstance(r, EcsError) for r in asyncio.run(run()))


@pytest.mark.parametrize(
    ("message", "taken"),
    [
        ("Creation of service was not idempotent.", True),
        ("Unable to Start a service that is still Draining.", True),
        ("Task definition does not support launch_type FARGATE.", False),
    ],
)
def test_create_service_errors_that_mean_the_name_is_in_use(message: str, taken: bool) -> None:
    assert name_taken("InvalidParameterException", message) is taken
    assert name_taken("ClientException", message) is False


class TagApplyingClusters:
    """An ECS whose CreateCluster on an ACTIVE name applies the request's tags to that cluster.

    ECS's documentation does not say whether it does; the create path must be safe if it does.
    """

    def __init__(self, existing: dict[str, dict[str, Any]]) -> None:
        self.clusters = existing
        self.writes: list[str] = []
        self.cluster_batch = CoalescedClusters(self.describe_clusters, window=0.01)

    async def describe_clusters(self, names: list[str]) -> list[dict[str, Any]]:
        return [dict(self.clusters[n]) for n in names if n in self.clusters]

    async def call(self, operation: str, **params: Any) -> dict[str, Any]:
        self.writes.append(operation)
        assert operation == "CreateCluster"
        name = params["clusterName"]
        cluster = self.clusters.setdefault(
            name, {"clusterName": name, "clusterArn": f"arn:aws:ecs:r:1:cluster/{name}", "status": "ACTIVE"}
        )
        cluster["tags"] = params["tags"]
        return {"cluster": dict(cluster)}


def test_another_namespaces_cluster_never_receives_a_create_from_a_new_object() -> None:
    from fargate_operator.controllers import cluster as controller
    from fargate_operator.models.ownership import AdoptionRefused, Owner

    theirs = Owner("FargateCluster", "team-a", "prod", "uid-a")
    existing = {"clusterName": "prod", "clusterArn": "arn:aws:ecs:r:1:cluster/prod", "status": "ACTIVE"}
    ecs = TagApplyingClusters({"prod": {**existing, "tags": theirs.tags()}})
    body = {"kind": "FargateCluster", "metadata": {"namespace": "team-b", "name": "prod", "uid": "uid-b"}}
    events: list[str] = []

    async def say(reason: str, message: str) -> None:
        events.append(reason)

    desired = controller.Desired({"clusterName": "prod"}, Owner.of(body), "prod")
    with pytest.raises(AdoptionRefused, match="owned by FargateCluster team-a/prod"):
        asyncio.run(controller.ensure(ecs, desired, say, first=True, look=ecs.cluster_batch.describe))  # type: ignore[arg-type]
    assert ecs.writes == [], "a CreateCluster on the existing name could have rewritten its owner tags"
    assert ecs.clusters["prod"]["tags"] == theirs.tags() and events == []
