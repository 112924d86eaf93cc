"""Writes and deletes on existing ECS resources act only on what the object owns (the owner gate).

Two namespaces, team-a and team-b, one operator process watching both, one ECS account (the
emulator over HTTP, behind the counting proxy). Each test builds the state a stale record, an
observe-only object or a revoked share leaves behind, then shows that nothing another object
owns (or nobody owns) is changed, deleted or run.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.ecs_proxy import EcsProxy
from fargate_devenv.tenancy import with_sharing, world_sharing
from fargate_devenv.world import World
from fargate_operator.models.kinds import DEREGISTER_ANNOTATION
from fargate_operator.models.ownership import KIND_TAG, NAME_TAG, NAMESPACE_TAG, UID_TAG
from support.operator_process import (
    Kube,
    OperatorProcess,
    awsvpc,
    condition,
    manifest,
    task_definition_spec,
    wait_for,
)


@pytest.fixture(scope="module")
def kube_a(world: World, teams: tuple[str, str], operator: OperatorProcess) -> Iterator[Kube]:
    kube = Kube(world.control_plane, teams[0])
    yield kube
    _delete_all(kube)


@pytest.fixture(scope="module")
def kube_b(world: World, teams: tuple[str, str], operator: OperatorProcess) -> Iterator[Kube]:
    kube = Kube(world.control_plane, teams[1])
    yield kube
    _delete_all(kube)


def _delete_all(kube: Kube) -> None:
    for plural in ("fargatetasks", "fargateservices", "fargatetaskdefinitions", "fargateclusters"):
        kube.cp.kubectl("delete", plural, "--all", "-n", kube.namespace, "--wait=true", "--timeout=120s")


def _degraded(kube: Kube, kind: str, name: str, reason: str) -> str:
    found: dict[str, Any] = wait_for(
        f"{kind} {kube.namespace}/{name} Degraded ({reason})",
        lambda: (
            (c := condition(kube.status(kind, name), "Degraded")).get("status") == "True"
            and c.get("reason") == reason
            and c
        ),
    )
    return str(found["message"])


def _foreign_tags(namespace: str, name: str) -> list[dict[str, str]]:
    """Owner tags naming an object of `namespace` that the operator never saw (another writer's)."""
    return [
        {"key": UID_TAG, "value": str(uuid.uuid4())},
        {"key": NAMESPACE_TAG, "value": namespace},
        {"key": NAME_TAG, "value": name},
        {"key": KIND_TAG, "value": "FargateTaskDefinition"},
    ]


def _configure(operator: OperatorProcess, tenancy_file: Path, config: dict[str, Any]) -> None:
    """Write the tenancy config and wait until the operator says it loaded it."""
    loaded = operator.log_text().count(" loaded from ")
    tenancy_file.write_text(yaml.safe_dump(with_sharing(config, world_sharing())))
    wait_for("the tenancy config loaded", lambda: operator.log_text().count(" loaded from ") > loaded)


def _register(ecs: Any, family: str, tags: list[dict[str, str]]) -> str:
    spec = task_definition_spec(family)
    arn: str = ecs.register_task_definition(
        family=family,
        cpu=spec["cpu"],
        memory=spec["memory"],
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        containerDefinitions=spec["containerDefinitions"],
        tags=tags,
    )["taskDefinition"]["taskDefinitionArn"]
    return arn


def _described(ecs: Any, arn: str) -> tuple[str, dict[str, str]]:
    resp = ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
    return resp["taskDefinition"]["status"], {t["key"]: t["value"] for t in resp.get("tags") or []}


def _emptied(kube: Kube, ecs: Any, name: str, family: str, deletion_policy: str = "Delete") -> str:
    """A FargateTaskDefinition whose only revision was deregistered the way the ECS API adapter does it
    (DeregisterTaskDefinition: the object stays); returns that revision."""
    kube.apply(
        manifest("FargateTaskDefinition", name, {**task_definition_spec(family), "deletionPolicy": deletion_policy})
    )
    first: str = wait_for("the revision", lambda: kube.status("fargatetaskdefinition", name).get("taskDefinitionArn"))
    annotation = f"{DEREGISTER_ANNOTATION}={json.dumps([first])}"
    kube.cp.kubectl("annotate", "fargatetaskdefinition", name, "-n", kube.namespace, annotation)
    wait_for("the revision INACTIVE", lambda: _described(ecs, first)[0] == "INACTIVE")
    return first


def test_a_family_emptied_by_its_object_stays_claimed(kube_a: Kube, kube_b: Kube, ecs_client: Any) -> None:
    family = f"held-{uuid.uuid4().hex[:6]}"
    _emptied(kube_a, ecs_client, family, family)
    # team-b asks for the family: a's object still holds it, so nothing is registered into it (the family's
    # next revision would be what a's `taskDefinition: <family>` runs, and a's deletion would act on it).
    kube_b.apply(manifest("FargateTaskDefinition", family, task_definition_spec(family)))
    message = _degraded(kube_b, "fargatetaskdefinition", family, "AdoptionRefused")
    assert f"FargateTaskDefinition {kube_a.namespace}/{family}" in message, message
    assert ecs_client.list_task_definitions(familyPrefix=family, status="ACTIVE")["taskDefinitionArns"] == []
    kube_b.delete("fargatetaskdefinition", family, wait=True)
    kube_a.delete("fargatetaskdefinition", family, wait=True)


@pytest.mark.parametrize("deletion_policy", ["Delete", "Retain"])
def test_deleting_a_stale_task_definition_spares_revisions_it_does_not_own(
    kube_a: Kube, kube_b: Kube, ecs_client: Any, deletion_policy: str
) -> None:
    family = f"stale-{uuid.uuid4().hex[:6]}"
    _emptied(kube_a, ecs_client, family, family, deletion_policy)
    # The family's ACTIVE revision is another writer's (another namespace's, registered while the family looked
    # free): deleting a's object neither deregisters nor untags it.
    foreign_tags = _foreign_tags(kube_b.namespace, "taker")
    foreign = _register(ecs_client, family, foreign_tags)
    kube_a.delete("fargatetaskdefinition", family, wait=True)
    state, tags = _described(ecs_client, foreign)
    assert state == "ACTIVE", f"deleting a's stale object ({deletion_policy}) deregistered {foreign}"
    assert tags.get(UID_TAG) == foreign_tags[0]["value"], f"deleting a's stale object ({deletion_policy}) untagged it"
    ecs_client.deregister_task_definition(taskDefinition=foreign)


def test_a_bare_family_runs_the_revision_the_namespace_owns(
    kube_a: Kube, network: Network, ecs_client: Any, ecs_proxy: EcsProxy
) -> None:
    family = f"bare-{uuid.uuid4().hex[:6]}"
    kube_a.apply(manifest("FargateCluster", "bare", {"clusterName": f"bare-{uuid.uuid4().hex[:6]}"}))
    kube_a.apply(manifest("FargateTaskDefinition", "bare", task_definition_spec(family)))
    own = wait_for("a's revision", lambda: kube_a.status("fargatetaskdefinition", "bare").get("taskDefinitionArn"))
    wait_for("a's cluster", lambda: kube_a.status("fargatecluster", "bare").get("clusterArn"))
    # The family's latest ACTIVE revision becomes another writer's: a bare family would run it.
    foreign = _register(ecs_client, family, _foreign_tags("op-gate-intruder", "intruder"))
    spec = {
        "clusterRef": {"name": "bare"},
        "taskDefinition": family,
        "launchType": "FARGATE",
        "networkConfiguration": awsvpc(network.subnet_id, network.security_group_id),
    }
    kube_a.apply(manifest("FargateTask", "bare", spec))
    tasks = wait_for("a's task", lambda: kube_a.status("fargatetask", "bare").get("tasks"))
    cluster = kube_a.status("fargatetask", "bare")["clusterArn"]
    ran = ecs_client.describe_tasks(cluster=cluster, tasks=[tasks[0]["taskArn"]])["tasks"][0]
    assert ran["taskDefinitionArn"] == own, f"taskDefinition {family} ran {ran['taskDefinitionArn']}, not a's {own}"
    kube_a.delete("fargatetask", "bare", wait=True)
    ecs_client.deregister_task_definition(taskDefinition=foreign)


def test_a_cluster_ref_to_an_observing_cluster_is_checked_and_a_revoked_share_is_rechecked(
    operator: OperatorProcess,
    kube_a: Kube,
    kube_b: Kube,
    network: Network,
    ecs_client: Any,
    ecs_proxy: EcsProxy,
    tenancy_file: Path,
) -> None:
    u = uuid.uuid4().hex[:6]
    shared = f"shared-{u}"
    kube_a.apply(manifest("FargateCluster", "shared", {"clusterName": shared}))
    shared_arn = wait_for("a's cluster", lambda: kube_a.status("fargatecluster", "shared").get("clusterArn"))
    kube_b.apply(manifest("FargateTaskDefinition", "job", task_definition_spec(f"job-{u}")))
    wait_for("b's revision", lambda: kube_b.status("fargatetaskdefinition", "job").get("taskDefinitionArn"))
    _configure(operator, tenancy_file, {"clusters": [{"namespaces": [kube_b.namespace], "names": [shared]}]})
    try:
        kube_b.apply(manifest("FargateCluster", "obs", {"clusterName": shared, "managementPolicy": "Observe"}))
        wait_for(
            "b observes a's cluster", lambda: kube_b.status("fargatecluster", "obs").get("clusterArn") == shared_arn
        )
        service = {
            "serviceName": f"svc-{u}",
            "clusterRef": {"name": "obs"},
            "taskDefinitionRef": {"name": "job"},
            "desiredCount": 1,
            "networkConfiguration": awsvpc(network.subnet_id, network.security_group_id),
        }
        kube_b.apply(manifest("FargateService", "svc", service))
        wait_for("b's service while shared", lambda: kube_b.status("fargateservice", "svc").get("serviceArn"))
    finally:
        _configure(operator, tenancy_file, {})  # the admin revokes the share

    runs = ecs_proxy.count("RunTask")
    task = {
        "clusterRef": {"name": "obs"},
        "taskDefinitionRef": {"name": "job"},
        "launchType": "FARGATE",
        "networkConfiguration": awsvpc(network.subnet_id, network.security_group_id),
    }
    kube_b.apply(manifest("FargateTask", "late", task))
    message = _degraded(kube_b, "fargatetask", "late", "TenancyRefused")
    assert shared in message and kube_a.namespace in message, message
    assert ecs_proxy.count("RunTask") == runs, "a clusterRef to an observing FargateCluster ran in a's cluster"
    # What was admitted under the share is checked again under the new config.
    message = _degraded(kube_b, "fargateservice", "svc", "TenancyRefused")
    assert shared in message, message
    kube_b.delete("fargatetask", "late", wait=True)
    kube_b.delete("fargateservice", "svc", wait=True)
    kube_b.delete("fargatecluster", "obs", wait=True)


def test_an_observed_service_survives_a_switch_to_manage_and_the_objects_deletion(
    kube_b: Kube, network: Network, ecs_client: Any
) -> None:
    u = uuid.uuid4().hex[:6]
    kube_b.apply(manifest("FargateCluster", "own", {"clusterName": f"own-{u}"}))
    kube_b.apply(manifest("FargateTaskDefinition", "web", task_definition_spec(f"web-{u}")))
    cluster = wait_for("b's cluster", lambda: kube_b.status("fargatecluster", "own").get("clusterArn"))
    td = wait_for("b's revision", lambda: kube_b.status("fargatetaskdefinition", "web").get("taskDefinitionArn"))
    name = f"unowned-{u}"
    # A service made outside the operator: nobody's by owner tags.
    ecs_client.create_service(
        cluster=cluster,
        serviceName=name,
        taskDefinition=td,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=awsvpc(network.subnet_id, network.security_group_id),
    )
    observe = {"serviceName": name, "clusterRef": {"name": "own"}, "managementPolicy": "Observe"}
    kube_b.apply(manifest("FargateService", "watch", observe))
    wait_for("the observed ARN", lambda: kube_b.status("fargateservice", "watch").get("serviceArn"))

    manage = {
        "serviceName": name,
        "clusterRef": {"name": "own"},
        "taskDefinitionRef": {"name": "web"},
        "desiredCount": 1,
        "networkConfiguration": awsvpc(network.subnet_id, network.security_group_id),
        "managementPolicy": "Manage",
    }
    kube_b.apply(manifest("FargateService", "watch", manage))
    message = _degraded(kube_b, "fargateservice", "watch", "AdoptionRefused")
    assert "adoptionPolicy" in message, message
    kube_b.delete("fargateservice", "watch", wait=True)
    svc = ecs_client.describe_services(cluster=cluster, services=[name])["services"][0]
    assert svc["status"] == "ACTIVE" and svc["desiredCount"] == 1, f"the unowned service was changed: {svc}"
    ecs_client.update_service(cluster=cluster, service=name, desiredCount=0)
    ecs_client.delete_service(cluster=cluster, service=name, force=True)


def test_drift_never_corrects_a_service_whose_owner_tags_are_not_the_objects(
    kube_b: Kube, network: Network, ecs_client: Any
) -> None:
    u = uuid.uuid4().hex[:6]
    kube_b.apply(manifest("FargateCluster", "drift", {"clusterName": f"drift-{u}"}))
    kube_b.apply(manifest("FargateTaskDefinition", "drift", task_definition_spec(f"drift-{u}")))
    spec = {
        "serviceName": f"drift-{u}",
        "clusterRef": {"name": "drift"},
        "taskDefinitionRef": {"name": "drift"},
        "desiredCount": 1,
        "networkConfiguration": awsvpc(network.subnet_id, network.security_group_id),
    }
    kube_b.apply(manifest("FargateService", "drift", spec))
    wait_for("Ready", lambda: condition(kube_b.status("fargateservice", "drift"), "Ready").get("status") == "True")
    status = kube_b.status("fargateservice", "drift")
    cluster, arn = status["clusterArn"], status["serviceArn"]
    # The ECS service of that name now belongs to someone else (as after a delete and another namespace's
    # create under the same name, whose ARN is the same) and differs from the spec.
    other = str(uuid.uuid4())
    ecs_client.tag_resource(resourceArn=arn, tags=[{"key": UID_TAG, "value": other}])
    ecs_client.update_service(cluster=cluster, service=arn, desiredCount=3)
    drifted = wait_for(
        "the drift verdict",
        lambda: (
            "NotOwned" in (c := condition(kube_b.status("fargateservice", "drift"), "Drifted")).get("message", "") and c
        ),
    )
    svc = ecs_client.describe_services(cluster=cluster, services=[arn], include=["TAGS"])["services"][0]
    assert svc["desiredCount"] == 3, f"drift corrected another owner's service: {svc['desiredCount']} ({drifted})"
    assert {t["key"]: t["value"] for t in svc.get("tags") or []}[UID_TAG] == other
    kube_b.delete("fargateservice", "drift", wait=True)
    assert ecs_client.describe_services(cluster=cluster, services=[arn])["services"][0]["status"] == "ACTIVE"
    ecs_client.update_service(cluster=cluster, service=arn, desiredCount=0)
    ecs_client.delete_service(cluster=cluster, service=arn, force=True)
