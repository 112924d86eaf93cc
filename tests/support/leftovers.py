"""What the operator tests left in ECS: resources still carrying the owner tag of a given namespace."""

from __future__ import annotations

from collections.abc import Set
from typing import Any

from fargate_operator.models.ownership import NAMESPACE_TAG


def _tags(described: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in described.get("tags", [])}


def tagged_leftovers(ecs_client: Any, namespaces: Set[str]) -> list[str]:
    """ARNs of live clusters, services, tasks and ACTIVE revisions owned by any of `namespaces`."""
    leftovers = []
    for cluster in ecs_client.list_clusters()["clusterArns"]:
        described = ecs_client.describe_clusters(clusters=[cluster], include=["TAGS"])["clusters"][0]
        if described["status"] == "ACTIVE" and _tags(described).get(NAMESPACE_TAG) in namespaces:
            leftovers.append(cluster)
        for svc_arn in ecs_client.list_services(cluster=cluster)["serviceArns"]:
            svc = ecs_client.describe_services(cluster=cluster, services=[svc_arn], include=["TAGS"])["services"][0]
            if svc["status"] != "INACTIVE" and _tags(svc).get(NAMESPACE_TAG) in namespaces:
                leftovers.append(svc_arn)
        for task_arn in ecs_client.list_tasks(cluster=cluster, desiredStatus="RUNNING")["taskArns"]:
            task = ecs_client.describe_tasks(cluster=cluster, tasks=[task_arn], include=["TAGS"])["tasks"][0]
            stopped = "STOPPED" in (task["lastStatus"], task["desiredStatus"])
            if _tags(task).get(NAMESPACE_TAG) in namespaces and not stopped:
                leftovers.append(task_arn)
    for td in ecs_client.list_task_definitions(status="ACTIVE")["taskDefinitionArns"]:
        if (
            _tags(ecs_client.describe_task_definition(taskDefinition=td, include=["TAGS"])).get(NAMESPACE_TAG)
            in namespaces
        ):
            leftovers.append(td)
    return leftovers
