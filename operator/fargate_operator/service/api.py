"""The 16 ECS operations over the custom resources, for one caller's namespace.

Reads answer from the watch cache (no Kubernetes or ECS call). Writes create,
patch or delete custom resources and then wait, bounded, for the operator's
reconciled result, answering as ECS would; an error ECS reported comes back as
that ECS error. Exceptions, each documented in the README:
- DescribeTaskDefinition of a revision other than a family's current one asks ECS
  once (revisions are immutable) and remembers the answer;
- DeregisterTaskDefinition of an older revision, and ExecuteCommand, are actions
  forwarded to ECS and recorded as Kubernetes Events.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import kubernetes

from fargate_operator import k8s
from fargate_operator.ecs.errors import EcsError
from fargate_operator.models.kinds import (
    CLUSTER,
    FORCE_DEPLOYMENT_ANNOTATION,
    GROUP,
    SERVICE,
    STOP_ANNOTATION,
    TASK,
    TASK_DEFINITION,
    VERSION,
)
from fargate_operator.reconcile import taskdefinition as td_logic
from fargate_operator.reconcile.cluster import cluster_name
from fargate_operator.reconcile.ownership import Owner
from fargate_operator.reconcile.requests import ecs_members
from fargate_operator.runtime import Runtime
from fargate_operator.service import naming, views
from fargate_operator.service.errors import ApiError, access_denied, client, invalid
from fargate_operator.web.auth import Principal

WRITE_OPERATIONS = frozenset(
    {
        "CreateCluster",
        "RegisterTaskDefinition",
        "DeregisterTaskDefinition",
        "RunTask",
        "StopTask",
        "CreateService",
        "UpdateService",
        "DeleteService",
        "ExecuteCommand",
    }
)
MAX_RESULTS = 100


def short_name(ref: str, marker: str) -> str:
    """'arn:aws:ecs:r:a:cluster/name' -> 'name'; plain names pass through."""
    return ref.rsplit(marker, 1)[-1] if ref.startswith("arn:") and marker in ref else ref


def _page(items: list[Any], params: dict[str, Any]) -> tuple[list[Any], str | None]:
    limit = params.get("maxResults") or MAX_RESULTS
    if not 1 <= limit <= MAX_RESULTS:
        raise invalid(f"maxResults must be between 1 and {MAX_RESULTS}, got {limit}")
    start = 0
    if token := params.get("nextToken"):
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except (ValueError, UnicodeDecodeError):
            raise invalid("nextToken is not valid; pass the nextToken of the previous page") from None
    end = start + limit
    nxt = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return items[start:end], nxt


def _condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in obj.get("status", {}).get("conditions", []) if c.get("type") == type_), {})


def _ecs_failure(obj: dict[str, Any]) -> ApiError | None:
    """The ECS error the operator recorded for this generation, if any."""
    degraded = _condition(obj, "Degraded")
    generation = obj["metadata"].get("generation")
    if degraded.get("status") != "True" or (degraded.get("observedGeneration") or 0) < (generation or 0):
        return None
    reason, message = degraded.get("reason", ""), degraded.get("message", "")
    # "Operation: Code: message" -> the ECS code and message as ECS sent them.
    parts = message.split(": ", 2)
    if len(parts) == 3 and parts[1] == reason:
        message = parts[2]
    if reason.endswith("Exception"):
        return ApiError(reason, message)
    if reason in ("AdoptionRefused",):
        return invalid(message)
    return ApiError("InvalidParameterException" if "." in reason else "ClientException", message)


class EcsApi:
    def __init__(self, rt: Runtime, wait_timeout: float = 30.0) -> None:
        self.rt = rt
        self.wait_timeout = wait_timeout
        self._revisions: dict[str, dict[str, Any]] = {}  # immutable older revisions, from ECS
        self._ops: dict[str, Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]] = {
            "CreateCluster": self.create_cluster,
            "DescribeClusters": self.describe_clusters,
            "RegisterTaskDefinition": self.register_task_definition,
            "DescribeTaskDefinition": self.describe_task_definition,
            "ListTaskDefinitions": self.list_task_definitions,
            "DeregisterTaskDefinition": self.deregister_task_definition,
            "RunTask": self.run_task,
            "StopTask": self.stop_task,
            "DescribeTasks": self.describe_tasks,
            "ListTasks": self.list_tasks,
            "CreateService": self.create_service,
            "UpdateService": self.update_service,
            "DeleteService": self.delete_service,
            "DescribeServices": self.describe_services,
            "ListServices": self.list_services,
            "ExecuteCommand": self.execute_command,
        }

    @property
    def operations(self) -> list[str]:
        return sorted(self._ops)

    async def call(self, operation: str, params: dict[str, Any], principal: Principal) -> dict[str, Any]:
        handler = self._ops.get(operation)
        if handler is None:
            raise ApiError("UnknownOperationException", f"{operation} is not an operation of this endpoint")
        if operation in WRITE_OPERATIONS and principal.read_only:
            raise access_denied(f"credential {principal.name} is read-only and may not call {operation}")
        return await handler(principal.namespace, params)

    # -- lookups in the watch cache ------------------------------------------------------------

    def _objects(self, kind: str, ns: str) -> list[dict[str, Any]]:
        return self.rt.registry.in_namespace(kind, ns)

    def _cluster_of(self, ns: str, obj: dict[str, Any]) -> str:
        """The ECS cluster name a service or task object runs in."""
        spec, status = obj.get("spec", {}), obj.get("status", {})
        if status.get("clusterArn"):
            return short_name(status["clusterArn"], "cluster/")
        if spec.get("cluster"):
            return short_name(spec["cluster"], "cluster/")
        if ref := spec.get("clusterRef"):
            target = self.rt.registry.get(CLUSTER, ns, ref["name"])
            return cluster_name(target) if target else ref["name"]
        return "default"

    def _find_cluster(self, ns: str, ref: str | None) -> dict[str, Any] | None:
        name = short_name(ref or "default", "cluster/")
        return next((o for o in self._objects(CLUSTER, ns) if cluster_name(o) == name), None)

    def _require_cluster(self, ns: str, ref: str | None) -> str:
        """The ECS cluster name for a request; ClusterNotFoundException when the namespace has no such cluster."""
        obj = self._find_cluster(ns, ref)
        if obj is None:
            raise ApiError("ClusterNotFoundException", "Cluster not found.")
        return cluster_name(obj)

    def _find_family(self, ns: str, family: str) -> dict[str, Any] | None:
        return next((o for o in self._objects(TASK_DEFINITION, ns) if o["spec"].get("family") == family), None)

    def _find_service(self, ns: str, cluster: str, ref: str) -> dict[str, Any] | None:
        name = short_name(ref, "/")
        for obj in self._objects(SERVICE, ns):
            arn = obj.get("status", {}).get("serviceArn")
            if (obj["spec"].get("serviceName") == name or arn == ref) and self._cluster_of(ns, obj) == cluster:
                return obj
        return None

    def _find_task(self, ns: str, cluster: str, ref: str) -> dict[str, Any] | None:
        task_id = ref.rsplit("/", 1)[-1]
        for obj in self._objects(TASK, ns):
            for t in obj.get("status", {}).get("tasks", []):
                if t.get("taskArn", "").rsplit("/", 1)[-1] == task_id and self._cluster_of(ns, obj) == cluster:
                    return obj
        return None

    async def _wait(
        self, kind: str, ns: str, name: str, done: Callable[[dict[str, Any]], bool], generation: int | None = None
    ) -> dict[str, Any]:
        deadline = time.monotonic() + self.wait_timeout
        while True:
            obj = self.rt.registry.get(kind, ns, name)
            if obj is not None and (generation is None or (obj["metadata"].get("generation") or 0) >= generation):
                if done(obj):
                    return obj
                if failure := _ecs_failure(obj):
                    raise failure
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ApiError(
                    "ServerException",
                    f"{kind} {ns}/{name} was accepted but not reconciled within {self.wait_timeout:.0f}s; "
                    "describe it again later",
                    500,
                )
            await self.rt.registry.wait_changed(min(remaining, 1.0))

    async def _create(self, kind: str, ns: str, ecs_name: str, spec: dict[str, Any], **meta: Any) -> str:
        """Create an object under the first free name for `ecs_name` (see naming.py)."""
        taken = {o["metadata"]["name"] for o in self._objects(kind, ns)}
        for name in naming.candidate_names(ecs_name):
            if name in taken:
                continue
            body = {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": kind,
                "metadata": {"name": name, "namespace": ns, **meta},
                "spec": spec,
            }
            try:
                await k8s.create_object(kind, ns, body)
            except kubernetes.client.ApiException as exc:
                raise self._kube_error(exc) from exc
            return name
        raise client(f"no free Kubernetes name for {kind} {ecs_name!r} in namespace {ns}")

    @staticmethod
    def _kube_error(exc: kubernetes.client.ApiException) -> ApiError:
        """The API server's answer to a write, as ECS would phrase a client mistake."""
        try:
            message = json.loads(exc.body or "{}").get("message", exc.reason)
        except (TypeError, ValueError):
            message = str(exc.reason)
        if exc.status in (400, 409, 422):
            return invalid(message)
        if exc.status == 403:
            return access_denied(message)
        return ApiError("ServerException", message, 500)

    async def _patch_spec(self, kind: str, obj: dict[str, Any], spec_patch: dict[str, Any], **meta: Any) -> int:
        patch: dict[str, Any] = {"spec": spec_patch}
        if meta:
            patch["metadata"] = meta
        try:
            result = await k8s.patch_object(kind, obj["metadata"]["namespace"], obj["metadata"]["name"], patch)
        except kubernetes.client.ApiException as exc:
            raise self._kube_error(exc) from exc
        generation: int = result["metadata"]["generation"]
        return generation

    # -- clusters --------------------------------------------------------------------------------

    async def create_cluster(self, ns: str, p: dict[str, Any]) -> dict[str, Any]:
        name = p.get("clusterName") or "default"
        obj = self._find_cluster(ns, name)
        if obj is None:
            spec = {**ecs_members(p, "CreateCluster"), "clusterName": name}
            obj_name = await self._create(CLUSTER, ns, name, spec)
        else:
            obj_name = obj["metadata"]["name"]  # CreateCluster of an existing name returns it, as ECS does
        done = await self._wait(CLUSTER, ns, obj_name, lambda o: bool(o.get("status", {}).get("clusterArn")))
        return {"cluster": views.cluster_view(done, ["SETTINGS", "CONFIGURATIONS", "TAGS"])}

    async def describe_clusters(self, ns: str, p: dict[str, Any]) -> dict[str, Any]:
        clusters, failures = [], []
        for ref in p.get("clusters") or ["default"]:
            obj = self._find_cluster(ns, ref)
            if obj is not None and obj.get("status", {}).get("clusterArn"):
                clusters.append(views.cluster_view(obj, p.get("include")))
            else:
                failures.append({"arn": ref, "reason": "MISSING"})
        return {"clusters": clusters, "failures": failures}

    # -- task definitions ------------------------------------------------------------------------

    async def register_task_definition(self, ns: str, p: dict[str, Any]) -> dict[str, Any]:
        family = p["family"]
        request = ecs_members(p, "RegisterTaskDefinition")
        obj = self._find_family(ns, family)
        if obj is None:
            obj_name = await self._create(TASK_DEFINITION, ns, family, request)
            generation = 1
        else:
            obj_name = obj["metadata"]["name"]
            # Replace every ECS member (null removes what the new request leaves out); keep ours.
            spec_patch = {k: None for k in ecs_members(obj["spec"], "RegisterTaskDefinition")} | request
            generation = await self._patch_spec(TASK_DEFINITION, obj, spec_patch)
        current = self.rt.registry.get(TASK_DEFINITION, ns, obj_name)
        _, digest = td_logic.register_request({**(current or {}).get("spec", {}), **request}, Owner("", "", "", ""))

        def registered(o: dict[str, Any]) -> bool:
            status = o.get("status", {})
            return status.get("specHash") == digest and bool(status.get("taskDefinitionArn"))

        done = await self._wait(TASK_DEFINITION, ns, obj_name, registered, generation)
        return {"taskDefinition": views.task_definition_view(done), "tags": views.user_tags(done["spec"])}

    def _parse_task_definition(self, ns: str, ref: str) -> tuple[dict[str, Any] | None, str, int | None]:
        """(object, family, revision or None) for 'family', 'family:rev' or an ARN."""
        tail = short_name(ref, "task-definition/")
        family, _, rev = tail.partition(":")
        if rev and not rev.isdigit():
            raise client(f"Invalid revision number. Number: {rev}")
        return self._find_family(ns, family), family, int(rev) if rev else None

    async def describe_task_definition(self, ns: str, p: dict[str, Any]) -> dict[str, Any]:
        obj, _, revision = self._parse_task_definition(ns, p["taskDefinition"])
        status = (obj or {}).get("status", {})
        if obj is None or not status.get("taskDefinitionArn"):
            raise client("Unable to describe task definition.")
        tags = views.user_tags(obj["spec"]) if "TAGS" in (p.get("include") or []) else None
        if revision is None or revision == status.get("revision"):
            view = views.task_definition_view(obj)
        else:
            known = {r["revision"]: r for r in status.get("retainedRevisions", [])}
            if revision not in known:
                raise client("Unable to describe task definition.")
            arn = known[revision]["taskDefinitionArn"]
            if arn not in self._revisions:
                try:
                    resp = await self.rt.gateway.call("DescribeTaskDefinition", taskDefinition=arn)
                except EcsError as err:
                    raise ApiError(err.code, err.message, 500 if err.transient else 400) from err
                self._revisions[arn] = resp["taskDefinition"]
            view = self._revisions[arn]
        return {"taskDefinition": view, **({"tags": tags} if tags is not None else {})}

    async def list_task_definitions(self, ns: str, p: dict[str, Any]) -> dict[str, Any]:
        want = p.get("status", "ACTIVE")
        prefix = p.get("familyPrefix")
        entries = []
        for obj in self._objects(TASK_DEFINITION, ns):
            family = obj["spec"].get("family", "")
            if prefix and not family.startswith(prefix):
                continue
            for r in obj.get("status", {}).get("retainedRevisions", []):
                if r.get("status", "ACTIVE") == want:
                    entries.append((family, r["revision"], r["taskDefinitionArn"]))
        entries.sort(reverse=p.get("sort") == "DESC")
        page, token = _page([arn for _, _, arn in entries], p)
        return {"taskDefinitionArns": page, **({"nextToken": token} if token else {})}

    async def deregister_task_definition(self, ns: str, p: dict[str, Any]) -> dict[str, Any]:
        obj, _, revision = self._parse_task_definition(ns, p["taskDefinition"])
        if revision is None:
            raise client("Invalid revision number. Number: ")  # ECS requires family:revision or an ARN
        status = (obj or {}).get("status", {})
        known = {r["revision"]: r for r in status.get("retainedRevisions", [])}
        if obj is None or revision not in known:
            raise client("The specified task definition does not exist.")
        if revision == status.get("revision"):
            # The current revision is the resource: deregistering it deletes the FargateTaskDefinition.
            view = {**views.task_definition_view(obj), "status": "INACTIVE"}
            await k8s.delete_object(TASK_DEFINITION, ns, obj["metadata"]["name"])
            return {"taskDefinition": view}
        arn = known[revision]["taskDefinitionArn"]
        try:
            resp = await self.rt.gateway.call("DeregisterTaskDefinition", taskDefinition=arn)
        except EcsError as err:
            raise ApiError(err.code, err.message, 500 if err.transient else 400) from err
        await k8s.post_event(obj, "Deregistered", f"DeregisterTaskDefinition {arn} (ECS API adapter)")
        return {"taskDefinition": resp["taskDefinition"]}

    # -- tasks -----------------------------------------------------------------------------------

    async def run_task(self, ns: str, p: dict[str, Any]) -> dict[str, Any]:
        cluster = self._require_cluster(ns, p.get("cluster"))
        spec = {k: v for k, v in ecs_members(p, "RunTask").items() if k not in ("clientToken", "startedBy")}
        spec["cluster"] = cluster
        _, family, _ = self._parse_task_definition(ns, p["taskDefinition"])
        annotations = {views.STARTED_BY_ANNOTATION: p["startedBy"]} if p.get("startedBy") else {}
        if token := p.get("clientToken"):
            # The same clientToken names the same object: a retried RunTask starts nothing new.
            base = f"run-{hashlib.sha256(f'{cluster}/{token}'.encode()).hexdigest()[:16]}"
            existing = self.rt.registry.get(TASK, ns, base)
            name = base if existing is not None else await self._create(TASK, ns, base, spec, annotations=annotations)
        else:
            suffix = hashlib.sha256(f"{time.time_ns()}".encode()).hexdigest()[:8]
            name = await self._create(
                TASK, ns, f"{naming.hashed_name(family)[:40]}-{suffix}", spec, annotations=annotations
            )

        def started(o: dict[str, Any]) -> bool:
            return bool(o.get("status", {}).get("tasks"))

        done = await self._wait(TASK, ns, name, started)
        return {"tasks": views.task_views(done, ["TAGS"]), "failures": []}

    async def stop_task(self, ns: str, p: dict[str, Any]) -> dict[str, Any]:
        cluster = self._require_cluster(ns, p.get("cluster"))
        obj = self._find_task(ns, cluster, p["task"])
        if obj is None:
            raise invalid("The referenced task was not found.")
        reason = p.get("reason") or "Task stopped by the ECS API adapter"
        await k8s.patch_annotations(TASK, ns, obj["metadata"]["name"], {STOP_ANNOTATION: reason})
        task = next(t for t in views.task_views(obj) if t["taskArn"].rsplit("/", 1)[-1] == p["task"].rsplit("/", 1)[-1])
        return {"task": {**task, "desiredStatus": "STOPPED", "stoppedReason": reason}}

    def _service_tasks(self, ns: str, cluster: str) -> list[dict[str, Any]]:
        """Tasks that this namespace's FargateServices in `cluster` started (from the status loop's index)."""
        services = {
            o["spec"].get("serviceName") for o in self._objects(SERVICE, ns) if self._cluster_of(ns, o) == cluster
        }
        return [
            t
            for arn, index in self.rt.service_tasks.items()
            if short_name(arn, "cluster/") == cluster
            for t in index.values()
            if str(t.get("group", "")).removeprefix("service:") in services
        ]

    def _all_tasks(self, ns: str, cluster: str, include: list[str] | None = None) -> list[dict[str, Any]]:
        one_off = [
            t
            for obj in self._objects(TASK, ns)
            if self._cluster_of(ns, obj) == cluster
            for t in views.task_views(obj, include)
        ]
        service = [
            t if include and "TAGS" in include else {k: v for k, v in t.items() if k != "tags"}
            for t in self._service_tasks(ns, cluster)
        ]
        return one_off + service

    async def describe_tasks(self, ns: str, p: dict[str, Any]) -> dict[str, Any]:
        cluster = self._require_cluster(ns, p.get("cluster"))
        by_id = {t["taskArn"].rsplit("/", 1)[-1]: t for t in self._all_tasks(ns, cluster, p.get("include"))}
        tasks, failures = [], []
        for ref in p["tasks"]:
            found = by_id.get(ref.rsplit("/", 1)[-1])
            if found:
                tasks.append(found)
            else:
                failures.append({"arn": ref, "reason": "MISSING"})
        return {"tasks": tasks, "failures": failures}

    async def list_tasks(self, ns: str, p: dict[str, Any]) -> dict[str, Any]:
        cluster = self._require_cluster(ns, p.get("cluster"))
        desired = p.get("desiredStatus", "RUNNING")
        arns = []
        for t in self._all_tasks(ns, cluster):
            family = str(t.get("taskDefinitionArn", "")).rsplit("/", 1)[-1].split(":")[0]
            if p.get("family") and family != p["family"]:
                continue
            if p.get("startedBy") and t.get("startedBy") != p["startedBy"]:
                continue
            if p.get("launchType") and t.get("launchType") != p["launchType"]:
                continue
            if p.get("serviceName") and t.get("group") != f"service:{p['serviceName']}":
                continue
            if (t.get("desiredStatus") or "RUNNING") != desired:
                continue
            arns.append(t["taskArn"])
        page, token = _page(sorted(arns), p)
        return {"taskArns": page, **({"nextToken": token} if token else {})}

    async def execute_command(self, ns: str, p: dict[str, Any]) -> dict[str, Any]:
        cluster = self._require_cluster(ns, p.get("cluster"))
        obj = self._find_task(ns, cluster, p["task"])
        if obj is None:
            raise invalid("The specified task was not found.")
        params = {k: v for k, v in p.items() if k in ("container", "command", "interactive", "task")}
        try:
            resp = await self.rt.gateway.call("ExecuteCommand", cluster=cluster, **params)
        except EcsError as err:
            raise ApiError(err.code, err.message, 500 if err.transient else 400) from err
        container = resp.get("containerName", p.get("container", ""))
        await k8s.post_event(
            obj,
            "ExecuteCommand",
            f"ExecuteCommand in container {container}: session {resp.get('session', {}).get('sessionId', '')}",
        )
        return resp

    # -- services --------------------------------------------------------------------------------

    async def create_service(self, ns: str, p: dict[str, Any]) -> dict[str, Any]:
        cluster = self._require_cluster(ns, p.get("cluster"))
        if self._find_service(ns, cluster, p["serviceName"]) is not None:
            raise invalid("Creation of service was not idempotent.")
        spec = {k: v for k, v in ecs_members(p, "CreateService").items() if k != "clientToken"}
        spec["cluster"] = cluster
        name = await self._create(SERVICE, ns, p["serviceName"], spec)
        done = await self._wait(SERVICE, ns, name, lambda o: bool(o.get("status", {}).get("serviceArn")))
        return {"service": views.service_view(done, ["TAGS"])}

    async def update_service(self, ns: str, p: dict[str, Any]) -> dict[str, Any]:
        cluster = self._require_cluster(ns, p.get("cluster"))
        obj = self._find_service(ns, cluster, p["service"])
        if obj is None:
            raise ApiError("ServiceNotFoundException", "Service not found.")
        if obj.get("status", {}).get("status") not in (None, "ACTIVE"):
            raise ApiError("ServiceNotActiveException", "Service was not ACTIVE.")
        spec_patch = {
            k: v
            for k, v in ecs_members(p, "UpdateService").items()
            if k not in ("cluster", "service", "forceNewDeployment")
        }
        if "taskDefinition" in spec_patch:
            spec_patch["taskDefinitionRef"] = None  # an explicit revision replaces the reference
        force = str(time.time_ns()) if p.get("forceNewDeployment") else ""
        meta = {"annotations": {FORCE_DEPLOYMENT_ANNOTATION: force}} if force else {}
        generation = await self._patch_spec(SERVICE, obj, spec_patch, **meta)

        def applied(o: dict[str, Any]) -> bool:
            """This generation was reconciled (and the forced deployment, if asked, was made)."""
            seen = _condition(o, "Ready").get("observedGeneration") or 0
            return seen >= generation and str(o.get("status", {}).get("specHash", "")).endswith(force)

        done = await self._wait(SERVICE, ns, obj["metadata"]["name"], applied, generation)
        return {"service": views.service_view(done)}

    async def delete_service(self, ns: str, p: dict[str, Any]) -> dict[str, Any]:
        cluster = self._require_cluster(ns, p.get("cluster"))
        obj = self._find_service(ns, cluster, p["service"])
        if obj is None:
            raise ApiError("ServiceNotFoundException", "Service not found.")
        view = views.service_view(obj)
        if view.get("desiredCount", 0) > 0 and not p.get("force"):
            raise invalid("The service cannot be stopped while it is scaled above 0.")
        await k8s.delete_object(SERVICE, ns, obj["metadata"]["name"])
        return {"service": {**view, "status": "DRAINING"}}

    async def describe_services(self, ns: str, p: dict[str, Any]) -> dict[str, Any]:
        cluster = self._require_cluster(ns, p.get("cluster"))
        services, failures = [], []
        for ref in p["services"]:
            obj = self._find_service(ns, cluster, ref)
            if obj is not None and obj.get("status", {}).get("serviceArn"):
                services.append(views.service_view(obj, p.get("include")))
            else:
                failures.append({"arn": ref, "reason": "MISSING"})
        return {"services": services, "failures": failures}

    async def list_services(self, ns: str, p: dict[str, Any]) -> dict[str, Any]:
        cluster = self._require_cluster(ns, p.get("cluster"))
        arns = []
        for obj in self._objects(SERVICE, ns):
            spec, status = obj["spec"], obj.get("status", {})
            if self._cluster_of(ns, obj) != cluster or not status.get("serviceArn"):
                continue
            if p.get("launchType") and spec.get("launchType") != p["launchType"]:
                continue
            if p.get("schedulingStrategy") and spec.get("schedulingStrategy", "REPLICA") != p["schedulingStrategy"]:
                continue
            arns.append(status["serviceArn"])
        page, token = _page(sorted(arns), p)
        return {"serviceArns": page, **({"nextToken": token} if token else {})}
