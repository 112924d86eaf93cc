"""FargateCluster against the real API server and moto: create, update, Ready, delete, blocked delete."""

from __future__ import annotations

from typing import Any

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.ecs_proxy import EcsProxy
from fargate_operator.models.ownership import NAMESPACE_TAG, UID_TAG
from support.operator_process import (
    Kube,
    OperatorProcess,
    awsvpc,
    condition,
    manifest,
    service_manifest,
    task_definition_spec,
    wait_for,
)


def _ecs_cluster(ecs: Any, name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = ecs.describe_clusters(clusters=[name], include=["TAGS", "SETTINGS"])["clusters"]
    return found[0] if found else {}


def test_cluster_create_update_delete(
    operator_process: OperatorProcess, kube: Kube, ecs_client: Any, unique: str
) -> None:
    name = f"cl-{unique}"
    kube.apply(manifest("FargateCluster", name, {"settings": [{"name": "containerInsights", "value": "enabled"}]}))
    status = wait_for(
        "cluster Ready",
        lambda: (s := kube.status("fargatecluster", name)) and condition(s, "Ready").get("status") == "True" and s,
    )
    assert status["clusterName"] == name  # spec.clusterName defaults to metadata.name
    assert status["clusterArn"].endswith(f":cluster/{name}")
    assert condition(status, "Ready")["observedGeneration"] == 1
    obj = kube.get("fargatecluster", name)
    assert obj is not None and "clusterName" not in obj["spec"], "the operator must never write spec"
    tags = {t["key"]: t["value"] for t in _ecs_cluster(ecs_client, name)["tags"]}
    assert tags[UID_TAG] == obj["metadata"]["uid"] and tags[NAMESPACE_TAG] == kube.namespace
    assert any(e["reason"] == "Created" for e in kube.events(name))

    kube.apply(
        manifest(
            "FargateCluster",
            name,
            {
                "settings": [{"name": "containerInsights", "value": "disabled"}],
                "tags": [{"key": "team", "value": "blue"}],
            },
        )
    )
    wait_for(
        "settings updated in ECS",
        lambda: _ecs_cluster(ecs_client, name).get("settings") == [{"name": "containerInsights", "value": "disabled"}],
    )
    wait_for(
        "user tag in ECS", lambda: {"key": "team", "value": "blue"} in _ecs_cluster(ecs_client, name).get("tags", [])
    )
    wait_for(
        "observedGeneration 2",
        lambda: condition(kube.status("fargatecluster", name), "Ready").get("observedGeneration") == 2,
    )

    kube.delete("fargatecluster", name, wait=True)
    assert _ecs_cluster(ecs_client, name).get("status") in (None, "INACTIVE")


def test_cluster_deletion_waits_for_its_services_and_says_so_once_per_reason(
    operator_process: OperatorProcess, kube: Kube, ecs_client: Any, ecs_proxy: EcsProxy, network: Network, unique: str
) -> None:
    """Blocked, the deletion is retried (a ListServices each time) with one Warning Event per distinct reason,
    not one per retry; deleting the service lets it through."""
    name = f"busy-{unique}"
    kube.apply(manifest("FargateCluster", name, {}))
    kube.apply(manifest("FargateTaskDefinition", f"td-{unique}", task_definition_spec(f"fam-{unique}")))
    kube.apply(
        service_manifest(
            f"svc-{unique}", awsvpc(network.subnet_id, network.security_group_id), cluster=name, td=f"td-{unique}"
        )
    )
    wait_for("service created", lambda: kube.status("fargateservice", f"svc-{unique}").get("serviceArn"))

    kube.delete("fargatecluster", name)
    blocked = wait_for(
        "DeletionBlocked condition",
        lambda: (
            (c := condition(kube.status("fargatecluster", name), "Degraded"))
            and c.get("reason") == "DeletionBlocked"
            and c
        ),
    )
    assert f"svc-{unique}" in blocked["message"]
    tried = ecs_proxy.count("ListServices")
    wait_for("a retry of the blocked deletion", lambda: ecs_proxy.count("ListServices") >= tried + 2, timeout=60)
    assert _ecs_cluster(ecs_client, name)["status"] == "ACTIVE"
    said = [e.get("note") or e.get("message") for e in kube.events(name) if e.get("reason") == "DeletionBlocked"]
    assert said and len(said) == len(set(said)), said

    kube.delete("fargateservice", f"svc-{unique}")
    wait_for("cluster object gone after its service", lambda: kube.get("fargatecluster", name) is None, timeout=90)
    assert _ecs_cluster(ecs_client, name).get("status") in (None, "INACTIVE")
    kube.delete("fargatetaskdefinition", f"td-{unique}", wait=True)


def test_a_spec_changed_after_a_crash_before_the_status_patch_still_reaches_ecs(
    operator_process: OperatorProcess, kube: Kube, ecs_client: Any, ecs_proxy: EcsProxy, unique: str
) -> None:
    """CreateCluster reached ECS, the operator was SIGKILLed before it recorded the cluster, and the spec
    changed while it was down: the restarted operator applies the new spec to that cluster (CreateCluster
    again would return it unchanged)."""
    name = f"crashcl-{unique}"
    insights = [{"name": "containerInsights", "value": "enabled"}]
    ecs_proxy.hold_response("CreateCluster")
    try:
        kube.apply(manifest("FargateCluster", name, {"settings": insights}))
        assert ecs_proxy.held.wait(60), "CreateCluster never reached ECS"
        operator_process.kill()
    finally:
        ecs_proxy.release()
    assert _ecs_cluster(ecs_client, name).get("settings") == insights
    assert not kube.status("fargatecluster", name).get("clusterArn"), "recorded before the kill"
    changed = [{"name": "containerInsights", "value": "disabled"}]
    kube.apply(manifest("FargateCluster", name, {"settings": changed, "tags": [{"key": "team", "value": "red"}]}))

    operator_process.start()
    wait_for(
        "generation 2 Ready",
        lambda: condition(kube.status("fargatecluster", name), "Ready").get("observedGeneration") == 2,
        timeout=90,
    )
    found = _ecs_cluster(ecs_client, name)
    assert found.get("settings") == changed
    assert {"key": "team", "value": "red"} in found.get("tags", [])
    kube.delete("fargatecluster", name, wait=True)
