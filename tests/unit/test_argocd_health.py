"""The Argo CD health check's logic on hand-made objects (live objects: tests/integration/controller/test_task.py)."""

from __future__ import annotations

from pathlib import Path

import yaml

from argocd_health import SCRIPT, health

REPO = Path(__file__).resolve().parents[2]


def _obj(generation: int, observed: int, **conditions: tuple[str, str]) -> dict[str, object]:
    return {
        "metadata": {"generation": generation},
        "status": {
            "observedGeneration": observed,
            "conditions": [{"type": t, "status": s, "message": m} for t, (s, m) in conditions.items()],
        },
    }


def test_every_kind_uses_the_same_checked_script() -> None:
    custom = yaml.safe_load((REPO / "deploy" / "argocd" / "argocd-cm-resource-customizations.yaml").read_text())
    keys = {k.rsplit("_", 1)[1] for k in custom["data"]}
    assert keys == {"FargateCluster", "FargateTaskDefinition", "FargateService", "FargateTask"}
    assert set(custom["data"].values()) == {SCRIPT}


def test_health_verdicts() -> None:
    assert health({"metadata": {"generation": 1}})[0] == "Progressing"
    assert health(_obj(2, 2, Ready=("True", "ok"), Degraded=("False", "")))[0] == "Healthy"
    assert health(_obj(2, 2, Ready=("False", ""), Degraded=("True", "boom"))) == ("Degraded", "boom")
    assert health(_obj(3, 2, Ready=("True", "ok")))[0] == "Progressing", "a generation the operator has not seen"
    assert health(_obj(1, 1, Ready=("False", "2/3 running"), Progressing=("True", "")))[0] == "Progressing"


def test_item6_a_task_stopped_on_request_is_suspended_not_progressing() -> None:
    """Issue 12 item 6: phase Stopped (StopTask / object deleted) is neither failed nor done nor still going."""
    from fargate_operator.reconcile import conditions
    from fargate_operator.reconcile import task as task_logic

    ready, progressing, degraded, reason, message = task_logic.health("Stopped", "stopped before it finished: bye")
    obj = {
        "metadata": {"generation": 1},
        "status": {
            "observedGeneration": 1,
            "conditions": conditions.summarize(
                None,
                ready=ready,
                progressing=progressing,
                degraded=degraded,
                reason=reason,
                message=message,
                generation=1,
            ),
        },
    }
    assert health(obj) == ("Suspended", "stopped before it finished: bye")
