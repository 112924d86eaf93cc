"""CreateService, UpdateService, DeleteService, DescribeServices, ListServices over FargateService objects."""

from __future__ import annotations

import time
from typing import Any

from fargate_operator.models.kinds import FORCE_DEPLOYMENT_ANNOTATION, SERVICE
from fargate_operator.reconcile import merge_patch
from fargate_operator.reconcile.requests import ecs_members
from fargate_operator.reconcile.tenancy import SERVICE_OPERATIONS
from fargate_operator.service import views
from fargate_operator.service.access import Caller
from fargate_operator.service.errors import ApiError, invalid
from fargate_operator.service.lookups import Store, condition, page


class EcsServices:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def create_service(self, caller: Caller, p: dict[str, Any]) -> dict[str, Any]:
        ns = caller.ns
        cluster = self.store.require_cluster(ns, p.get("cluster")).name
        if self.store.find_service(ns, cluster, p["serviceName"]) is not None:
            raise invalid("Creation of service was not idempotent.")
        spec = {k: v for k, v in ecs_members(p, "CreateService").items() if k != "clientToken"}
        spec["cluster"] = cluster
        self.store.require_references(ns, spec, SERVICE_OPERATIONS)
        name = await self.store.create(SERVICE, caller, p["serviceName"], spec)
        done = await self.store.wait(SERVICE, ns, name, lambda o: bool(o.get("status", {}).get("serviceArn")))
        return {"service": views.service_view(done, ["TAGS"])}

    async def update_service(self, caller: Caller, p: dict[str, Any]) -> dict[str, Any]:
        ns = caller.ns
        cluster = self.store.require_cluster(ns, p.get("cluster"))
        obj = self.store.find_service(ns, cluster.name, p["service"])
        if obj is None and self.store.find_deleted_service(ns, cluster, p["service"]) is not None:
            raise ApiError("ServiceNotActiveException", "Service was not ACTIVE.")  # INACTIVE, as ECS says
        if obj is None:
            raise ApiError("ServiceNotFoundException", "Service not found.")
        being_deleted = bool(obj["metadata"].get("deletionTimestamp"))  # DRAINING
        if being_deleted or obj.get("status", {}).get("status") not in (None, "ACTIVE"):
            raise ApiError("ServiceNotActiveException", "Service was not ACTIVE.")
        spec_patch = {
            k: v
            for k, v in ecs_members(p, "UpdateService").items()
            if k not in ("cluster", "service", "forceNewDeployment")
        }
        if "taskDefinition" in spec_patch:
            spec_patch["taskDefinitionRef"] = None  # an explicit revision replaces the reference
        self.store.require_references(ns, merge_patch.applied(obj["spec"], spec_patch), SERVICE_OPERATIONS)
        force = str(time.time_ns()) if p.get("forceNewDeployment") else ""
        meta = {"annotations": {FORCE_DEPLOYMENT_ANNOTATION: force}} if force else {}
        generation = await self.store.patch_spec(SERVICE, caller, obj, spec_patch, **meta)

        def applied(o: dict[str, Any]) -> bool:
            """This generation was reconciled (and the forced deployment, if asked, was made)."""
            seen = condition(o, "Ready").get("observedGeneration") or 0
            return seen >= generation and str(o.get("status", {}).get("specHash", "")).endswith(force)

        done = await self.store.wait(SERVICE, ns, obj["metadata"]["name"], applied, generation)
        return {"service": views.service_view(done)}

    async def delete_service(self, caller: Caller, p: dict[str, Any]) -> dict[str, Any]:
        ns = caller.ns
        cluster = self.store.require_cluster(ns, p.get("cluster")).name
        obj = self.store.find_service(ns, cluster, p["service"])
        if obj is None:
            raise ApiError("ServiceNotFoundException", "Service not found.")
        view = views.service_view(obj)
        if view.get("desiredCount", 0) > 0 and not p.get("force"):
            raise invalid("The service cannot be stopped while it is scaled above 0.")
        await self.store.delete(SERVICE, caller, obj)
        return {"service": {**view, "status": "DRAINING"}}

    async def describe_services(self, caller: Caller, p: dict[str, Any]) -> dict[str, Any]:
        ns = caller.ns
        cluster = self.store.require_cluster(ns, p.get("cluster"))
        services, failures = [], []
        for ref in p["services"]:
            obj = self.store.find_service(ns, cluster.name, ref)
            if obj is not None and obj.get("status", {}).get("serviceArn"):
                services.append(views.service_view(obj, p.get("include")))
            elif (gone := self.store.find_deleted_service(ns, cluster, ref)) is not None:
                services.append(views.deleted_service_view(gone, p.get("include")))
            else:
                failures.append({"arn": ref, "reason": "MISSING"})
        return {"services": services, "failures": failures}

    async def list_services(self, caller: Caller, p: dict[str, Any]) -> dict[str, Any]:
        ns = caller.ns
        cluster = self.store.require_cluster(ns, p.get("cluster")).name
        arns = []
        for obj in self.store.objects(SERVICE, ns):
            spec, status = obj["spec"], obj.get("status", {})
            if self.store.cluster_of(ns, obj) != cluster or not status.get("serviceArn"):
                continue
            if p.get("launchType") and spec.get("launchType") != p["launchType"]:
                continue
            if p.get("schedulingStrategy") and spec.get("schedulingStrategy", "REPLICA") != p["schedulingStrategy"]:
                continue
            arns.append(status["serviceArn"])
        listed, token = page(sorted(arns), p)
        return {"serviceArns": listed, **({"nextToken": token} if token else {})}
