"""What every operation needs: a namespace's objects from the watch cache, bounded waits, CR writes, paging.

Reads never call Kubernetes or ECS (the operation has asked the API server whether the caller
may read, access.py); writes go to the API server as the caller (acting.py) and the operation
then waits (up to `wait_timeout`) for the operator's reconciled result in the cache.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fargate_operator import k8s
from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.models.kinds import CLUSTER, GROUP, SERVICE, TASK, TASK_DEFINITION, VERSION
from fargate_operator.reconcile import conditions
from fargate_operator.reconcile.accounts import (
    PlacementRefused,
    PlacementWaiting,
)
from fargate_operator.reconcile.cluster import cluster_name
from fargate_operator.reconcile.tenancy import reference_refusal
from fargate_operator.runtime import Runtime
from fargate_operator.service import acting, naming
from fargate_operator.service.access import Caller
from fargate_operator.service.errors import ApiError, client, invalid
from fargate_operator.store import deleted

MAX_RESULTS = 100
CONFLICT_RETRIES = 5


def short_name(ref: str, marker: str) -> str:
    """'arn:aws:ecs:r:a:cluster/name' -> 'name'; plain names pass through."""
    return ref.rsplit(marker, 1)[-1] if ref.startswith("arn:") and marker in ref else ref


def page(items: list[Any], params: dict[str, Any]) -> tuple[list[Any], str | None]:
    """One page of `items` for maxResults / nextToken (the token is an opaque offset)."""
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


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    return conditions.find(obj.get("status", {}).get("conditions"), type_)


def ecs_failure(obj: dict[str, Any]) -> ApiError | None:
    """The ECS error the operator recorded for this generation, if any."""
    degraded = condition(obj, "Degraded")
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


@dataclass(frozen=True)
class Cluster:
    """An ECS cluster a namespace owns: its name (what specs say) and its ARN (what ECS resources carry)."""

    name: str
    arn: str


class Store:
    """One caller-independent view of the watch cache plus the writes the operations make."""

    def __init__(self, rt: Runtime, wait_timeout: float) -> None:
        self.rt = rt
        self.wait_timeout = wait_timeout

    # -- where ECS is asked (the few operations that reach it) ----------------------------------

    def gateway_for(self, obj: dict[str, Any]) -> EcsGateway:
        """The gateway an object acts through (its namespace's account, its region)."""
        try:
            return self.rt.ecs_for(obj)
        except (PlacementWaiting, PlacementRefused) as why:
            raise client(str(why)) from None

    def gateway_for_arn(self, ns: str, arn: str) -> EcsGateway:
        """The gateway of namespace `ns` in the account and region an ARN names (another account: refused):
        placed as an object of `ns` that recorded that ARN would be."""
        return self.gateway_for({"metadata": {"namespace": ns}, "status": {"taskDefinitionArn": arn}})

    # -- lookups in the watch cache ------------------------------------------------------------

    def objects(self, kind: str, ns: str) -> list[dict[str, Any]]:
        return self.rt.watch_cache.in_namespace(kind, ns)

    def cluster_of(self, ns: str, obj: dict[str, Any]) -> str:
        """The ECS cluster name a service or task object runs in."""
        spec, status = obj.get("spec", {}), obj.get("status", {})
        if status.get("clusterArn"):
            return short_name(status["clusterArn"], "cluster/")
        if spec.get("cluster"):
            return short_name(spec["cluster"], "cluster/")
        if ref := spec.get("clusterRef"):
            target = self.rt.watch_cache.get(CLUSTER, ns, ref["name"])
            return cluster_name(target) if target else ref["name"]
        return "default"

    def find_cluster(self, ns: str, ref: str | None) -> dict[str, Any] | None:
        """The namespace's FargateCluster for a name (its clusterName) or an ARN (exactly its status ARN)."""
        ref = ref or "default"
        if ref.startswith("arn:"):
            return next((o for o in self.objects(CLUSTER, ns) if o.get("status", {}).get("clusterArn") == ref), None)
        return next((o for o in self.objects(CLUSTER, ns) if cluster_name(o) == ref), None)

    def require_cluster(self, ns: str, ref: str | None) -> Cluster:
        """The cluster a request names, if the operator accepted this namespace's object as its owner.

        Accepted = status.clusterArn is set, which the operator writes only after checking the ECS
        cluster's owner tags. An object it refused (the name is owned elsewhere) or has not reconciled
        yet grants nothing: ClusterNotFoundException, as for a name the namespace does not have.
        """
        obj = self.find_cluster(ns, ref)
        arn = (obj or {}).get("status", {}).get("clusterArn")
        if obj is None or not arn:
            raise ApiError("ClusterNotFoundException", "Cluster not found.")
        return Cluster(cluster_name(obj), arn)

    def require_references(self, ns: str, spec: dict[str, Any], operations: tuple[str, ...]) -> None:
        """The tenancy config's verdict on the roles and network references a request passes, before
        anything is written: the handler would refuse the object with this very message, and a refused
        object left behind would start later, after the caller was told it failed, once the config shares."""
        if message := reference_refusal(self.rt.tenancy.policy, ns, spec, operations):
            raise client(message)

    def find_family(self, ns: str, family: str) -> dict[str, Any] | None:
        return next((o for o in self.objects(TASK_DEFINITION, ns) if o["spec"].get("family") == family), None)

    def find_service(self, ns: str, cluster: str, ref: str) -> dict[str, Any] | None:
        name = short_name(ref, "/")
        for obj in self.objects(SERVICE, ns):
            arn = obj.get("status", {}).get("serviceArn")
            if (obj["spec"].get("serviceName") == name or arn == ref) and self.cluster_of(ns, obj) == cluster:
                return obj
        return None

    def find_task(self, ns: str, cluster: str, ref: str) -> dict[str, Any] | None:
        task_id = ref.rsplit("/", 1)[-1]
        for obj in self.objects(TASK, ns):
            for t in obj.get("status", {}).get("tasks", []):
                if t.get("taskArn", "").rsplit("/", 1)[-1] == task_id and self.cluster_of(ns, obj) == cluster:
                    return obj
        return None

    # -- recently deleted objects, as ECS answers them for a while (store/deleted.py) -------------

    def deleted(self, kind: str, ns: str) -> list[dict[str, Any]]:
        """The namespace's deleted objects of `kind` still answered (newest first); each with `deletedAt`."""
        return deleted.recent(self.rt.watch_cache.get(deleted.CONFIGMAP, ns, deleted.NAME), kind)

    def find_deleted_cluster(self, ns: str, ref: str | None) -> dict[str, Any] | None:
        ref = ref or "default"
        for obj in self.deleted(CLUSTER, ns):
            arn = obj.get("status", {}).get("clusterArn")
            if arn == ref or (not ref.startswith("arn:") and cluster_name(obj) == ref):
                return obj
        return None

    def find_deleted_service(self, ns: str, cluster: Cluster, ref: str) -> dict[str, Any] | None:
        name = short_name(ref, "/")
        for obj in self.deleted(SERVICE, ns):
            status = obj.get("status", {})
            named = obj["spec"].get("serviceName") == name or status.get("serviceArn") == ref
            if named and status.get("clusterArn") == cluster.arn:
                return obj
        return None

    # -- waiting for the operator --------------------------------------------------------------

    async def wait(
        self,
        kind: str,
        ns: str,
        name: str,
        done: Callable[[dict[str, Any]], bool],
        generation: int | None = None,
        *,
        failures: bool = True,
    ) -> dict[str, Any]:
        """Until done(object), or the ECS error recorded for its generation (unless `failures` is off)."""
        deadline = time.monotonic() + self.wait_timeout
        while True:
            obj = self.rt.watch_cache.get(kind, ns, name)
            if obj is not None and (generation is None or (obj["metadata"].get("generation") or 0) >= generation):
                if done(obj):
                    return obj
                if failures and (failure := ecs_failure(obj)):
                    raise failure
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ApiError(
                    "ServerException",
                    f"{kind} {ns}/{name} was accepted but not reconciled within {self.wait_timeout:.0f}s; "
                    "describe it again later",
                    500,
                )
            await self.rt.watch_cache.wait_changed(min(remaining, 1.0))

    # -- custom resource writes, made as the caller -------------------------------------------

    async def create(self, kind: str, caller: Caller, ecs_name: str, spec: dict[str, Any], **meta: Any) -> str:
        """Create an object under the first free name for `ecs_name` (see naming.py)."""
        ns = caller.ns
        taken = {o["metadata"]["name"] for o in self.objects(kind, ns)}
        for name in naming.candidate_names(ecs_name):
            if name in taken:
                continue
            try:
                await self.create_named(kind, caller, name, spec, **meta)
            except acting.AlreadyExists as exists:
                # Created meanwhile (another call, another replica): not ours to share.
                raise invalid(str(exists)) from None
            return name
        raise client(f"no free Kubernetes name for {kind} {ecs_name!r} in namespace {ns}")

    async def create_named(self, kind: str, caller: Caller, name: str, spec: dict[str, Any], **meta: Any) -> None:
        """Create an object under exactly `name`; acting.AlreadyExists when the API server has one."""
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": kind,
            "metadata": {"name": name, "namespace": caller.ns, **meta},
            "spec": spec,
        }
        await acting.create(kind, caller.ns, body, caller.principal)

    async def patch_spec(
        self, kind: str, caller: Caller, obj: dict[str, Any], spec_patch: dict[str, Any], **meta: Any
    ) -> int:
        patch: dict[str, Any] = {"spec": spec_patch}
        if meta:
            patch["metadata"] = meta
        result = await acting.patch(
            kind, obj["metadata"]["namespace"], obj["metadata"]["name"], patch, caller.principal
        )
        generation: int = result["metadata"]["generation"]
        return generation

    async def delete(self, kind: str, caller: Caller, obj: dict[str, Any]) -> None:
        await acting.delete(kind, obj["metadata"]["namespace"], obj["metadata"]["name"], caller.principal)

    async def update_annotation(
        self, kind: str, caller: Caller, obj: dict[str, Any], key: str, compute: Callable[[dict[str, Any]], str]
    ) -> dict[str, Any]:
        """Set annotation `key` to compute(object), conditionally on the object's resourceVersion.

        Read-modify-write: concurrent callers (two StopTasks of sibling tasks) must not drop each
        other's entries, so a 409 re-reads the object from the API server and computes again. The
        write is the caller's; the re-read is the operator's (what it reads goes into that write only).
        """
        meta = obj["metadata"]
        ns, name = meta["namespace"], meta["name"]
        current: dict[str, Any] | None = obj
        for _ in range(CONFLICT_RETRIES):
            if current is None:
                raise invalid(f"{kind} {ns}/{name} was deleted meanwhile")
            patch = {
                "metadata": {
                    "resourceVersion": current["metadata"]["resourceVersion"],
                    "annotations": {key: compute(current)},
                }
            }
            try:
                return await acting.patch(kind, ns, name, patch, caller.principal, conditional=True)
            except acting.Conflict:
                current = await k8s.get_object(kind, ns, name)
        raise ApiError("ServerException", f"{kind} {ns}/{name} kept changing; try again", 500)
