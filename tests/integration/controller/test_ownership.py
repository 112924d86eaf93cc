"""Who owns an ECS name: conflicts between objects, explicit adoption, Retain, and nothing left behind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fargate_devenv.world import World
from fargate_operator.models.ownership import NAMESPACE_TAG, UID_TAG
from support.operator_process import Kube, OperatorProcess, condition, manifest, wait_for


def _tags(ecs: Any, name: str) -> dict[str, str]:
    clusters = ecs.describe_clusters(clusters=[name], include=["TAGS"])["clusters"]
    return {t["key"]: t["value"] for t in clusters[0].get("tags", [])} if clusters else {}


@pytest.fixture(scope="module")
def other_kube(world: World, operator_process: OperatorProcess) -> Iterator[Kube]:
    """A second namespace watched by a second operator process (same ECS account)."""
    import uuid

    from support.operator_process import OperatorProcess as Op

    ns = f"op2-{uuid.uuid4().hex[:8]}"
    world.control_plane.kubectl("create", "namespace", ns)
    op = Op(world.control_plane, operator_process.ecs_endpoint, ns, operator_process.log.with_name("operator2.log"))
    op.start()
    yield Kube(world.control_plane, ns)
    op.stop()


def test_two_objects_never_own_one_ecs_name(
    operator_process: OperatorProcess, kube: Kube, other_kube: Kube, ecs_client: Any, unique: str
) -> None:
    shared = f"shared-{unique}"
    kube.apply(manifest("FargateCluster", "a", {"clusterName": shared}))
    wait_for(
        "first owner Ready", lambda: condition(kube.status("fargatecluster", "a"), "Ready").get("status") == "True"
    )
    other_kube.apply(manifest("FargateCluster", "b", {"clusterName": shared, "adoptionPolicy": "AdoptOrCreate"}))
    degraded = wait_for(
        "conflict",
        lambda: (
            (c := condition(other_kube.status("fargatecluster", "b"), "Degraded")) and c.get("status") == "True" and c
        ),
    )
    assert f"FargateCluster {kube.namespace}/a" in degraded["message"], degraded
    assert _tags(ecs_client, shared)[NAMESPACE_TAG] == kube.namespace
    other_kube.delete("fargatecluster", "b", wait=True)
    assert _tags(ecs_client, shared)[NAMESPACE_TAG] == kube.namespace, "the loser must not delete the owner's cluster"
    kube.delete("fargatecluster", "a", wait=True)


def test_adoption_is_explicit(operator_process: OperatorProcess, kube: Kube, ecs_client: Any, unique: str) -> None:
    name = f"preexisting-{unique}"
    ecs_client.create_cluster(clusterName=name)
    kube.apply(manifest("FargateCluster", name, {}))
    degraded = wait_for(
        "refused",
        lambda: (c := condition(kube.status("fargatecluster", name), "Degraded")) and c.get("status") == "True" and c,
    )
    assert "adoptionPolicy: Adopt" in degraded["message"]
    assert UID_TAG not in _tags(ecs_client, name)

    kube.apply(manifest("FargateCluster", name, {"adoptionPolicy": "Adopt"}))
    wait_for("adopted", lambda: condition(kube.status("fargatecluster", name), "Ready").get("status") == "True")
    assert _tags(ecs_client, name)[UID_TAG] == kube.get("fargatecluster", name)["metadata"]["uid"]  # type: ignore[index]
    assert "Adopted" in [e["reason"] for e in kube.events(name)]

    # Retain leaves the cluster in ECS, with our owner tags removed so it can be adopted again.
    kube.apply(manifest("FargateCluster", name, {"adoptionPolicy": "Adopt", "deletionPolicy": "Retain"}))
    wait_for(
        "policy seen", lambda: condition(kube.status("fargatecluster", name), "Ready").get("observedGeneration") == 3
    )
    kube.delete("fargatecluster", name, wait=True)
    clusters = ecs_client.describe_clusters(clusters=[name], include=["TAGS"])["clusters"]
    assert clusters[0]["status"] == "ACTIVE" and UID_TAG not in _tags(ecs_client, name)
    ecs_client.delete_cluster(cluster=name)


AWS_TAG = {"key": "aws:cloudformation:stack-name", "value": "legacy-stack"}


def test_adopted_cluster_keeps_its_aws_tags(
    operator_process: OperatorProcess, kube: Kube, ecs_client: Any, unique: str
) -> None:
    """Tag sync never removes an `aws:` tag (e.g. CloudFormation's on an adopted cluster).

    Real ECS refuses to delete such keys (botocore model, shape Tag: "You cannot edit or delete
    tag keys or values with this prefix"), which left the object Degraded for good. moto lets
    anyone remove them, so here the defect shows as the tag vanishing from ECS.
    """
    name = f"cfn-{unique}"
    ecs_client.create_cluster(clusterName=name, tags=[AWS_TAG, {"key": "team", "value": "old"}])
    kube.apply(manifest("FargateCluster", name, {"adoptionPolicy": "Adopt", "tags": [{"key": "team", "value": "a"}]}))
    status = wait_for(
        "adopted and Ready",
        lambda: (s := kube.status("fargatecluster", name)) and condition(s, "Ready").get("status") == "True" and s,
    )
    assert condition(status, "Degraded").get("status") == "False", status
    tags = _tags(ecs_client, name)
    assert tags.get(AWS_TAG["key"]) == AWS_TAG["value"], tags
    assert tags["team"] == "a" and tags[UID_TAG] == kube.get("fargatecluster", name)["metadata"]["uid"]  # type: ignore[index]
    kube.delete("fargatecluster", name, wait=True)
