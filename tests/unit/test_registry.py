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


def test_synced_once_it_holds_what_the_api_server_holds() -> None:
    reg = Registry()
    assert not reg.synced()  # nothing compared yet
    assert not reg.catches_up_with({"FargateTask": 2, "FargateService": 0})
    reg.upsert(body("a"))
    reg.upsert(body("a", phase="Running"))  # updates of one object count once
    assert not reg.catches_up_with({"FargateTask": 2, "FargateService": 0})
    # "b" was deleted before its listing arrived: the fresh count says 1, and that is enough.
    assert reg.catches_up_with({"FargateTask": 1, "FargateService": 0})
    reg.remove("FargateTask", "ns", "a")
    assert reg.synced()  # synced for good: the watch keeps it current from here
