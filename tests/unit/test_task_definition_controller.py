"""FargateTaskDefinition's controller in-process: the fast path, the family race, retiring and deletion policies.

ECS's task definitions are played by `Registry` on top of FakeEcs (our gateway interface):
revisions numbered per family, ACTIVE until deregistered, tags kept beside each revision.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from fargate_operator.controllers import task_definition as controller
from fargate_operator.ecs.errors import EcsError
from fargate_operator.models.ownership import SPEC_HASH_TAG, UID_TAG, AdoptionRefused, Owner, tag_dict
from support.fake_ecs import FakeEcs

PREFIX = "arn:aws:ecs:us-east-1:123456789012:task-definition/"
A = Owner("FargateTaskDefinition", "team-a", "web", "uid-a")
B = Owner("FargateTaskDefinition", "team-b", "web", "uid-b")
SPEC = {"family": "web", "containerDefinitions": [{"name": "app", "image": "nginx"}]}
GATED = ("DeregisterTaskDefinition", "DeleteTaskDefinitions", "UntagResource")


@dataclass
class Registry:
    """ECS's revisions, answering through a FakeEcs."""

    ecs: FakeEcs = field(default_factory=FakeEcs)
    revisions: dict[str, dict[str, Any]] = field(default_factory=dict)
    before_register: Callable[[], object] | None = None  # another writer, just before this one's register lands

    def __post_init__(self) -> None:
        self.ecs.on("RegisterTaskDefinition", self._register).on("DescribeTaskDefinition", self._describe)
        self.ecs.on("ListTaskDefinitions", self._list).on("DeregisterTaskDefinition", self._deregister)
        self.ecs.on("DeleteTaskDefinitions", self._delete).on("UntagResource", self._untag)

    def register(self, owner: Owner | None, spec: dict[str, Any] = SPEC) -> str:
        """A revision registered by `owner` (None: by someone outside the operator, untagged)."""
        from fargate_operator.reconcile import task_definition as logic

        request, _ = logic.register_request(dict(spec), owner) if owner else ({"family": spec["family"]}, "")
        return str(self._store(request)["taskDefinitionArn"])

    def _store(self, request: dict[str, Any]) -> dict[str, Any]:
        family = request["family"]
        number = 1 + sum(1 for r in self.revisions.values() if r["family"] == family)
        arn = f"{PREFIX}{family}:{number}"
        self.revisions[arn] = {
            "taskDefinitionArn": arn,
            "family": family,
            "revision": number,
            "status": "ACTIVE",
            "tags": list(request.get("tags", [])),
        }
        return self.revisions[arn]

    def _answer(self, revision: dict[str, Any]) -> dict[str, Any]:
        return {"taskDefinition": {k: v for k, v in revision.items() if k != "tags"}, "tags": revision["tags"]}

    def _register(self, p: dict[str, Any]) -> dict[str, Any]:
        if self.before_register is not None:
            racing, self.before_register = self.before_register, None
            racing()
        return self._answer(self._store(p))

    def _describe(self, p: dict[str, Any]) -> dict[str, Any]:
        ref = p["taskDefinition"]
        if ref in self.revisions:
            return self._answer(self.revisions[ref])
        active = [r for r in self.revisions.values() if r["family"] == ref and r["status"] == "ACTIVE"]
        if not active:
            raise EcsError("DescribeTaskDefinition", "ClientException", "Unable to describe task definition.", 400)
        return self._answer(max(active, key=lambda r: r["revision"]))

    def _list(self, p: dict[str, Any]) -> dict[str, Any]:
        wanted = [r for r in self.revisions.values() if r["family"].startswith(p["familyPrefix"])]
        return {"taskDefinitionArns": [r["taskDefinitionArn"] for r in wanted if r["status"] == p["status"]]}

    def _deregister(self, p: dict[str, Any]) -> dict[str, Any]:
        self.revisions[p["taskDefinition"]]["status"] = "INACTIVE"
        return self._answer(self.revisions[p["taskDefinition"]])

    def _delete(self, p: dict[str, Any]) -> dict[str, Any]:
        for arn in p["taskDefinitions"]:
            self.revisions[arn]["status"] = "DELETE_IN_PROGRESS"
        return {"taskDefinitions": [], "failures": []}

    def _untag(self, p: dict[str, Any]) -> dict[str, Any]:
        tags = self.revisions[p["resourceArn"]]["tags"]
        tags[:] = [t for t in tags if t["key"] not in p["tagKeys"]]
        return {}

    def status(self, arn: str) -> str:
        return str(self.revisions[arn]["status"])

    def written(self) -> list[tuple[str, Any]]:
        """Every write on an existing revision, with what it named."""
        members = {"DeregisterTaskDefinition": "taskDefinition", "DeleteTaskDefinitions": "taskDefinitions"}
        members["UntagResource"] = "resourceArn"
        return [(op, p[members[op]]) for op, p in self.ecs.calls if op in GATED]


@dataclass
class Families:
    new: bool = False
    registered: list[str] = field(default_factory=list)

    async def is_new(self, family: str) -> bool:
        return self.new and family not in self.registered

    def note_registered(self, family: str) -> None:
        self.registered.append(family)


@dataclass
class Events:
    reasons: list[str] = field(default_factory=list)

    async def __call__(self, reason: str, message: str) -> None:  # a controllers.events.Say
        self.reasons.append(reason)


def desired(owner: Owner = A, first: bool = False, **more: Any) -> controller.Desired:
    spec = {**SPEC, **more.pop("spec", {})}
    return controller.Desired(owner, spec, first_attempt=first, **more)


def reconcile(world: Registry, want: controller.Desired, families: Families | None = None) -> controller.Registered:
    return asyncio.run(controller.reconcile(world.ecs, Events(), families or Families(), want))


def ops(world: Registry) -> list[str]:
    return [op for op, _ in world.ecs.calls]


def test_a_new_family_on_the_first_attempt_costs_one_ecs_call() -> None:
    world, families = Registry(), Families(new=True)
    done = reconcile(world, desired(first=True), families)
    assert ops(world) == ["RegisterTaskDefinition"]
    assert (done.revision, done.kept) == (1, [PREFIX + "web:1"]) and families.registered == ["web"]
    assert done.status()["specHash"] == done.digest and done.verdict.ready
    assert tag_dict(world.revisions[done.arn]["tags"])[UID_TAG] == A.uid


def test_a_family_the_index_does_not_know_is_looked_at_before_registering() -> None:
    world = Registry()
    done = reconcile(world, desired(first=True))
    assert ops(world) == ["DescribeTaskDefinition", "RegisterTaskDefinition", "ListTaskDefinitions"]
    assert done.revision == 1


def test_a_revision_registered_before_a_crash_is_reused_not_registered_again() -> None:
    world = Registry()
    arn = world.register(A)  # registered, then the operator died before the status patch
    done = reconcile(world, desired())
    assert done.arn == arn and world.ecs.made("RegisterTaskDefinition") == []


def test_a_changed_spec_registers_the_next_revision_and_retires_beyond_the_history_limit() -> None:
    world = Registry()
    old = [world.register(A, {**SPEC, "cpu": str(256 * n)}) for n in (1, 2, 3)]
    in_use = {old[0]}
    done = reconcile(world, desired(spec={"revisionHistoryLimit": 1}, in_use=lambda: set(in_use)))
    assert done.revision == 4
    # web:3 is kept (the limit), web:1 is in use: only web:2 goes.
    assert world.written() == [("DeregisterTaskDefinition", old[1])]
    assert done.kept == [PREFIX + "web:4", old[2], old[0]]


def test_retired_revisions_are_deleted_too_when_the_spec_asks() -> None:
    world = Registry()
    old = [world.register(A, {**SPEC, "cpu": str(256 * n)}) for n in (1, 2)]
    reconcile(world, desired(spec={"revisionHistoryLimit": 0, "deleteDeregisteredRevisions": True}))
    assert world.written() == [*(("DeregisterTaskDefinition", a) for a in old), ("DeleteTaskDefinitions", old)]


def test_two_objects_racing_for_one_family_leave_it_to_the_first_and_the_second_takes_its_revision_back() -> None:
    """Both found the family free (the fast path); A registered revision 1, B revision 2."""
    world, families = Registry(), Families(new=True)
    first = reconcile(world, desired(A, first=True), families)
    with pytest.raises(EcsError) as appeared:  # B: revision 2 of a family it thought new -> taken back, retried
        reconcile(world, desired(B, first=True), Families(new=True))
    assert appeared.value.code == "FamilyAppeared" and appeared.value.transient
    assert world.status(PREFIX + "web:2") == "INACTIVE" and world.status(first.arn) == "ACTIVE"
    with pytest.raises(AdoptionRefused):  # B's retry, the careful way: the family is A's
        reconcile(world, desired(B))
    assert world.written() == [("DeregisterTaskDefinition", PREFIX + "web:2")]
    assert len(world.ecs.made("RegisterTaskDefinition")) == 2


def test_the_loser_of_a_careful_race_deregisters_only_its_own_revision() -> None:
    """B registered between A's look at the family and A's register: B's revision is lower, the family B's."""
    world = Registry()
    world.before_register = lambda: world.register(B)
    with pytest.raises(AdoptionRefused) as refused:
        reconcile(world, desired(A))
    assert "owned by FargateTaskDefinition team-b/web" in str(refused.value)
    assert world.written() == [("DeregisterTaskDefinition", PREFIX + "web:2")]
    assert world.status(PREFIX + "web:1") == "ACTIVE"


def test_the_winner_of_a_careful_race_leaves_the_losers_newer_revision_alone() -> None:
    """B registers right after A (both found the family free): A's revision is lower, the family A's."""
    world = Registry()
    register = world._register

    def then_b(p: dict[str, Any]) -> dict[str, Any]:
        answer = register(p)
        world.register(B)
        return answer

    world.ecs.on("RegisterTaskDefinition", then_b)
    done = reconcile(world, desired(A))
    assert done.arn == PREFIX + "web:1" and world.written() == []
    assert world.status(PREFIX + "web:2") == "ACTIVE"


def test_a_family_another_object_holds_is_refused_without_asking_ecs() -> None:
    world = Registry()
    with pytest.raises(AdoptionRefused):
        reconcile(world, desired(holder=controller.Holder("team-b", "web", deleting=False)))
    with pytest.raises(EcsError) as going:  # that object is being deleted: retried, not refused for good
        reconcile(world, desired(holder=controller.Holder("team-b", "web", deleting=True)))
    assert going.value.transient and world.ecs.calls == []


def test_an_unowned_family_is_refused_unless_adopted() -> None:
    world = Registry()
    outside = world.register(None)
    with pytest.raises(AdoptionRefused):
        reconcile(world, desired())
    events = Events()
    done = asyncio.run(controller.reconcile(world.ecs, events, Families(), desired(spec={"adoptionPolicy": "Adopt"})))
    assert done.revision == 2 and "Adopted" in events.reasons
    assert world.status(outside) == "ACTIVE"


def test_spec_already_registered_is_up_to_date() -> None:
    world = Registry()
    done = reconcile(world, desired())
    assert controller.up_to_date(desired(), done.status())
    assert not controller.up_to_date(desired(spec={"cpu": "512"}), done.status())


def delete(world: Registry, want: controller.Desired, recorded: bool = True) -> Events:
    events = Events()
    asyncio.run(controller.delete(world.ecs, events, want, recorded))
    return events


def test_deletion_deregisters_only_the_objects_own_revisions() -> None:
    world = Registry()
    mine = world.register(A)
    theirs = world.register(B)  # registered into the family since (another object, told to keep off)
    events = delete(world, desired())
    assert world.written() == [("DeregisterTaskDefinition", mine)]
    assert world.status(theirs) == "ACTIVE" and events.reasons == ["Deregistered"]


def test_deletion_with_delete_revisions_spares_those_in_use() -> None:
    world = Registry()
    used, unused = world.register(A), world.register(A, {**SPEC, "cpu": "512"})
    delete(world, desired(spec={"deleteDeregisteredRevisions": True}, in_use=lambda: {used}))
    assert world.written()[-1] == ("DeleteTaskDefinitions", [unused])


def test_retain_leaves_the_revisions_registered_and_untagged() -> None:
    world = Registry()
    mine, theirs = world.register(A), world.register(B)
    events = delete(world, desired(spec={"deletionPolicy": "Retain"}))
    assert world.written() == [("UntagResource", mine)]
    assert world.status(mine) == "ACTIVE" and world.revisions[mine]["tags"] == []
    assert tag_dict(world.revisions[theirs]["tags"])[UID_TAG] == B.uid
    assert SPEC_HASH_TAG in tag_dict(world.revisions[theirs]["tags"])
    assert events.reasons == ["Retained"]


def test_deletion_before_status_recorded_anything_finds_the_revision_by_owner_tag() -> None:
    world = Registry()
    world.register(B)
    mine = world.register(A)  # RegisterTaskDefinition reached ECS, the status patch never happened
    delete(world, desired(), recorded=False)
    assert world.written() == [("DeregisterTaskDefinition", mine)]


def test_an_adapter_deregistration_touches_only_named_own_revisions_and_tells_what_it_did() -> None:
    world = Registry()
    mine, theirs, also_mine = world.register(A), world.register(B), world.register(A, {**SPEC, "cpu": "512"})
    done: list[str] = []
    asyncio.run(controller.deregister_named(world.ecs, desired(), [mine, theirs], done))
    assert done == [mine] and world.status(also_mine) == "ACTIVE" and world.status(theirs) == "ACTIVE"
    world.ecs.fail("DeregisterTaskDefinition", "ServerException", http_status=500)
    done.clear()
    with pytest.raises(EcsError):
        asyncio.run(controller.deregister_named(world.ecs, desired(), [also_mine], done))
    assert done == []
