"""Drift reported, never written: driftPolicy Report, desiredCount left to autoscaling, a circuit
breaker's rollback, managementPolicy Observe; and the guard against false drift, on the real API
server and the ECS emulator.

Every out-of-band change is made with boto3 straight against the emulator (not through the
counting proxy), as a person in the console would; the operator reaches ECS only through the
proxy, so its calls -- and its writes -- are counted. The status interval is INTERVAL seconds.
Its sibling test_drift_corrections.py holds what is corrected; the two run as separate modules
(each its own operator) so that `make check` runs them side by side.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.ecs_proxy import EcsProxy
from support.argocd_health import health as argocd_health
from support.botocore_strategies import MODEL, shape_strategy
from support.drift_checks import (
    DETECTION_BOUND,
    INTERVAL,
    converged_service,
    drifted,
    epoch,
    events,
    metrics,
    service,
    status_patches,
    td_spec,
    writes,
)
from support.operator_process import Kube, OperatorProcess, awsvpc, condition, manifest, wait_for

REPO = Path(__file__).resolve().parents[4]


# --- report only, autoscaling: detected, never written ---------------------------------------------


def test_report_policy_reports_with_condition_event_metric_and_writes_nothing(
    cluster: str,
    task_definition: str,
    kube: Kube,
    ecs_client: Any,
    ecs_proxy: EcsProxy,
    operator_process: OperatorProcess,
    example_network: tuple[Network, str, str],
    unique: str,
) -> None:
    name = f"report-{unique}"
    kube.apply(service(name, example_network[0], driftPolicy="Report"))
    converged_service(kube, name)
    ecs_proxy.reset()
    changed_at = time.time()
    ecs_client.update_service(cluster=cluster, service=name, desiredCount=4)
    reported = wait_for("reported", drifted(kube, "fargateservice", name, "DriftReported"), timeout=30)
    assert epoch(reported["drift"]["since"]) - changed_at <= DETECTION_BOUND
    message = condition(reported, "Drifted")["message"]
    assert "desiredCount: spec 1, ECS 4" in message, message
    assert reported["drift"]["fields"] == [{"field": "desiredCount", "desired": "1", "actual": "4"}]
    assert events(kube, name, "DriftReported")
    # kubectl get shows it (the CRD's Drifted column)
    table = kube.cp.kubectl("get", "fargateservice", name, "-n", kube.namespace).stdout.splitlines()
    column = table[0].index("DRIFTED")  # kubectl aligns its columns; an empty cell would shift split()
    assert table[1][column:].split()[0] == "True", table
    operator_process.wait_cycles(2)  # each judges the service again
    assert writes(ecs_proxy.reset()) == {}, "report only: no ECS write"
    assert ecs_client.describe_services(cluster=cluster, services=[name])["services"][0]["desiredCount"] == 4
    # Argo CD: still Healthy (ECS runs what it was told to), and it says so
    obj = kube.get("fargateservice", name)
    assert obj is not None
    wait_for("4 running", lambda: kube.status("fargateservice", name).get("runningCount") == 4, timeout=60)
    obj = kube.get("fargateservice", name)
    assert obj is not None
    state, said = argocd_health(obj)
    assert state == "Healthy" and "Drifted (DriftReported)" in said, (state, said)
    counted = metrics(operator_process)
    assert counted.get(("fargate_operator_drift_detected_total", "FargateService", "desiredCount"), 0) >= 1
    kube.delete("fargateservice", name, wait=True)


def test_desired_count_left_to_autoscaling_is_never_touched(
    cluster: str,
    task_definition: str,
    kube: Kube,
    operator_process: OperatorProcess,
    ecs_client: Any,
    ecs_proxy: EcsProxy,
    example_network: tuple[Network, str, str],
    unique: str,
) -> None:
    name = f"scaled-{unique}"
    svc = service(name, example_network[0])
    del svc["spec"]["desiredCount"]
    kube.apply(svc)
    converged_service(kube, name)
    ecs_proxy.reset()
    ecs_client.update_service(cluster=cluster, service=name, desiredCount=2)  # Application Auto Scaling
    operator_process.wait_cycles(2)  # each describes the change and judges it
    assert writes(ecs_proxy.reset()) == {}
    assert condition(kube.status("fargateservice", name), "Drifted")["status"] == "False"
    kube.delete("fargateservice", name, wait=True)


# --- observe only ----------------------------------------------------------------------------------
# It counts every ECS write from its boto3 CreateService on, so it follows a test that finished its
# cleanup (autoscaling's service deleted with wait), not the breaker test: that one's task definition
# is deleted without waiting, and its revisions deregistered during the next test.


def test_observe_only_mirrors_an_existing_service_and_never_writes(
    cluster: str,
    task_definition: str,
    kube: Kube,
    operator_process: OperatorProcess,
    ecs_client: Any,
    ecs_proxy: EcsProxy,
    example_network: tuple[Network, str, str],
    unique: str,
) -> None:
    network = example_network[0]
    name = f"seen-{unique}"
    revision = ecs_client.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
    made = ecs_client.create_service(
        cluster=cluster,
        serviceName=name,
        taskDefinition=revision["taskDefinitionArn"],
        desiredCount=2,
        launchType="FARGATE",
        networkConfiguration=awsvpc(network.subnet_id, network.security_group_id),
    )["service"]
    ecs_proxy.reset()
    applied_at = time.time()
    spec = {"serviceName": name, "clusterRef": {"name": "drift"}, "managementPolicy": "Observe"}
    kube.apply(manifest("FargateService", name, spec))
    mirrored = wait_for(
        "mirrored", lambda: (s := kube.status("fargateservice", name)).get("serviceArn") and s, timeout=30
    )
    assert time.time() - applied_at <= 2 * INTERVAL + 3  # one interval, plus the handler and kubectl
    assert mirrored["serviceArn"] == made["serviceArn"] and mirrored["desiredCount"] == 2
    wait_for("Ready", lambda: condition(kube.status("fargateservice", name), "Ready").get("status") == "True", 60)
    # a spec change: no ECS call but the status loop's describes
    kube.apply(manifest("FargateService", name, {**spec, "desiredCount": 7, "tags": [{"key": "a", "value": "b"}]}))
    wait_for(
        "generation seen",
        lambda: (
            (o := kube.get("fargateservice", name))
            and o["status"].get("observedGeneration") == o["metadata"]["generation"]
        ),
    )
    wait_for("Kopf done with the object", lambda: kube.handled("fargateservice", name))
    operator_process.wait_cycles(2)  # each describes the service against the new spec
    kube.delete("fargateservice", name, wait=True)
    calls = ecs_proxy.reset()
    assert writes(calls) == {}, calls
    after = ecs_client.describe_services(cluster=cluster, services=[name], include=["TAGS"])["services"][0]
    assert after["status"] == "ACTIVE" and after["desiredCount"] == 2 and not after.get("tags")
    ecs_client.delete_service(cluster=cluster, service=name, force=True)


# --- a rollback: detected, never fought ------------------------------------------------------------


def test_a_circuit_breaker_rollback_is_reported_not_fought(
    cluster: str,
    kube: Kube,
    operator_process: OperatorProcess,
    ecs_client: Any,
    ecs_proxy: EcsProxy,
    example_network: tuple[Network, str, str],
    unique: str,
) -> None:
    family = f"breaker-{unique}"
    good = td_spec(family)
    kube.apply(manifest("FargateTaskDefinition", family, good))
    wait_for("revision", lambda: kube.status("fargatetaskdefinition", family).get("taskDefinitionArn"))
    name = f"breaker-{unique}"
    svc = service(
        name,
        example_network[0],
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
    )
    svc["spec"]["taskDefinitionRef"] = {"name": family}
    kube.apply(svc)
    converged_service(kube, name)
    broken = {**good, "containerDefinitions": [{"name": "app", "image": "registry.invalid/app:broken"}]}
    kube.apply(manifest("FargateTaskDefinition", family, broken))
    wait_for(
        "RolledBack",
        lambda: condition(kube.status("fargateservice", name), "Degraded").get("reason") == "RolledBack",
        timeout=180,
    )
    ecs_proxy.reset()
    operator_process.wait_cycles(2)  # each judges the rolled-back service again
    assert "UpdateService" not in ecs_proxy.reset(), "the rollback ECS made was fought"
    assert condition(kube.status("fargateservice", name), "Drifted").get("status") != "True"
    kube.delete("fargateservice", name, wait=True)
    kube.delete("fargatetaskdefinition", family)


# --- zero false drift: the guard against perpetual diffs --------------------------------------------


def _examples(namespace: str, suffix: str, network: Network) -> list[dict[str, Any]]:
    """examples/ as written, with names made unique and the roles under this namespace's IAM path."""
    docs = []
    for name in ("cluster.yaml", "taskdefinition.yaml", "service.yaml"):
        text = (REPO / "examples" / name).read_text().replace("/fargate/default/", f"/fargate/{namespace}/")
        doc = yaml.safe_load(text)
        doc["metadata"]["name"] = f"{doc['metadata']['name']}-{suffix}"
        spec = doc["spec"]
        for key in ("clusterName", "family", "serviceName"):
            if key in spec:
                spec[key] = f"{spec[key]}-{suffix}"
        for ref in ("clusterRef", "taskDefinitionRef"):
            if ref in spec:
                spec[ref]["name"] = f"{spec[ref]['name']}-{suffix}"
        docs.append(doc)
    assert network.subnet_id in yaml.safe_dump(docs)  # examples/ name the example network
    return docs


def _enum(shape: str) -> st.SearchStrategy[str]:
    return st.sampled_from(list(MODEL.shape_for(shape).enum))


_TAG_TEXT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 +-=._:/@", min_size=1, max_size=12)
TAGS = st.lists(
    st.fixed_dictionaries(
        {"key": _TAG_TEXT.filter(lambda k: not k.lower().startswith(("aws:", "ecs.fargate.dev/"))), "value": _TAG_TEXT}
    ),
    max_size=3,
    unique_by=lambda t: t["key"],
)


def _service_specs(subnets: list[str], groups: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """FargateService specs over the members drift compares; enums and booleans from botocore's shapes."""
    network = st.fixed_dictionaries(
        {"subnets": st.permutations(subnets).flatmap(lambda p: st.integers(1, len(p)).map(lambda n: list(p[:n])))},
        optional={
            "securityGroups": st.permutations(groups).flatmap(
                lambda p: st.integers(1, len(p)).map(lambda n: list(p[:n]))
            ),
            "assignPublicIp": st.just(
                "DISABLED"
            ),  # model: "When the service deploymentController is ECS, ... DISABLED"
        },
    ).map(lambda c: {"awsvpcConfiguration": c})
    deployment = st.fixed_dictionaries(
        {},
        optional={
            "maximumPercent": st.integers(100, 200),
            "minimumHealthyPercent": st.integers(0, 100),
            "deploymentCircuitBreaker": shape_strategy(MODEL.shape_for("DeploymentCircuitBreaker")),
            "alarms": st.fixed_dictionaries(
                {
                    "alarmNames": st.lists(_TAG_TEXT, max_size=2, unique=True),
                    "enable": st.booleans(),
                    "rollback": st.booleans(),
                }
            ),
        },
    )
    load_balancer = st.builds(
        lambda n: {
            "targetGroupArn": f"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg{n}/0123456789abcdef",
            "containerName": "app",
            "containerPort": 8080 + n,
        },
        st.integers(0, 5),
    )
    placement: st.SearchStrategy[dict[str, Any]] = st.one_of(
        st.fixed_dictionaries({"launchType": st.just("FARGATE")}),
        st.fixed_dictionaries(
            {
                "capacityProviderStrategy": st.permutations(["FARGATE", "FARGATE_SPOT"]).flatmap(
                    lambda p: st.tuples(st.integers(1, 2), st.integers(0, 2)).map(
                        lambda nb: [
                            {"capacityProvider": cp, "weight": 1 + i, **({"base": nb[1]} if i == 0 else {})}
                            for i, cp in enumerate(p[: nb[0]])
                        ]
                    )
                )
            }
        ),
        st.just({}),  # the operator places it on Fargate
    )
    members = st.fixed_dictionaries(
        {"networkConfiguration": network},
        optional={
            "desiredCount": st.integers(0, 1),
            "deploymentConfiguration": deployment,
            "loadBalancers": st.lists(load_balancer, max_size=2, unique_by=lambda lb: lb["containerPort"]),
            "healthCheckGracePeriodSeconds": st.integers(0, 120),
            "platformVersion": st.sampled_from(["LATEST", "1.4.0"]),
            "enableExecuteCommand": st.booleans(),
            "enableECSManagedTags": st.booleans(),
            "propagateTags": _enum("PropagateTags"),
            "deploymentController": st.just({"type": "ECS"}),
            "availabilityZoneRebalancing": _enum("AvailabilityZoneRebalancing"),
            "tags": TAGS,
        },
    )
    return st.tuples(members, placement).map(lambda mp: {**mp[0], **mp[1]})


def _cluster_specs() -> st.SearchStrategy[dict[str, Any]]:
    providers = st.permutations(["FARGATE", "FARGATE_SPOT"]).flatmap(
        lambda p: st.integers(1, 2).map(lambda n: list(p[:n]))
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "settings": st.lists(
                st.fixed_dictionaries(
                    {"name": st.just("containerInsights"), "value": st.sampled_from(["enabled", "disabled"])}
                ),
                max_size=1,
            ),
            "configuration": st.fixed_dictionaries(
                {
                    "executeCommandConfiguration": st.fixed_dictionaries(
                        {"logging": _enum("ExecuteCommandLogging").filter(lambda v: v != "OVERRIDE")}
                    )
                }
            ),
            "capacityProviders": providers,
            "tags": TAGS,
        },
    )


def _drawn(strategy: st.SearchStrategy[dict[str, Any]], count: int, seed: int) -> list[dict[str, Any]]:
    """`count` distinct examples of `strategy`, as hypothesis explores it (derandomized: the same each run)."""
    found: list[dict[str, Any]] = []

    @settings(max_examples=count * 3, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(spec: dict[str, Any]) -> None:
        if spec not in found:
            found.append(spec)

    collect()
    random.Random(seed).shuffle(found)
    return found[:count]


GENERATED_SERVICES = 10
GENERATED_CLUSTERS = 4


def test_zero_false_drift_for_examples_and_generated_specs(
    cluster: str,
    task_definition: str,
    kube: Kube,
    ecs_client: Any,
    ecs_proxy: EcsProxy,
    operator_process: OperatorProcess,
    example_network: tuple[Network, str, str],
    unique: str,
) -> None:
    """The perpetual-diff guard: converged objects watched for 10 status intervals make no ECS write.

    examples/ (near verbatim) and specs generated from botocore's shapes over every member drift
    compares, in the forms ECS normalises: subnets and groups in any order and subset, defaults
    spelled out or left out, capacity provider strategies with and without base, LATEST or a
    pinned platform version, load balancers in any order, tags. A normalisation rule missing
    would show as an UpdateService/UpdateCluster/TagResource here, every cycle.
    """
    network, subnet, group = example_network
    docs = _examples(kube.namespace, unique, network)
    services = _drawn(
        _service_specs([network.subnet_id, subnet], [network.security_group_id, group]), GENERATED_SERVICES, 1
    )
    clusters = _drawn(_cluster_specs(), GENERATED_CLUSTERS, 2)
    for i, spec in enumerate(services):
        name = f"gen-{unique}-{i}"
        docs.append(
            manifest(
                "FargateService",
                name,
                {"serviceName": name, "clusterRef": {"name": "drift"}, "taskDefinitionRef": {"name": "app"}, **spec},
            )
        )
    for i, spec in enumerate(clusters):
        docs.append(manifest("FargateCluster", f"gen-cl-{unique}-{i}", spec))
    for doc in docs:
        kube.apply(doc)
    names = [(d["kind"].lower(), d["metadata"]["name"]) for d in docs]

    def judged(kind: str, name: str) -> bool:
        status = kube.status(kind, name)
        return (
            condition(status, "Drifted").get("status") == "False"
            and condition(status, "Ready").get("status") in ("True", "False")
            and condition(status, "Progressing").get("status") == "False"
        )

    for kind, name in names:
        wait_for(f"{kind}/{name} converged and judged in sync", lambda k=kind, n=name: judged(k, n), timeout=180)
    ecs_proxy.reset()
    patches = status_patches(operator_process)
    # 8 whole cycles: 8 describes of services and clusters, 4 checks of the revisions (every 2nd cycle)
    operator_process.wait_cycles(8)
    calls = ecs_proxy.reset()
    assert writes(calls) == {}, f"writes to ECS with nothing changed: {calls}"
    # nor to Kubernetes: a judgement that did not change is not written again (no perpetual status diff)
    assert status_patches(operator_process) == patches, "status patches with nothing changed"
    assert calls.get("DescribeServices", 0) >= 5 and calls.get("DescribeClusters", 0) >= 5, calls  # the loop looked
    assert calls.get("ListTaskDefinitions", 0) >= 4, calls  # and checked the revisions
    for kind, name in names:
        status = kube.status(kind, name)
        assert condition(status, "Drifted").get("status") == "False", (kind, name, status.get("drift"))
    # Services first, drained in ECS before their clusters go: a cluster's deletion is refused while
    # a service drains (ClusterContainsServicesException) and retried only every 15 s.
    made = [kube.status(kind, name) for kind, name in names if kind == "fargateservice"]
    for kind, name in names:
        if kind == "fargateservice":
            kube.delete(kind, name)
    wait_for("services drained", lambda: all(_gone(ecs_client, s["clusterArn"], s["serviceArn"]) for s in made), 120)
    for kind, name in reversed(names):
        if kind != "fargateservice":
            kube.delete(kind, name)


def _gone(ecs_client: Any, cluster: str, service: str) -> bool:
    found = ecs_client.describe_services(cluster=cluster, services=[service])["services"]
    return not found or found[0]["status"] == "INACTIVE"
