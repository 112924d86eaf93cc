"""Runs last in this folder (files are collected by name): nothing tagged by the operator tests is left in ECS."""

from __future__ import annotations

from typing import Any

from fargate_devenv.world import World
from fargate_operator.models.ownership import NAMESPACE_TAG


def test_nothing_tagged_by_this_run_is_left(world: World, ecs_client: Any) -> None:
    """After the operator tests, no ECS resource carries an owner tag of a namespace they used."""
    namespaces = {
        ns
        for ns in world.control_plane.kubectl("get", "ns", "-o", "name").stdout.split()
        if "/op-" in ns or "/op2-" in ns
    }
    leftovers = []
    for cluster in ecs_client.list_clusters()["clusterArns"]:
        described = ecs_client.describe_clusters(clusters=[cluster], include=["TAGS"])["clusters"][0]
        tags = {t["key"]: t["value"] for t in described.get("tags", [])}
        if described["status"] == "ACTIVE" and f"namespace/{tags.get(NAMESPACE_TAG)}" in namespaces:
            leftovers.append(cluster)
        for svc_arn in ecs_client.list_services(cluster=cluster)["serviceArns"]:
            svc = ecs_client.describe_services(cluster=cluster, services=[svc_arn], include=["TAGS"])["services"][0]
            stags = {t["key"]: t["value"] for t in svc.get("tags", [])}
            if svc["status"] != "INACTIVE" and f"namespace/{stags.get(NAMESPACE_TAG)}" in namespaces:
                leftovers.append(svc_arn)
        for task_arn in ecs_client.list_tasks(cluster=cluster, desiredStatus="RUNNING")["taskArns"]:
            task = ecs_client.describe_tasks(cluster=cluster, tasks=[task_arn], include=["TAGS"])["tasks"][0]
            ttags = {t["key"]: t["value"] for t in task.get("tags", [])}
            if f"namespace/{ttags.get(NAMESPACE_TAG)}" in namespaces and "STOPPED" not in (
                task["lastStatus"],
                task["desiredStatus"],
            ):
                leftovers.append(task_arn)
    for td in ecs_client.list_task_definitions(status="ACTIVE")["taskDefinitionArns"]:
        tags = {
            t["key"]: t["value"]
            for t in ecs_client.describe_task_definition(taskDefinition=td, include=["TAGS"]).get("tags", [])
        }
        if f"namespace/{tags.get(NAMESPACE_TAG)}" in namespaces:
            leftovers.append(td)
    assert not leftovers, leftovers
