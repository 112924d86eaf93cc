"""The Argo CD health check's logic on hand-made objects (live objects: tests/integration/controller/test_task.py).

Every verdict is asked of gopher-lua under Argo CD's rules (tools/argocd-health) and of lupa's Lua 5.1,
which must agree (support.argocd_health.health); the harness itself is checked against Argo CD's rules.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path

import pytest
import yaml

from support import argocd_health
from support.argocd_health import SCRIPT, GopherLuaError, health

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


def _stopped_task() -> dict[str, object]:
    from fargate_operator.reconcile import conditions
    from fargate_operator.reconcile import task as task_logic

    verdict = task_logic.health("Stopped", "stopped before it finished: bye")
    obj = {
        "metadata": {"generation": 1},
        "status": {
            "observedGeneration": 1,
            "conditions": conditions.summarize(
                None,
                **asdict(verdict),
                generation=1,
            ),
        },
    }
    return obj


def test_a_task_stopped_on_request_is_suspended_not_progressing() -> None:
    """Phase Stopped (StopTask / object deleted) is neither failed nor done nor still going."""
    assert health(_stopped_task()) == ("Suspended", "stopped before it finished: bye")


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

    for newer_only in ("return {status = tostring(7 // 2)}", "return {status = tostring(3 & 1)}"):
        with pytest.raises(lupa.lua51.LuaSyntaxError):
            argocd_health.run(newer_only, {})
        with pytest.raises(GopherLuaError, match=r"line:1.*(syntax error|Invalid token)"):
            argocd_health.gopher_health_many([{}], script=newer_only)


def _fixtures() -> list[dict[str, object]]:
    """Objects in every state the script tells apart, including what JSON gives that Lua 5.1 sees oddly."""
    drifted = _obj(4, 4, Ready=("True", "3/3 running"), Drifted=("True", "desiredCount set by hand"))
    drifted["status"]["conditions"][1]["reason"] = "Report"  # type: ignore[index]
    return [
        {"metadata": {"generation": 1}},
        {"metadata": {"generation": 1}, "status": {}},
        {"metadata": {}, "status": {"conditions": []}},
        _obj(2, 2, Ready=("True", "ok"), Degraded=("False", "")),
        _obj(2, 2, Ready=("False", ""), Degraded=("True", "boom")),
        _obj(3, 2, Ready=("True", "ok")),
        _obj(1, 1, Ready=("False", "2/3 running"), Progressing=("True", "")),
        _obj(1, 1, Progressing=("True", "deploying")),
        {"metadata": {"generation": 3.0}, "status": {"observedGeneration": 2.0, "conditions": []}},
        {"metadata": {"generation": 10**14 - 1}, "status": {"observedGeneration": 1, "conditions": []}},
        {
            "metadata": {"generation": 1},
            "status": {
                "observedGeneration": 1,
                "conditions": [{"type": "Degraded", "status": "True", "reason": "NoMessage"}],
            },
        },
        drifted,
        _stopped_task(),
    ]


def test_both_vms_give_the_same_verdict_on_every_fixture() -> None:
    objs = _fixtures()
    by_gopher = argocd_health.gopher_health_many(objs)  # one harness process for the lot
    assert by_gopher == [argocd_health.health_lua51(obj) for obj in objs]
    assert {status for status, _ in by_gopher} == {"Progressing", "Healthy", "Degraded", "Suspended"}
    assert by_gopher[9][1] == "The operator has not seen generation 99999999999999 yet"
    assert by_gopher[11][1].startswith("Drifted (Report): desiredCount set by hand; ")


def test_past_14_digits_only_gopher_lua_prints_a_generation_whole() -> None:
    """Lua 5.1 prints numbers with %.14g; gopher-lua prints an integral one whole. Argo CD shows the
    latter, so for such numbers lupa is no stand-in (no real generation comes near)."""
    obj = {"metadata": {"generation": 10**15}, "status": {"observedGeneration": 1, "conditions": []}}
    [(_, said)] = argocd_health.gopher_health_many([obj])
    assert said == "The operator has not seen generation 1000000000000000 yet"
    assert argocd_health.health_lua51(obj)[1] == "The operator has not seen generation 1e+15 yet"


# Libraries Argo CD does not open for an argocd-cm customisation: lupa's Lua 5.1 runs these, Argo CD fails them.
NOT_IN_ARGO_CD = {
    "string library": 'return {status = "Healthy", message = string.format("%d", 1)}',
    "string methods": 'return {status = "Healthy", message = ("ok"):upper()}',
    "string.dump": 'return {status = "Healthy", message = string.dump(function() end)}',
    "io": 'io.write("x") return {status = "Healthy"}',
    "math": 'return {status = "Healthy", message = tostring(math.floor(1.5))}',
    "coroutine": 'return {status = "Healthy", message = type(coroutine.create(function() end))}',
    "debug": 'return {status = "Healthy", message = tostring(debug.traceback())}',
    "os.getenv": 'return {status = "Healthy", message = os.getenv("HOME")}',
    "os.execute": 'os.execute("true") return {status = "Healthy"}',
    "require io": 'local io = require("io") return {status = "Healthy"}',
}


@pytest.mark.parametrize("script", NOT_IN_ARGO_CD.values(), ids=NOT_IN_ARGO_CD.keys())
def test_the_harness_rejects_libraries_argo_cd_does_not_open(script: str) -> None:
    assert argocd_health.run(script, {})["status"] == "Healthy"  # all libraries open on lupa
    [answer] = argocd_health.evaluate([(script, {})])
    assert set(answer) == {"error"}, answer


def test_the_harness_has_no_os_exit() -> None:
    """(Not tried on lupa: there it would end the test run.)"""
    [answer] = argocd_health.evaluate([('os.exit(0) return {status = "Healthy"}', {})])
    assert "attempt to call a non-function object" in answer.get("error", ""), answer


def test_the_harness_opens_what_argo_cd_opens() -> None:
    """package, base, table, and an os with only time and date (also through require)."""
    script = """
      local t = {}
      table.insert(t, tostring(os.time() > 0))
      table.insert(t, os.date("!%Y-%m-%d", 86400))
      table.insert(t, tostring(require("os").time{year = 2020, month = 1, day = 1} > 0))
      table.insert(t, type(pcall) .. type(ipairs) .. type(package.loaded))
      return {status = "Healthy", message = table.concat(t, " ")}
    """
    [answer] = argocd_health.evaluate([(script, {"metadata": {}})])
    assert answer == {"status": "Healthy", "message": "true 1970-01-02 true functionfunctiontable"}


def test_the_harness_reads_answers_as_argo_cd_does() -> None:
    answers = argocd_health.evaluate(
        [
            ('return {status = "Fine", message = "custom"}', {}),  # not a status Argo CD knows
            ("return nil", {}),  # no verdict
            ("return {}", {}),  # encodes as [], not an object: no verdict
            ("return 42", {}),  # not a table
            (
                'return {status = "Degraded", message = tostring(obj.a[2].b) .. tostring(obj.n)}',
                {"a": [1, {"b": None}], "n": 7},
            ),
        ]
    )
    assert answers == [
        {"status": "Unknown", "message": "Lua returned an invalid health status"},
        {"status": "", "message": ""},
        {"status": "", "message": ""},
        {"error": "expect table output from Lua script, not number"},
        {"status": "Degraded", "message": "nil7"},
    ]


def test_a_script_running_past_argo_cds_second_is_stopped() -> None:
    import time

    started = time.monotonic()
    [answer] = argocd_health.evaluate([("while true do end", {})])
    assert "context deadline exceeded" in answer.get("error", ""), answer
    assert 0.9 < time.monotonic() - started < 5


def test_the_argocd_page_installs_the_health_checks_and_the_application() -> None:
    """docs/argocd.md's commands name the generated customisation (merged into argocd-cm) and the Application."""
    page = (REPO / "docs" / "argocd.md").read_text()
    patch = re.search(r"kubectl patch configmap argocd-cm -n argocd --type merge \\\n\s+--patch-file (\S+)", page)
    apply = re.search(r"kubectl apply -f (deploy/argocd/\S+)", page)
    assert patch is not None and apply is not None
    custom = yaml.safe_load((REPO / patch.group(1)).read_text())
    assert (custom["kind"], custom["metadata"]["name"], custom["metadata"]["namespace"]) == (
        "ConfigMap",
        "argocd-cm",
        "argocd",
    )
    app = yaml.safe_load((REPO / apply.group(1)).read_text())
    assert (app["kind"], app["metadata"]["namespace"]) == ("Application", "argocd")


def _service_in(sd: dict[str, object], held: str | None = None) -> dict[str, object]:
    """A FargateService whose conditions the operator derived from ECS's ServiceDeployment `sd`."""
    from fargate_operator.models.verdict import Verdict
    from fargate_operator.reconcile import conditions, merge_patch
    from fargate_operator.reconcile import deployment as deployment_logic

    base = Verdict(False, True, False, "RollingOut", "deployment in progress: 2/2 running")
    deployment = merge_patch.applied({}, deployment_logic.record(None, sd))
    verdict = deployment_logic.judge(base, deployment, held)
    return {
        "metadata": {"generation": 2},
        "status": {
            "observedGeneration": 2,
            "deployment": deployment,
            "conditions": conditions.summarize(None, **asdict(verdict), generation=2),
        },
    }


def _deployment(status: str, stage: str, *hooks: dict[str, str], reason: str = "") -> dict[str, object]:
    return {
        "serviceDeploymentArn": "arn:aws:ecs:us-east-1:123456789012:service-deployment/c/web/2",
        "status": status,
        "statusReason": reason or None,
        "lifecycleStage": stage,
        "deploymentConfiguration": {"strategy": "BLUE_GREEN"},
        "targetServiceRevision": {"arn": "arn:aws:ecs:us-east-1:123456789012:service-revision/c/web/2"},
        "lifecycleHookDetails": list(hooks),
    }


def test_a_service_deployment_is_progressing_through_its_stages_suspended_at_a_pause_and_degraded_on_rollback() -> None:
    lam = "arn:aws:lambda:us-east-1:123456789012:function:smoke-test"
    objs = [
        _service_in(_deployment("IN_PROGRESS", stage))
        for stage in ("PRE_SCALE_UP", "SCALE_UP", "PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP")
    ]
    objs.append(
        _service_in(
            _deployment(
                "IN_PROGRESS", "POST_SCALE_UP", {"hookId": "h-1", "targetType": "PAUSE", "status": "AWAITING_ACTION"}
            )
        )
    )
    failed = {"hookId": "h-2", "targetType": "AWS_LAMBDA", "targetArn": lam, "status": "FAILED"}
    objs.append(_service_in(_deployment("ROLLBACK_IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", failed, reason="hook")))
    by_gopher = argocd_health.gopher_health_many(objs)
    assert by_gopher == [argocd_health.health_lua51(obj) for obj in objs]
    stages = by_gopher[:5]
    assert [s for s, _ in stages] == ["Progressing"] * 5
    assert stages[3][1].startswith("blue/green deployment at BAKE_TIME")
    assert by_gopher[5][0] == "Suspended" and "PAUSE hook h-1" in by_gopher[5][1]
    assert by_gopher[6][0] == "Degraded" and "hook smoke-test failed" in by_gopher[6][1]
