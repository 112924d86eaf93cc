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
from collections.abc import Iterator
from typing import Any

import kubernetes
import urllib3
from prometheus_client import Counter

from fargate_operator.models.kinds import ACCOUNT, ACCOUNT_PLURAL, GROUP, VERSION, plural_of

log = logging.getLogger(__name__)
K8S_WRITES = Counter("fargate_operator_k8s_writes_total", "Kubernetes writes made outside Kopf", ["verb"])

_api: kubernetes.client.ApiClient | None = None
_config: kubernetes.client.Configuration | None = None
REPORTING_CONTROLLER = f"{GROUP}/fargate-operator"
REPORTING_INSTANCE = os.environ.get("HOSTNAME") or "fargate-operator"  # the pod's name in a cluster
# For writes whose answer nobody reads: the client then skips building model objects from it,
# which costs more CPU than the request itself. `_drain` must then read the answer, or the
# connection is not returned to the pool (and the next request pays for a TLS handshake).
UNREAD: dict[str, Any] = {"_preload_content": False}


def _drain(response: Any) -> None:
    response.read()
    response.release_conn()


def watch_lines(response: Any) -> Iterator[bytes]:
    """Newline-separated JSON documents (watch events) from a streamed answer (`_preload_content=False`)."""
    buffer = b""
    for chunk in response.stream(amt=None, decode_content=False):
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                yield line


def configure(kubeconfig: str | None = None) -> None:
    global _api, _config
    if kubeconfig:
        cfg = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)  # type: ignore[no-untyped-call]
    else:
        try:
            kubernetes.config.load_incluster_config()  # type: ignore[no-untyped-call]
        except kubernetes.config.ConfigException:
            kubernetes.config.load_kube_config()  # type: ignore[no-untyped-call]
        cfg = kubernetes.client.Configuration.get_default_copy()
    _config = cfg
    _api = kubernetes.client.ApiClient(cfg)


def new_client() -> kubernetes.client.ApiClient:
    """A client of the same configuration with a connection pool of its own (watch streams, the elector)."""
    if _config is None:
        configure()
    return kubernetes.client.ApiClient(_config)


def api() -> kubernetes.client.ApiClient:
    if _api is None:
        configure()
    assert _api is not None
    return _api


def _custom() -> kubernetes.client.CustomObjectsApi:
    return kubernetes.client.CustomObjectsApi(api())


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
            _drain(
                _custom().patch_namespaced_custom_object_status(
                    GROUP, VERSION, namespace, plural_of(kind), name, body, **UNREAD
                )
            )
            K8S_WRITES.labels("patch_status").inc()
            return True
        except kubernetes.client.ApiException as exc:
            if exc.status == 404:  # deleted meanwhile: nothing to report on
                return False
            if exc.status == 409 and resource_version is not None:
                K8S_WRITES.labels("patch_status_conflict").inc()
                return False
            raise

    return await asyncio.to_thread(run)


async def patch_cluster_status(
    kind: str, name: str, status: dict[str, Any], resource_version: str | None = None
) -> bool:
    """patch_status for a cluster-scoped object (a FargateAccount)."""
    assert kind == ACCOUNT
    body: dict[str, Any] = {"status": status}
    if resource_version is not None:
        body["metadata"] = {"resourceVersion": resource_version}

    def run() -> bool:
        try:
            _drain(_custom().patch_cluster_custom_object_status(GROUP, VERSION, ACCOUNT_PLURAL, name, body, **UNREAD))
            K8S_WRITES.labels("patch_status").inc()
            return True
        except kubernetes.client.ApiException as exc:
            if exc.status in (404, 409):  # gone, or changed meanwhile: the next pass looks again
                return False
            raise

    return await asyncio.to_thread(run)


async def patch_annotations(kind: str, namespace: str, name: str, annotations: dict[str, str]) -> None:
    def run() -> None:
        try:
            patch = {"metadata": {"annotations": annotations}}
            _drain(
                _custom().patch_namespaced_custom_object(
                    GROUP, VERSION, namespace, plural_of(kind), name, patch, **UNREAD
                )
            )
            K8S_WRITES.labels("patch_annotations").inc()
        except kubernetes.client.ApiException as exc:
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
        patch = {"metadata": metadata}
        _drain(
            _custom().patch_namespaced_custom_object(GROUP, VERSION, namespace, plural_of(kind), name, patch, **UNREAD)
        )
        K8S_WRITES.labels("patch_metadata").inc()

    await asyncio.to_thread(run)


async def get_object(kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    def run() -> dict[str, Any] | None:
        try:
            obj: Any = _custom().get_namespaced_custom_object(GROUP, VERSION, namespace, plural_of(kind), name)
            return dict(obj)
        except kubernetes.client.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    return await asyncio.to_thread(run)


async def delete_object(kind: str, namespace: str, name: str) -> None:
    def run() -> None:
        try:
            _drain(
                _custom().delete_namespaced_custom_object(GROUP, VERSION, namespace, plural_of(kind), name, **UNREAD)
            )
            K8S_WRITES.labels("delete").inc()
        except kubernetes.client.ApiException as exc:
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
    await post_event_regarding(regarding, meta["namespace"], reason, message, warning)


async def post_event_regarding(
    regarding: dict[str, Any], namespace: str, reason: str, message: str, warning: bool = False
) -> None:
    """An Event on any object (`regarding`: apiVersion, kind, name, uid) in `namespace`."""
    event: Any = {  # a plain dict: the client would only turn an EventsV1Event model back into one
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
        # EventsV1Api, not CoreV1Api: the core API module alone costs ~20 MiB of RSS to import.
        events = kubernetes.client.EventsV1Api(api())
        try:
            _drain(events.create_namespaced_event(namespace, event, **UNREAD))
            K8S_WRITES.labels("event").inc()
        except kubernetes.client.ApiException as exc:
            log.warning("could not post event %s on %s/%s: %s", reason, namespace, regarding["name"], exc.reason)

    await asyncio.to_thread(run)


async def create_object(kind: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        obj: Any = _custom().create_namespaced_custom_object(GROUP, VERSION, namespace, plural_of(kind), body)
        K8S_WRITES.labels("create").inc()
        return dict(obj)

    return await asyncio.to_thread(run)


async def patch_object(kind: str, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
    """A JSON merge patch (null deletes a member)."""

    def run() -> dict[str, Any]:
        obj: Any = _custom().patch_namespaced_custom_object(GROUP, VERSION, namespace, plural_of(kind), name, patch)
        K8S_WRITES.labels("patch").inc()
        return dict(obj)

    return await asyncio.to_thread(run)


async def list_secrets(namespace: str, label_selector: str) -> list[dict[str, Any]]:
    """Secrets as plain dicts, through the client's low-level call (CoreV1Api costs ~20 MiB to import)."""

    def run() -> list[dict[str, Any]]:
        client = api()
        request = client.param_serialize(
            "GET",
            "/api/v1/namespaces/{namespace}/secrets",
            path_params={"namespace": namespace},
            query_params=[("labelSelector", label_selector)],
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        response: Any = client.call_api(*request)
        data = response.read()
        if response.status >= 400:
            raise kubernetes.client.ApiException(status=response.status, reason=response.reason)
        items: list[dict[str, Any]] = json.loads(data)["items"]
        return items

    return await asyncio.to_thread(run)


async def request_json(
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    headers: list[tuple[str, str]] | None = None,
    content_type: str = "application/json",
) -> tuple[int, dict[str, Any]]:
    """One API call with extra headers, which may repeat; (HTTP status, the answer as JSON, {} if none).

    Impersonation needs this: `Impersonate-Group` is sent once per group, and the generated client
    folds header parameters into a dict. The call goes through the client's own connection pool,
    TLS settings and credentials (auth_settings), like every other call of the operator.
    """

    def run() -> tuple[int, dict[str, Any]]:
        client = api()
        method_, url, header_params, serialized, _ = client.param_serialize(
            method,
            path,
            header_params={"Accept": "application/json", "Content-Type": content_type},
            body=body,
            auth_settings=["BearerToken"],
        )
        all_headers = urllib3.HTTPHeaderDict(header_params)
        for name, value in headers or []:
            all_headers.add(name, value)
        response: Any = client.rest_client.request(  # type: ignore[no-untyped-call]
            method_, url, headers=all_headers, body=serialized
        )
        data = response.read()
        response.response.release_conn()
        try:
            answer = json.loads(data) if data else {}
        except ValueError:
            answer = {"message": data[:200].decode("utf-8", "replace")}
        return int(response.status), answer if isinstance(answer, dict) else {}

    return await asyncio.to_thread(run)
