"""The watch cache: what it keeps of an object, and when it counts as synced."""

from __future__ import annotations

from typing import Any

from fargate_operator.store.watch_cache import LAST_APPLIED, WatchCache


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
    reg = WatchCache()
    reg.upsert(body("a", phase="Running"))
    got = reg.get("FargateTask", "ns", "a")
    assert got is not None
    assert "managedFields" not in got["metadata"]
    assert got["metadata"]["annotations"] == {"team": "a"}
    assert got["status"] == {"phase": "Running"}
    assert got["spec"] == {"count": 1}


def test_a_handler_mid_way_is_still_seen() -> None:
    """Kopf's bookkeeping is dropped, but not the fact that a handler is retrying: drift detection
    (handlers/drift.py converged) must not judge an object its handler owns at the moment."""
    reg = WatchCache()
    busy = body("b", phase="Pending")
    busy["status"]["kopf"] = {"progress": {"run_task": {"retries": 2}}, "dummy": "x" * 1000}
    reg.upsert(busy)
    got = reg.get("FargateTask", "ns", "b")
    assert got is not None and got["status"]["kopf"] == {"progress": {"run_task": {"retries": 2}}}


def test_synced_once_marked_and_for_good() -> None:
    reg = WatchCache()
    assert not reg.synced()  # the feed (store/feed.py) marks it once every kind was listed
    reg.mark_synced()
    reg.remove("FargateTask", "ns", "a")
    assert reg.synced()  # synced for good: the watches keep it current from here


def test_a_full_list_drops_what_it_lacks_but_not_what_came_after_it_began() -> None:
    reg = WatchCache()
    reg.upsert(body("kept"))
    reg.upsert(body("deleted-while-away"))
    since = reg.mark()  # the LIST starts here ...
    reg.upsert(body("created-during-the-list"))  # ... an ADDED event arrives before it answers
    gone = reg.retain("FargateTask", {("ns", "kept")}, since)
    assert gone == [("ns", "deleted-while-away")]
    assert reg.get("FargateTask", "ns", "deleted-while-away") is None
    assert reg.get("FargateTask", "ns", "created-during-the-list") is not None
    assert reg.get("FargateTask", "ns", "kept") is not None


def test_an_update_after_the_list_began_keeps_an_object() -> None:
    reg = WatchCache()
    reg.upsert(body("a"))
    since = reg.mark()
    reg.upsert(body("a", phase="Running"))  # deleted and created again, seen after the LIST began
    assert reg.retain("FargateTask", set(), since) == []
    assert reg.retain("FargateTask", set(), reg.mark()) == [("ns", "a")]


def test_a_namespaces_relist_drops_only_that_namespaces_objects() -> None:
    """One feed stream per watched namespace: its list says nothing about the other namespaces."""
    reg = WatchCache()
    reg.upsert(body("a"))
    other = body("b")
    other["metadata"]["namespace"] = "other"
    reg.upsert(other)
    assert reg.retain("FargateTask", set(), reg.mark(), namespace="ns") == [("ns", "a")]
    assert reg.get("FargateTask", "other", "b") is not None
