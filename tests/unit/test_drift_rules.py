"""Drift, pure logic: what counts as drift (normalisation), how often it is corrected, what is said.

The ECS answers here have the shape DescribeServices / DescribeClusters give (botocore's model;
the emulator's answers for examples/ are the same, see the integration tests in
tests/integration/controller/drift/).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from fargate_operator.reconcile.drift import compare, normalize, policy, verdict
from fargate_operator.reconcile.drift.compare import cluster_differences, service_differences
from fargate_operator.schema import model
from support.argocd_health import health as argocd_health

REPO = Path(__file__).resolve().parents[2]
ARN = "arn:aws:ecs:us-east-1:123456789012"
REVISION = f"{ARN}:task-definition/web:1"


def _example(name: str) -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load((REPO / "examples" / name).read_text())["spec"]
    return spec


def _service_answer(spec: dict[str, Any]) -> dict[str, Any]:
    """What ECS answers for a service created from `spec`: defaults filled, service connect on the deployment."""
    return {
        "serviceArn": f"{ARN}:service/demo/{spec['serviceName']}",
        "serviceName": spec["serviceName"],
        "status": "ACTIVE",
        "desiredCount": spec.get("desiredCount", 1),
        "launchType": "FARGATE",
        "platformVersion": spec.get("platformVersion", "LATEST"),
        "taskDefinition": REVISION,
        "loadBalancers": copy.deepcopy(spec.get("loadBalancers", [])),
        "serviceRegistries": [],
        "deploymentConfiguration": {
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        },
        "deployments": [
            {
                "id": "ecs-svc/1",
                "status": "PRIMARY",
                "taskDefinition": REVISION,
                "platformVersion": "1.4.0",
                "runningCount": 2,
                "serviceConnectConfiguration": copy.deepcopy(spec.get("serviceConnectConfiguration")),
            }
        ],
        "networkConfiguration": copy.deepcopy(spec["networkConfiguration"]),
        "healthCheckGracePeriodSeconds": spec.get("healthCheckGracePeriodSeconds"),
        "schedulingStrategy": "REPLICA",
        "deploymentController": {"type": "ECS"},
        "placementConstraints": [],
        "placementStrategy": [],
        "tags": [
            *spec.get("tags", []),
            {"key": "ecs.fargate.dev/uid", "value": "u"},
            {"key": "aws:cloudformation:stack-name", "value": "s"},
        ],
        "enableECSManagedTags": False,
        "propagateTags": spec.get("propagateTags", "NONE"),
        "enableExecuteCommand": spec.get("enableExecuteCommand", False),
    }


def _fields(diffs: list[compare.Difference]) -> list[str]:
    return [d.field for d in diffs]


def test_every_update_service_member_is_compared_or_named_as_not() -> None:
    """Coverage comes from botocore's model, as the CRDs do: a member ECS adds to UpdateService is
    compared (read from the Service or its PRIMARY deployment) or this test names why not."""
    update = set(model.service_model().operation_model("UpdateService").input_shape.members)
    on_service, on_deployment = compare.service_members()
    named = set(compare.SERVICE_NOT_STATE) | set(compare.SERVICE_NOT_OBSERVABLE)
    assert update == on_service | on_deployment | named
    assert {"taskDefinition", "desiredCount", "networkConfiguration", "deploymentConfiguration"} <= on_service
    assert {"serviceConnectConfiguration", "volumeConfigurations"} <= on_deployment
    assert compare.cluster_members() == {
        "settings",
        "configuration",
        "serviceConnectDefaults",
        "capacityProviders",
        "defaultCapacityProviderStrategy",
    }


def test_the_examples_as_ecs_answers_them_do_not_drift() -> None:
    spec = _example("service.yaml")
    assert service_differences(spec, REVISION, _service_answer(spec)) == []
    cluster = _example("cluster.yaml")
    answer = {
        "clusterArn": f"{ARN}:cluster/demo",
        "clusterName": "demo",
        "status": "ACTIVE",
        "settings": [{"name": "containerInsights", "value": "enabled"}],
        "configuration": {"executeCommandConfiguration": {"logging": "DEFAULT"}},
        # ECS's order, and weight/base as ECS fills them in
        "capacityProviders": ["FARGATE_SPOT", "FARGATE"],
        "defaultCapacityProviderStrategy": [
            {"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 0},
            {"capacityProvider": "FARGATE", "weight": 1, "base": 1},
        ],
        "tags": [{"key": "team", "value": "payments"}, {"key": "ecs.fargate.dev/kind", "value": "FargateCluster"}],
    }
    assert cluster_differences(cluster, answer) == []


def test_normalisations_make_equal_things_equal() -> None:
    spec = _example("service.yaml")
    spec["networkConfiguration"] = {"awsvpcConfiguration": {"subnets": ["subnet-b", "subnet-a"]}}
    spec["deploymentConfiguration"] = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}
    spec["taskDefinition"] = "web"  # a bare family: the operator deployed (and compares) ECS's resolution
    answer = _service_answer(spec)
    # ECS's order, its default assignPublicIp and the VPC's default group; defaults it fills in
    answer["networkConfiguration"] = {
        "awsvpcConfiguration": {
            "subnets": ["subnet-a", "subnet-b"],
            "assignPublicIp": "DISABLED",
            "securityGroups": ["sg-default"],
        }
    }
    answer["deploymentConfiguration"] |= {"alarms": {"alarmNames": [], "enable": False, "rollback": False}}
    answer["loadBalancers"] = list(reversed(answer["loadBalancers"]))
    assert service_differences(spec, "web:1", answer) == []  # family:revision vs the ARN
    # LATEST: ECS answers the service as requested; with no service-level answer the deployment's resolved one stands
    # (then LATEST cannot be told from any version: only a pinned one is compared)
    del answer["platformVersion"]
    assert service_differences(spec, REVISION, answer) == []
    pinned = {**spec, "platformVersion": "1.4.0"}
    assert service_differences(pinned, REVISION, answer) == []
    answer["deployments"][0]["platformVersion"] = "1.3.0"
    assert _fields(service_differences(pinned, REVISION, answer)) == ["platformVersion"]


def test_real_changes_are_drift_and_named() -> None:
    spec = _example("service.yaml")
    answer = _service_answer(spec)
    answer["desiredCount"] = 5
    answer["taskDefinition"] = f"{ARN}:task-definition/web:7"
    answer["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] = "ENABLED"
    answer["deploymentConfiguration"]["maximumPercent"] = 150
    answer["tags"] = [{"key": "app", "value": "changed"}, {"key": "extra", "value": "1"}]
    answer["enableExecuteCommand"] = False
    diffs = service_differences(spec, REVISION, answer)
    assert _fields(diffs) == [
        "deploymentConfiguration",
        "desiredCount",
        "enableExecuteCommand",
        "networkConfiguration",
        "tags",
        "taskDefinition",
    ]
    count = next(d for d in diffs if d.field == "desiredCount")
    assert count.text() == "desiredCount: spec 2, ECS 5"
    assert _fields(service_differences(spec, REVISION, None)) == ["status"]
    assert service_differences(spec, REVISION, {**answer, "status": "DRAINING"})[0].actual == "DRAINING"


def test_members_the_spec_leaves_out_are_not_compared() -> None:
    """desiredCount left to Application Auto Scaling, launchType (create-only), anything unset."""
    spec = _example("service.yaml")
    del spec["desiredCount"]
    answer = _service_answer(spec) | {"desiredCount": 9, "healthCheckGracePeriodSeconds": 0}
    del spec["healthCheckGracePeriodSeconds"]
    assert service_differences(spec, REVISION, answer) == []


def test_cluster_settings_are_compared_by_name_and_ecs_additions_ignored() -> None:
    spec = {"clusterName": "c", "settings": [{"name": "containerInsights", "value": "enabled"}]}
    answer: dict[str, Any] = {
        "clusterArn": f"{ARN}:cluster/c",
        "status": "ACTIVE",
        "settings": [{"name": "other", "value": "x"}, {"name": "containerInsights", "value": "enabled"}],
    }
    assert cluster_differences(spec, answer) == []
    answer["settings"][1]["value"] = "disabled"
    assert _fields(cluster_differences(spec, answer)) == ["settings"]
    assert _fields(cluster_differences(spec, {**answer, "status": "INACTIVE"})) == ["status"]


def test_names_and_arns_of_one_namespace_are_equal() -> None:
    rules = normalize.SERVICE_RULES
    path = "serviceConnectConfiguration.namespace"
    assert normalize.matches("demo.local", "arn:aws:servicediscovery:us-east-1:1:namespace/ns-1", path, rules)
    assert not normalize.matches("demo.local", "other.local", path, rules)


def test_secrets_and_environment_values_are_shown_as_hashes() -> None:
    value = {
        "environment": [{"name": "A", "value": "plain-secret"}],
        "secrets": [{"name": "B", "valueFrom": "arn:aws:ssm:x:1:parameter/p"}],
        "repositoryCredentials": {"credentialsParameter": "arn:aws:secretsmanager:x:1:secret:s"},
    }
    shown = str(normalize.redact(value, "containerDefinitions[]"))
    assert "plain-secret" not in shown and "parameter/p" not in shown and "secret:s" not in shown
    assert shown.count("sha256:") == 3
    assert normalize.redact(value, "")["environment"][0]["name"] == "A"


BUDGET = policy.Budget(base_delay=5.0)


def test_corrections_back_off_then_stop_at_the_budget() -> None:
    """A person flipping a value every second: corrections at 0, 5, 10+, 20+, 40+ s, then report only."""
    record, made, now = policy.Corrections(), [], 1000.0
    while now < 1000.0 + 120:
        decision = policy.decide(policy.CORRECT, record, 1, now, BUDGET)
        record = decision.record
        if decision.action is policy.Action.CORRECT:
            made.append(now - 1000.0)
        now += 1.0
    assert made == [0.0, 5.0, 15.0, 35.0, 75.0]
    assert len(made) == policy.MAX_CORRECTIONS
    last = policy.decide(policy.CORRECT, record, 1, now, BUDGET)
    assert last.action is policy.Action.SUSPENDED and last.next_at == 1000.0 + policy.WINDOW_SECONDS
    # the window passes: a new budget; a new generation (spec change) too
    assert policy.decide(policy.CORRECT, record, 1, 1000.0 + 601, BUDGET).action is policy.Action.CORRECT
    assert policy.decide(policy.CORRECT, record, 2, now, BUDGET).action is policy.Action.CORRECT
    # the record survives a restart: it is written to status.drift and read back
    assert policy.Corrections.of(record.fields()) == record


def test_report_policy_never_corrects() -> None:
    assert policy.decide(policy.REPORT, policy.Corrections(), 1, 0.0, BUDGET).action is policy.Action.REPORT


def test_verdicts_say_what_differs_once() -> None:
    diff = compare.Difference("desiredCount", 2, 5)
    decision = policy.decide(policy.REPORT, policy.Corrections(), 1, 100.0, BUDGET)
    first = verdict.verdict([diff], decision, None, 100.0, policy=policy.REPORT)
    assert first.condition[:2] == (True, "DriftReported") and first.new_fields == ["desiredCount"]
    assert first.event is not None and "desiredCount: spec 2, ECS 5" in first.event[1]
    again = verdict.verdict([diff], decision, first.drift, 105.0, policy=policy.REPORT)
    assert again.event is None and again.new_fields == [] and again.drift == first.drift  # no write, no Event
    corrected = verdict.verdict(
        [diff], policy.decide(policy.CORRECT, policy.Corrections(), 1, 110.0, BUDGET), None, 110.0, policy="Correct"
    )
    assert corrected.condition[1] == "Corrected" and corrected.event and corrected.event[0] == "DriftCorrected"
    synced = verdict.verdict([], None, corrected.drift, 115.0, policy="Correct")
    assert synced.condition[:2] == (False, "InSync") and "desiredCount" in synced.condition[2]


def test_argocd_stays_healthy_for_reported_drift_and_says_so() -> None:
    obj = {
        "metadata": {"generation": 1},
        "status": {
            "observedGeneration": 1,
            "conditions": [
                {"type": "Ready", "status": "True", "message": "2/2 tasks running"},
                {"type": "Degraded", "status": "False"},
                {
                    "type": "Drifted",
                    "status": "True",
                    "reason": "DriftReported",
                    "message": "desiredCount: spec 2, ECS 5",
                },
            ],
        },
    }
    status, message = argocd_health(obj)
    assert status == "Healthy" and "Drifted (DriftReported): desiredCount: spec 2, ECS 5" in message


def test_a_revision_changed_by_hand_is_drift_not_a_rollback() -> None:
    """Unit test of pure logic (the emulator test shows it too): UpdateService to another family, made
    in the console, left the service Degraded "RolledBack" -- so drift was deferred as ECS's own doing."""
    from fargate_operator.reconcile import service as service_logic

    family = f"{ARN}:task-definition/web"
    by_hand = {
        "status": "ACTIVE",
        "taskDefinition": f"{ARN}:task-definition/other:1",
        "desiredCount": 1,
        "runningCount": 1,
        "deployments": [
            {"status": "PRIMARY", "taskDefinition": f"{ARN}:task-definition/other:1", "rolloutState": "COMPLETED"}
        ],
        "events": [{"message": "(service web) has reached a steady state."}],
    }
    assert service_logic.health(by_hand, f"{family}:2").reason == "Steady"
    assert service_logic.health({**by_hand, "taskDefinition": f"{family}:3"}, f"{family}:2").reason == "Steady"
    # ECS's own rollback: an earlier revision of the family, ECS's words, or the object already said so
    rolled = {**by_hand, "taskDefinition": f"{family}:1"}
    assert service_logic.health(rolled, f"{family}:2").reason == "RolledBack"
    assert service_logic.health(by_hand, f"{family}:2", held="RolledBack").reason == "RolledBack"
    said = {**by_hand, "events": [{"message": "(service web) rolling back to deployment ecs-svc/1."}]}
    assert service_logic.health(said, f"{family}:2").reason == "RolledBack"


def test_a_correction_refused_by_the_write_fence_is_not_recorded_as_failed() -> None:
    """A leader that lost its Lease mid-cycle gets NotLeader from its own ECS write fence: that is no
    failed correction (which would spend the next leader's budget and post a Warning Event)."""
    import asyncio
    from types import SimpleNamespace

    from fargate_operator.ecs.errors import FENCED_CODE, EcsError
    from fargate_operator.handlers import drift
    from fargate_operator.status.precedence import Source, Update
    from fargate_operator.store.watch_cache import WatchCache

    obj = {
        "kind": "FargateService",
        "metadata": {"name": "web", "namespace": "team-a", "resourceVersion": "7", "generation": 1},
        "spec": {"desiredCount": 2},
        "status": {"observedGeneration": 1},
    }
    registry = WatchCache()
    registry.upsert(copy.deepcopy(obj))
    rt: Any = SimpleNamespace(watch_cache=registry, config=SimpleNamespace(status_interval=5.0))
    diffs = [compare.Difference("desiredCount", 2, 1)]

    async def fenced(_: Any) -> dict[str, Any]:
        raise EcsError("UpdateService", FENCED_CODE, "this replica does not hold the leader Lease", None)

    update = Update(Source.LOOP, observed={"runningCount": 1})
    judged = asyncio.run(drift._judge(rt, obj, update, diffs, fenced))
    assert judged == update  # no verdict, no correction counted, no condition


def test_a_service_rolling_to_a_new_revision_is_not_judged() -> None:
    """The FargateTaskDefinition's new revision reaches a service as an annotation (no new generation);
    from UpdateService until the handler's status lands, ECS runs a revision status does not name yet.
    Judged then, the revision would be "corrected" back (seen in test_task_definition_service.py)."""
    from fargate_operator.handlers import drift
    from fargate_operator.handlers.task_definition import RESOLVED_ANNOTATION

    rev = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:"
    obj: dict[str, Any] = {
        "kind": "FargateService",
        "metadata": {"name": "web", "namespace": "a", "generation": 1, "annotations": {RESOLVED_ANNOTATION: rev + "2"}},
        "spec": {"taskDefinitionRef": {"name": "web"}},
        "status": {"observedGeneration": 1, "desiredTaskDefinition": rev + "1"},
    }
    assert not drift.converged(obj)
    obj["status"]["desiredTaskDefinition"] = rev + "2"
    assert drift.converged(obj)
