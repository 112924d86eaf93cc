"""CreateCluster and DescribeClusters over FargateCluster objects."""

from __future__ import annotations

from typing import Any

from fargate_operator.models.kinds import CLUSTER
from fargate_operator.reconcile.requests import ecs_members
from fargate_operator.service import views
from fargate_operator.service.access import Caller
from fargate_operator.service.lookups import Store


class Clusters:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def create_cluster(self, caller: Caller, p: dict[str, Any]) -> dict[str, Any]:
        ns = caller.ns
        name = p.get("clusterName") or "default"
        obj = self.store.find_cluster(ns, name)
        if obj is None:
            spec = {**ecs_members(p, "CreateCluster"), "clusterName": name}
            obj_name = await self.store.create(CLUSTER, caller, name, spec)
        else:
            obj_name = obj["metadata"]["name"]  # CreateCluster of an existing name returns it, as ECS does
        done = await self.store.wait(CLUSTER, ns, obj_name, lambda o: bool(o.get("status", {}).get("clusterArn")))
        return {"cluster": views.cluster_view(done, ["SETTINGS", "CONFIGURATIONS", "TAGS"])}

    async def describe_clusters(self, caller: Caller, p: dict[str, Any]) -> dict[str, Any]:
        ns = caller.ns
        clusters, failures = [], []
        for ref in p.get("clusters") or ["default"]:
            obj = self.store.find_cluster(ns, ref)
            if obj is not None and obj.get("status", {}).get("clusterArn"):
                clusters.append(views.cluster_view(obj, p.get("include")))
            elif (gone := self.store.find_deleted_cluster(ns, ref)) is not None:
                clusters.append(views.deleted_cluster_view(gone, p.get("include")))
            else:
                failures.append({"arn": ref, "reason": "MISSING"})
        return {"clusters": clusters, "failures": failures}
