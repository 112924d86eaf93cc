"""The Argo CD health check's logic on hand-made objects (live objects: tests/integration/controller/test_task.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from support.argocd_health import SCRIPT, health

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


def test_a_task_stopped_on_request_is_suspended_not_progressing() -> None:
    """Phase Stopped (StopTask / object deleted) is neither failed nor done nor still going."""
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


def test_health_checks_run_on_lua_51_semantics() -> None:
    """Argo CD's gopher-lua is Lua 5.1, where every number is a double (JSON's numbers arrive so):
    tostring(3.0) is "3" there, while newer Lua (lupa's default runtime) says "3.0"."""
    status = {"observedGeneration": 2.0, "conditions": [{"type": "Ready", "status": "True"}]}
    assert health({"metadata": {"generation": 3.0}, "status": status}) == (
        "Progressing",
        "The operator has not seen generation 3 yet",
    )
    # What only newer Lua accepts (floor division, bitwise operators) fails here too, as in Argo CD.
    import lupa.lua51

    from support import argocd_health as argocd_health

    for newer_only in ("return {status = tostring(7 // 2)}", "return {status = tostring(3 & 1)}"):
        with pytest.raises(lupa.lua51.LuaSyntaxError):
            argocd_health.run(newer_only, {})
