"""The deleted objects' records (store/deleted.py): what a record keeps, and how the store stays bounded."""

from __future__ import annotations

import json
from typing import Any

from fargate_operator.store import deleted


def _body(kind: str, uid: str, **status: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "metadata": {
            "name": f"n-{uid}",
            "namespace": "team",
            "uid": uid,
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "annotations": {"ecs.fargate.dev/started-by": "ci", "other": "x"},
            "managedFields": [{"big": True}],
        },
        "spec": {"serviceName": "web", "family": "f", "containerDefinitions": [{"name": "app"}]},
        "status": {**status, "kopf": {"progress": {}}, "conditions": [{"type": "Ready"}]},
    }


def _data(*records: tuple[str, dict[str, Any]]) -> dict[str, str]:
    return {key: json.dumps(r) for key, r in records}


def test_a_record_keeps_what_the_answers_need_and_no_bookkeeping() -> None:
    rec = deleted.record_of(_body("FargateService", "u1", serviceArn="arn:svc"), now=100.0)
    obj = rec["object"]
    assert rec["kind"] == "FargateService" and rec["deletedAt"] == 100.0
    assert obj["status"] == {"serviceArn": "arn:svc"}
    assert obj["metadata"]["annotations"] == {"ecs.fargate.dev/started-by": "ci"}
    assert "managedFields" not in obj["metadata"]
    family = deleted.record_of(_body("FargateTaskDefinition", "u2", taskDefinitionArn="arn:td:1", revision=1), 1.0)
    assert family["object"]["spec"] == {"family": "f"}, "a revision's content is ECS's, not the record's"


def test_records_go_after_an_hour_and_beyond_the_newest_per_kind() -> None:
    now = 10_000.0
    old = deleted.record_of(_body("FargateService", "old", serviceArn="a"), now - deleted.KEEP_SECONDS - 1)
    fresh = [
        (f"FargateTask.{i}", deleted.record_of(_body("FargateTask", str(i), tasks=[{}]), now - i))
        for i in range(deleted.KEEP_PER_KIND + 5)
    ]
    data = _data(("FargateService.old", old), *fresh) | {"junk": "not json"}
    gone = set(deleted.dropped(data, now))
    expected = {f"FargateTask.{i}" for i in range(deleted.KEEP_PER_KIND, deleted.KEEP_PER_KIND + 5)}
    assert gone == {"FargateService.old", "junk"} | expected
    assert deleted.recent({"data": data}, "FargateService", now) == []
    answered = deleted.recent({"data": data}, "FargateTask", now)
    assert [o["metadata"]["uid"] for o in answered[:3]] == ["0", "1", "2"], "newest first"


def test_no_records_answers_nothing() -> None:
    assert deleted.recent(None, "FargateService") == []
    assert deleted.dropped(None, 0.0) == []


def test_the_oldest_records_go_first_beyond_the_configmaps_budget() -> None:
    now = 1000.0
    big = {"tasks": [{"x": "y" * 100_000}]}
    data = _data(
        *((f"FargateTask.{i}", deleted.record_of(_body("FargateTask", str(i), **big), now - i)) for i in range(8))
    )
    gone = deleted.dropped(data, now, adding=100_000)
    assert gone == ["FargateTask.7", "FargateTask.6"], "what fits in the budget with the new record stays"
