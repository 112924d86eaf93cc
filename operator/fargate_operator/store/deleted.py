"""Recently deleted objects, as ECS keeps answering them: one ConfigMap of records per namespace.

ECS answers a deleted service (INACTIVE), a stopped task (STOPPED, at least an hour), a
deregistered revision and a deleted cluster (INACTIVE) for a while after they went; the SDKs'
waiters count on it (ServicesInactive *fails* on MISSING). A custom resource that is deleted
leaves the API server once its finalizer goes, so the operator keeps, just before that, the
object's last recorded state (spec + status as ECS reported it) in a ConfigMap of the object's
namespace, and the front doors answer from it once the object is gone.

Why a ConfigMap in the API server, not the process: the records must survive an operator restart
and be seen by both replicas (the leader writes, either answers), and the API server already is the
store every replica watches. Why per namespace: a record is then seen exactly by whom may see the
namespace's objects (the front doors ask the same RBAC question as for live objects first), and
it goes with its namespace. Bounded: records older than KEEP_SECONDS, and beyond KEEP_PER_KIND per
kind, are dropped at the next write (a ConfigMap holds at most 1 MiB). Each record is one data key
written by a JSON merge patch, so concurrent deletions never overwrite each other's records.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from fargate_operator import k8s, kubeclient
from fargate_operator.kubeclient import MERGE_PATCH, ApiError

log = logging.getLogger(__name__)

CONFIGMAP = "ConfigMap"  # the kind the watch cache keeps them under
NAME = "fargate-operator-deleted"
LABEL = "ecs.fargate.dev/deleted-records"
SELECTOR = f"{LABEL}=true"
KEEP_SECONDS = 3600.0  # ECS keeps a stopped task describable at least an hour
KEEP_PER_KIND = 50  # per namespace and kind: 1-4 KiB a record
BUDGET_BYTES = 768 * 1024  # and the oldest go first beyond this: a ConfigMap holds at most 1 MiB
KEPT_ANNOTATIONS = ("ecs.fargate.dev/started-by",)


def _key(kind: str, uid: str) -> str:
    return f"{kind}.{uid}"


def _plain(value: Any) -> Any:
    """A JSON-ready copy (Kopf hands handlers read-only views of the body)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def record_of(body: Any, now: float) -> dict[str, Any]:
    """What the front doors need of a deleted object: its names, spec and the status ECS last reported."""
    body = _plain(body)
    meta = body["metadata"]
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k in KEPT_ANNOTATIONS}
    # Not Kopf's bookkeeping, conditions or a service's event log: the answers need none, and they are big.
    status = {k: v for k, v in (body.get("status") or {}).items() if k not in ("kopf", "conditions", "events")}
    spec = body.get("spec") or {}
    if body["kind"] == "FargateTaskDefinition":  # its revisions' content is ECS's, asked by ARN: keep the names
        spec = {"family": spec.get("family")}
        status = {k: v for k, v in status.items() if k in ("taskDefinitionArn", "revision", "retainedRevisions")}
    return {
        "kind": body["kind"],
        "deletedAt": now,
        "object": {
            "kind": body["kind"],
            "metadata": {
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
                "creationTimestamp": meta.get("creationTimestamp"),
                "annotations": annotations,
            },
            "spec": spec,
            "status": status,
        },
    }


def records(data: dict[str, str] | None) -> dict[str, dict[str, Any]]:
    """key -> record, of a ConfigMap's data (unreadable entries skipped: anyone may edit the ConfigMap)."""
    out = {}
    for key, text in (data or {}).items():
        try:
            record = json.loads(text)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("object"), dict) and "deletedAt" in record:
            out[key] = record
    return out


def dropped(data: dict[str, str] | None, now: float, adding: int = 0) -> list[str]:
    """Keys due to go: too old, beyond the newest KEEP_PER_KIND of their kind, or (oldest first) beyond
    BUDGET_BYTES with `adding` more bytes."""
    kept = records(data)
    gone = [k for k in (data or {}) if k not in kept or now - float(kept[k]["deletedAt"]) > KEEP_SECONDS]
    by_kind: dict[str, list[tuple[float, str]]] = {}
    for key, record in kept.items():
        if key not in gone:
            by_kind.setdefault(str(record["kind"]), []).append((float(record["deletedAt"]), key))
    for entries in by_kind.values():
        entries.sort(reverse=True)
        gone += [key for _, key in entries[KEEP_PER_KIND:]]
    left = sorted((float(r["deletedAt"]), k) for k, r in kept.items() if k not in gone)
    size = adding + sum(len(k) + len((data or {})[k]) for _, k in left)
    for _, key in left:
        if size <= BUDGET_BYTES:
            break
        gone.append(key)
        size -= len(key) + len((data or {})[key])
    return gone


def recent(cached: dict[str, Any] | None, kind: str, now: float | None = None) -> list[dict[str, Any]]:
    """The deleted objects of `kind` in a namespace's records (its cached ConfigMap), newest first."""
    now = time.time() if now is None else now
    found = [
        r
        for r in records((cached or {}).get("data")).values()
        if r["kind"] == kind and now - float(r["deletedAt"]) <= KEEP_SECONDS
    ]
    found.sort(key=lambda r: -float(r["deletedAt"]))
    return [{**r["object"], "deletedAt": r["deletedAt"]} for r in found]


def deleted_at(obj: dict[str, Any]) -> str:
    """A record's deletion time as ECS timestamps are stored in status (ISO 8601)."""
    return datetime.datetime.fromtimestamp(float(obj["deletedAt"]), datetime.UTC).isoformat()


async def remember(body: Any, cached: dict[str, Any] | None) -> None:
    """Record a deleted object in its namespace's ConfigMap (created on first use); the operator's own write.

    `cached` is the namespace's ConfigMap as the watch cache holds it: what it shows as due to go
    is dropped in the same patch. Never raises: a record missed costs an answer, not the deletion.
    """
    now = time.time()
    ns = body["metadata"]["namespace"]
    key = _key(body["kind"], body["metadata"]["uid"])
    text = json.dumps(record_of(body, now), separators=(",", ":"))
    data: dict[str, str | None] = {k: None for k in dropped((cached or {}).get("data"), now, len(key) + len(text))}
    data[key] = text
    path = f"/api/v1/namespaces/{ns}/configmaps"

    def run() -> None:
        patch = {"metadata": {"labels": {LABEL: "true"}}, "data": data}
        response = k8s.api().request("PATCH", f"{path}/{NAME}", body=patch, content_type=MERGE_PATCH)
        if response.status == 404:
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": NAME, "labels": {LABEL: "true"}}}
            body["data"] = {k: v for k, v in data.items() if v is not None}
            response = k8s.api().request("POST", path, body=body, content_type="application/json")
            if response.status == 409:  # created meanwhile by another deletion: patch it
                response = k8s.api().request("PATCH", f"{path}/{NAME}", body=patch, content_type=MERGE_PATCH)
        if response.status >= 400:
            raise kubeclient.error_of(response)
        k8s.K8S_WRITES.labels("patch").inc()

    try:
        await asyncio.to_thread(run)
    except (ApiError, OSError) as exc:
        log.warning("could not record deleted %s %s/%s: %s", body["kind"], ns, body["metadata"]["name"], exc)
