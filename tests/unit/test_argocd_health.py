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
