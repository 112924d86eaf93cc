"""The operator's own Kubernetes writes outside Kopf handlers: status patches, events, annotations.

Kopf writes what handlers put in `patch`; the background status loops and
cross-object triggers use these, on worker threads (the client is blocking).
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import os
import secrets
from concurrent.futures import Executor
from typing import Any

from prometheus_client import Counter

from fargate_operator import kubeclient
from fargate_operator.kubeclient import MERGE_PATCH, ApiError, KubeClient
from fargate_operator.models.kinds import ACCOUNT, ACCOUNT_PLURAL, GROUP, VERSION, plural_of

log = logging.getLogger(__name__)
K8S_WRITES = Counter("fargate_operator_k8s_writes_total", "Kubernetes writes made outside Kopf", ["verb"])

_api: KubeClient | None = None
REPORTING_CONTROLLER = f"{GROUP}/fargate-operator"
REPORTING_INSTANCE = os.environ.get("HOSTNAME") or "fargate-operator"  # the pod's name in a cluster


def configure(kubeconfig: str | None = None) -> None:
    global _api
    _api = KubeClient(kubeclient.connection(kubeconfig), maxsize=16)


def new_client() -> KubeClient:
    """A client of the same configuration with a connection pool of its own (watch streams, the elector)."""
    return api().new()


def api() -> KubeClient:
    if _api is None:
        configure()
    assert _api is not None
    return _api


def object_path(kind: str, namespace: str, name: str | None = None, subresource: str = "") -> str:
    """The REST path of one of the operator's kinds (namespace "" for the cluster-scoped FargateAccount)."""
    plural = ACCOUNT_PLURAL if kind == ACCOUNT else plural_of(kind)
    path = f"/apis/{GROUP}/{VERSION}/" + (f"namespaces/{namespace}/" if namespace else "") + plural
    return path + (f"/{name}" if name else "") + (f"/{subresource}" if subresource else "")


def _write(method: str, path: str, body: Any = None, content_type: str = MERGE_PATCH) -> None:
    """A write whose answer is read only for errors (ApiError): not decoded (a patch answers the whole object)."""
    response = api().request(method, path, body=body, content_type=content_type)
    if response.status >= 400:
        raise kubeclient.error_of(response)


async def patch_status(
    kind: str, namespace: str, name: str, status: dict[str, Any], resource_version: str | None = None
) -> bool:
    """A merge patch of status; False when the object is gone or (with `resource_version`) has changed.

    With `resource_version` the patch is conditional: the API server answers 409 Conflict unless
    the object is still at that version, so a status computed from an older snapshot never lands
    on top of a newer write (the caller looks again next time).
    """
    body: dict[str, Any] = {"status": status}
    if resource_version is not None:
        body["metadata"] = {"resourceVersion": resource_version}

    def run() -> bool:
        try:
            _write("PATCH", object_path(kind, namespace, name, "status"), body)
            K8S_WRITES.labels("patch_status").inc()
            return True
        except ApiError as exc:
            if exc.status == 404:  # deleted meanwhile: nothing to report on
                return False
            if exc.status == 409 and resource_version is not None:
                K8S_WRITES.labels("patch_status_conflict").inc()
                return False
            raise

    return await asyncio.to_thread(run)


async def patch_annotations(kind: str, namespace: str, name: str, annotations: dict[str, str]) -> None:
    def run() -> None:
        try:
            _write("PATCH", object_path(kind, namespace, name), {"metadata": {"annotations": annotations}})
            K8S_WRITES.labels("patch_annotations").inc()
        except ApiError as exc:
            if exc.status != 404:
                raise

    await asyncio.to_thread(run)


async def guard_and_annotate(
    kind: str, namespace: str, name: str, resource_version: str, finalizers: list[str], annotations: dict[str, str]
) -> None:
    """One write: finalizers and annotations, only onto the version the caller saw.

    The resourceVersion makes it conditional (409 Conflict otherwise), so the finalizer
    list, replaced whole by a merge patch, never drops one somebody added meanwhile.
    """
    metadata = {"resourceVersion": resource_version, "finalizers": finalizers, "annotations": annotations}

    def run() -> None:
        _write("PATCH", object_path(kind, namespace, name), {"metadata": metadata})
        K8S_WRITES.labels("patch_metadata").inc()

    await asyncio.to_thread(run)


async def get_object(kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    def run() -> dict[str, Any] | None:
        return api().json("GET", object_path(kind, namespace, name), ok=(404,)) or None

    return await asyncio.to_thread(run)


async def delete_object(kind: str, namespace: str, name: str) -> None:
    def run() -> None:
        try:
            _write("DELETE", object_path(kind, namespace, name))
            K8S_WRITES.labels("delete").inc()
        except ApiError as exc:
            if exc.status != 404:
                raise

    await asyncio.to_thread(run)


async def post_event(body: dict[str, Any], reason: str, message: str, warning: bool = False) -> None:
    """An Event on the object (events.k8s.io/v1; `kubectl describe` and `kubectl events` show it)."""
    meta = body["metadata"]
    regarding = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": body["kind"],
        "name": meta["name"],
        "uid": meta.get("uid"),
    }
    # A cluster-scoped object's (FargateAccount) Events go to the operator's own namespace (`kubectl describe`
    # looks for them in every namespace).
    namespace = meta.get("namespace") or os.environ.get("POD_NAMESPACE") or "default"
    await post_event_regarding(regarding, namespace, reason, message, warning)


async def post_event_regarding(
    regarding: dict[str, Any], namespace: str, reason: str, message: str, warning: bool = False
) -> None:
    """An Event on any object (`regarding`: apiVersion, kind, name, uid) in `namespace`."""
    event: Any = {
        "metadata": {"name": f"{regarding['name']}.{secrets.token_hex(6)}"},  # as kubectl's recorder names them
        "regarding": {**regarding, "namespace": namespace},
        "reason": reason,
        "action": reason,
        "note": message[:1024],
        "type": "Warning" if warning else "Normal",
        "eventTime": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "reportingController": REPORTING_CONTROLLER,
        "reportingInstance": REPORTING_INSTANCE,
    }

    def run() -> None:
        try:
            _write("POST", f"/apis/events.k8s.io/v1/namespaces/{namespace}/events", event, "application/json")
            K8S_WRITES.labels("event").inc()
        except ApiError as exc:
            log.warning("could not post event %s on %s/%s: %s", reason, namespace, regarding["name"], exc.reason)

    await asyncio.to_thread(run)


async def create_object(kind: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        obj = api().json("POST", object_path(kind, namespace), body=body, content_type="application/json")
        K8S_WRITES.labels("create").inc()
        return obj

    return await asyncio.to_thread(run)


async def patch_object(kind: str, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
    """A JSON merge patch (null deletes a member)."""

    def run() -> dict[str, Any]:
        obj = api().json("PATCH", object_path(kind, namespace, name), body=patch, content_type=MERGE_PATCH)
        K8S_WRITES.labels("patch").inc()
        return obj

    return await asyncio.to_thread(run)


async def list_secrets(namespace: str, label_selector: str) -> list[dict[str, Any]]:
    """Secrets as plain dicts."""

    def run() -> list[dict[str, Any]]:
        answer = api().json("GET", f"/api/v1/namespaces/{namespace}/secrets", query=[("labelSelector", label_selector)])
        items: list[dict[str, Any]] = answer.get("items") or []
        return items

    return await asyncio.to_thread(run)


async def request_json(
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    headers: list[tuple[str, str]] | None = None,
    content_type: str = "application/json",
    executor: Executor | None = None,
) -> tuple[int, dict[str, Any]]:
    """One API call with extra headers, which may repeat; (HTTP status, the answer as JSON, {} if none).

    Impersonation needs this: `Impersonate-Group` is sent once per group. `executor`: threads of the
    caller's own (TokenReviews), else asyncio's default executor.
    """

    def run() -> tuple[int, dict[str, Any]]:
        response = api().request(method, path, body=body, headers=headers, content_type=content_type)
        data = response.data
        try:
            answer = json.loads(data) if data else {}
        except ValueError:
            answer = {"message": data[:200].decode("utf-8", "replace")}
        return int(response.status), answer if isinstance(answer, dict) else {}

    if executor is not None:
        return await asyncio.get_running_loop().run_in_executor(executor, run)
    return await asyncio.to_thread(run)
