"""ContinueServiceDeployment, StopServiceDeployment, ListServiceDeployments, DescribeServiceDeployments.

The two writes are requests on the FargateService, as StopTask is on a FargateTask: the adapter
writes the annotation as the caller (impersonation: RBAC `patch fargateservices`, the audit log
names the caller), records an Event naming the caller, and answers at once; the operator makes the
ECS call once it has checked the deployment is of the object's own service
(controllers/deployment_steering.py), and its Event says what ECS did. The reads answer from
`status.deployment` (current and last) in the watch cache (deployment_views.py).
"""

from __future__ import annotations

from typing import Any

from fargate_operator import k8s
from fargate_operator.models.kinds import CONTINUE_DEPLOYMENT_ANNOTATION, SERVICE, STOP_DEPLOYMENT_ANNOTATION
from fargate_operator.reconcile import deployment_request as steering
from fargate_operator.reconcile.drift.policy import OBSERVE, management_policy
from fargate_operator.service import deployment_views as views
from fargate_operator.service.access import Caller
from fargate_operator.service.errors import ApiError, client, invalid
from fargate_operator.service.lookups import Store, page
from fargate_operator.service.views import epoch

STATUSES = frozenset(
    {
        "PENDING",
        "SUCCESSFUL",
        "STOPPED",
        "STOP_REQUESTED",
        "IN_PROGRESS",
        "ROLLBACK_REQUESTED",
        "ROLLBACK_IN_PROGRESS",
        "ROLLBACK_SUCCESSFUL",
        "ROLLBACK_FAILED",
    }
)
MAX_DESCRIBE = 20  # DescribeServiceDeployments: "up to 20" ARNs (botocore model)


def not_found() -> ApiError:
    return ApiError("ServiceDeploymentNotFoundException", "The service deployment does not exist.")


class ServiceDeployments:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _find(self, ns: str, arn: str) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
        """The namespace's FargateService a deployment ARN is of, and what its status records of it (None: not
        yet, e.g. just started); by the recorded ARN, else by the service ARN the deployment ARN names."""
        objects = self.store.objects(SERVICE, ns)
        for obj in objects:
            for d in views.recorded(obj):
                if d["serviceDeploymentArn"] == arn:
                    return obj, d
        service_arn = steering.service_of(arn)
        named = [o for o in objects if service_arn and o.get("status", {}).get("serviceArn") == service_arn]
        # The object that manages the service before one that only mirrors it (Observe).
        named.sort(key=lambda o: management_policy(o["spec"]) == OBSERVE)
        return (named[0], None) if named else None

    async def _request(self, caller: Caller, arn: str, key: str, value: str, what: str) -> dict[str, Any]:
        found = self._find(caller.ns, arn)
        if found is None:
            raise not_found()
        obj, recorded = found
        if management_policy(obj["spec"]) == OBSERVE:
            raise client(f"FargateService {obj['metadata']['name']} only observes its ECS service: nothing is steered")
        if recorded is not None and recorded.get("status") in steering.FINISHED:
            if key == STOP_DEPLOYMENT_ANNOTATION:
                raise ApiError(
                    "ConflictException", f"The service deployment is {recorded['status']}; it cannot be stopped."
                )
            raise invalid(
                f"serviceDeploymentArn: the service deployment is {recorded['status']}; nothing awaits action."
            )
        await self.store.update_annotation(SERVICE, caller, obj, key, lambda _: value)
        await k8s.post_event(obj, what.split(" ", 1)[0], f"{what} by {caller.principal.user}: {arn}")
        return {"serviceDeploymentArn": arn}

    async def continue_service_deployment(self, caller: Caller, p: dict[str, Any]) -> dict[str, Any]:
        arn, hook, action = _deployment_arn(p), str(p.get("hookId") or ""), p.get("action") or "CONTINUE"
        if not hook:
            raise invalid(
                "hookId must name the paused lifecycle hook (DescribeServiceDeployments lifecycleHookDetails)"
            )
        if action not in ("CONTINUE", "ROLLBACK"):
            raise invalid(f"action must be CONTINUE or ROLLBACK, not {action!r}")
        if action == "ROLLBACK":
            # Rolling back at the hook is a rollback of the deployment: the operator stops it (ROLLBACK).
            value = steering.annotation_value(arn, hook)
            what = f"ContinueServiceDeployment (ROLLBACK at hook {hook})"
            return await self._request(caller, arn, STOP_DEPLOYMENT_ANNOTATION, value, what)
        value = steering.annotation_value(arn, hook)
        return await self._request(
            caller, arn, CONTINUE_DEPLOYMENT_ANNOTATION, value, f"ContinueServiceDeployment (hook {hook})"
        )

    async def stop_service_deployment(self, caller: Caller, p: dict[str, Any]) -> dict[str, Any]:
        arn, stop_type = _deployment_arn(p), p.get("stopType") or "ROLLBACK"
        if stop_type != "ROLLBACK":
            raise invalid(f"stopType: the valid value is ROLLBACK, not {stop_type!r}")
        return await self._request(caller, arn, STOP_DEPLOYMENT_ANNOTATION, arn, "StopServiceDeployment (ROLLBACK)")

    async def list_service_deployments(self, caller: Caller, p: dict[str, Any]) -> dict[str, Any]:
        ns = caller.ns
        cluster = self.store.require_cluster(ns, p.get("cluster"))
        obj = self.store.find_service(ns, cluster.name, p["service"])
        if obj is None or not obj.get("status", {}).get("serviceArn"):
            raise ApiError("ServiceNotFoundException", "Service not found.")
        wanted = set(p.get("status") or [])
        if wanted - STATUSES:
            raise invalid(f"status: {sorted(wanted - STATUSES)} not among {sorted(STATUSES)}")
        window = p.get("createdAt") or {}
        after, before = epoch(window.get("after")), epoch(window.get("before"))
        briefs = []
        for d in views.recorded(obj):
            brief = views.brief(obj, d)
            created = brief.get("createdAt")
            if wanted and brief.get("status") not in wanted:
                continue
            if (after is not None and (created is None or created < after)) or (
                before is not None and (created is None or created > before)
            ):
                continue
            briefs.append(brief)
        listed, token = page(briefs, p)
        return {"serviceDeployments": listed, **({"nextToken": token} if token else {})}

    async def describe_service_deployments(self, caller: Caller, p: dict[str, Any]) -> dict[str, Any]:
        arns = list(p["serviceDeploymentArns"])
        if not 1 <= len(arns) <= MAX_DESCRIBE:
            raise invalid(f"serviceDeploymentArns: between 1 and {MAX_DESCRIBE} ARNs, got {len(arns)}")
        found, failures = [], []
        for arn in arns:
            obj, recorded = self._find(caller.ns, arn) or ({}, None)
            if recorded is not None:
                found.append(views.detail(obj, recorded))
            else:
                failures.append({"arn": arn, "reason": "MISSING"})
        return {"serviceDeployments": found, "failures": failures}


def _deployment_arn(p: dict[str, Any]) -> str:
    arn = str(p.get("serviceDeploymentArn") or "")
    if steering.service_of(arn) is None:
        raise invalid(f"serviceDeploymentArn: {arn!r} is not a service deployment ARN")
    return arn
