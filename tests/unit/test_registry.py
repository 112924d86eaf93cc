"""The watch cache: what it keeps of an object, and when it counts as synced."""

from __future__ import annotations

from typing import Any

from fargate_operator.store.registry import LAST_APPLIED, Registry


def body(name: str, **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "ecs.fargate.dev/v1alpha1",
        "kind": "FargateTask",
        "metadata": {
            "name": name,
            "namespace": "ns",
            "managedFields": [{"manager": "kubectl"}],
            "annotations": {LAST_APPLIED: "{...}", "team": "a"},
        },
        "spec": {"count": 1},
        "status": {"kopf": {"progress": {}}, **status},
    }


def test_snapshot_drops_bookkeeping_and_keeps_the_rest() -> None:
    reg = Registry()
    reg.upsert(body("a", phase="Running"))
    got = reg.get("FargateTask", "ns", "a")
    assert got is not None
    assert "managedFields" not in got["metadata"]
    assert got["metadata"]["annotations"] == {"team": "a"}
    assert got["status"] == {"phase": "Running"}
    assert got["spec"] == {"count": 1}


def test_synced_only_after_as_many_objects_as_existed_at_start() -> None:
    reg = Registry()
    assert not reg.synced()  # nothing expected yet: Kopf has not started
    reg.expect({"FargateTask": 2, "FargateService": 0})
    reg.upsert(body("a"))
    assert not reg.synced()
    reg.remove("FargateTask", "ns", "b")  # deleted before its listing reached us: still seen
    assert reg.synced()
    reg.remove("FargateTask", "ns", "a")
    assert reg.synced()  # synced for good


def test_updates_of_one_object_do_not_count_twice() -> None:
    reg = Registry()
    reg.expect({"FargateTask": 2})
    reg.upsert(body("a"))
    reg.upsert(body("a", phase="Running"))
    assert not reg.synced()
