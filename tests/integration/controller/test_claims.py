"""Two objects racing for one ECS name: exactly one owns it, the other is Degraded naming the owner.

Both objects describe the name, find nothing, then create. The proxy holds the first
object's create before it reaches ECS, so the second one's create lands first.
- Clusters: ECS answers CreateCluster on an existing name with the existing cluster
  (tests/support/ecs_behaviours.py idempotent_create_cluster cites where this is shown); plain moto
  instead replaces the cluster, tags included, so without that stand-in the race cannot be
  reproduced against the emulator.
- Task definition families: both registrations succeed (revisions N and N+1) in ECS and in moto.
"""

from __future__ import annotations

from typing import Any

from fargate_devenv.ecs_proxy import EcsProxy
from fargate_operator.models.ownership import NAME_TAG, NAMESPACE_TAG
from support.ecs_behaviours import HoldOnce, idempotent_create_cluster
from support.operator_process import Kube, OperatorProcess, condition, manifest, task_definition_spec, wait_for


def _degraded(kube: Kube, kind: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = wait_for(
        f"{name} Degraded",
        lambda: (c := condition(kube.status(kind, name), "Degraded")).get("status") == "True" and c,
    )
    return found


def _cluster_tags(ecs: Any, name: str) -> dict[str, str]:
    clusters = ecs.describe_clusters(clusters=[name], include=["TAGS"])["clusters"]
    live = [c for c in clusters if c["status"] == "ACTIVE"]
    return {t["key"]: t["value"] for t in live[0].get("tags", [])} if live else {}


def test_cluster_create_race_has_one_owner(
    operator_process: OperatorProcess, kube: Kube, ecs_client: Any, ecs_proxy: EcsProxy, unique: str
) -> None:
    shared = f"race-{unique}"
    hold = HoldOnce("CreateCluster", before=True, then=idempotent_create_cluster)
    ecs_proxy.intercept("CreateCluster", hold)
    try:
        kube.apply(manifest("FargateCluster", f"first-{unique}", {"clusterName": shared}))
        assert hold.held.wait(60), "the first CreateCluster never came"
        kube.apply(manifest("FargateCluster", f"second-{unique}", {"clusterName": shared}))
        wait_for(
            "the second one's cluster", lambda: kube.status("fargatecluster", f"second-{unique}").get("clusterArn")
        )
    finally:
        hold.release()
    degraded = _degraded(kube, "fargatecluster", f"first-{unique}")
    assert f"FargateCluster {kube.namespace}/second-{unique}" in degraded["message"], degraded
    assert "clusterArn" not in kube.status("fargatecluster", f"first-{unique}"), "the loser must record nothing"
    assert _cluster_tags(ecs_client, shared)[NAME_TAG] == f"second-{unique}"

    kube.delete("fargatecluster", f"first-{unique}", wait=True)
    tags = _cluster_tags(ecs_client, shared)
    assert tags.get(NAME_TAG) == f"second-{unique}", "deleting the loser deleted the owner's cluster"
    ecs_proxy.intercept("CreateCluster", None)
    kube.delete("fargatecluster", f"second-{unique}", wait=True)
    assert not _cluster_tags(ecs_client, shared)


def test_task_definition_family_race_has_one_owner(
    operator_process: OperatorProcess, kube: Kube, ecs_client: Any, ecs_proxy: EcsProxy, unique: str
) -> None:
    family = f"race-{unique}"
    hold = HoldOnce("RegisterTaskDefinition", before=True)
    ecs_proxy.intercept("RegisterTaskDefinition", hold)
    try:
        kube.apply(manifest("FargateTaskDefinition", f"first-{unique}", task_definition_spec(family)))
        assert hold.held.wait(60), "the first RegisterTaskDefinition never came"
        kube.apply(manifest("FargateTaskDefinition", f"second-{unique}", task_definition_spec(family)))
        owner_arn = wait_for(
            "the second one's revision",
            lambda: kube.status("fargatetaskdefinition", f"second-{unique}").get("taskDefinitionArn"),
        )
    finally:
        hold.release()
        ecs_proxy.intercept("RegisterTaskDefinition", None)
    assert owner_arn.endswith(f"{family}:1")
    degraded = _degraded(kube, "fargatetaskdefinition", f"first-{unique}")
    assert f"FargateTaskDefinition {kube.namespace}/second-{unique}" in degraded["message"], degraded
    assert "taskDefinitionArn" not in kube.status("fargatetaskdefinition", f"first-{unique}")
    # The loser's revision 2 is deregistered: nobody is left owning an ACTIVE revision of it.
    wait_for(
        "only the owner's revision ACTIVE",
        lambda: (
            ecs_client.list_task_definitions(familyPrefix=family, status="ACTIVE")["taskDefinitionArns"] == [owner_arn]
        ),
    )
    tags = ecs_client.describe_task_definition(taskDefinition=owner_arn, include=["TAGS"])["tags"]
    assert {t["key"]: t["value"] for t in tags}[NAMESPACE_TAG] == kube.namespace
    kube.delete("fargatetaskdefinition", f"first-{unique}", wait=True)
    assert ecs_client.list_task_definitions(familyPrefix=family, status="ACTIVE")["taskDefinitionArns"] == [owner_arn]
    kube.delete("fargatetaskdefinition", f"second-{unique}", wait=True)
