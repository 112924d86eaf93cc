"""The operator's own Kubernetes writes outside Kopf handlers: status patches, events, annotations.

Kopf writes what handlers put in `patch`; the background status loops and
cross-object triggers use these, on worker threads (the client is blocking).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import uuid
from typing import Any

import kubernetes
from prometheus_client import Counter

from fargate_operator.models.kinds import GROUP, VERSION, plural_of

log = logging.getLogger(__name__)
K8S_WRITES = Counter("fargate_operator_k8s_writes_total", "Kubernetes writes made outside Kopf", ["verb"])

_api: kubernetes.client.ApiClient | None = None


def configure(kubeconfig: str | None = None) -> None:
    global _api
    if kubeconfig:
        cfg = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)  # type: ignore[no-untyped-call]
    else:
        try:
            kubernetes.config.load_incluster_config()  # type: ignore[no-untyped-call]
        except kubernetes.config.ConfigException:
            kubernetes.config.load_kube_config()  # type: ignore[no-untyped-call]
        cfg = kubernetes.client.Configuration.get_default_copy()
    _api = kubernetes.client.ApiClient(cfg)


def api() -> kubernetes.client.ApiClient:
    if _api is None:
        configure()
    assert _api is not None
    return _api


def _custom() -> kubernetes.client.CustomObjectsApi:
    return kubernetes.client.CustomObjectsApi(api())


async def patch_status(kind: str, namespace: str, name: str, status: dict[str, Any]) -> None:
    def run() -> None:
        try:
            _custom().patch_namespaced_custom_object_status(
                GROUP, VERSION, namespace, plural_of(kind), name, {"status": status}
            )
            K8S_WRITES.labels("patch_status").inc()
        except kubernetes.client.ApiException as exc:
            if exc.status != 404:  # deleted meanwhile: nothing to report on
                raise

    await asyncio.to_thread(run)


async def patch_annotations(kind: str, namespace: str, name: str, annotations: dict[str, str]) -> None:
    def run() -> None:
        try:
            _custom().patch_namespaced_custom_object(
                GROUP, VERSION, namespace, plural_of(kind), name, {"metadata": {"annotations": annotations}}
            )
            K8S_WRITES.labels("patch_annotations").inc()
        except kubernetes.client.ApiException as exc:
            if exc.status != 404:
                raise

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
            _custom().delete_namespaced_custom_object(GROUP, VERSION, namespace, plural_of(kind), name)
            K8S_WRITES.labels("delete").inc()
        except kubernetes.client.ApiException as exc:
            if exc.status != 404:
                raise

    await asyncio.to_thread(run)


async def post_event(body: dict[str, Any], reason: str, message: str, warning: bool = False) -> None:
    """A core/v1 Event on the object (what `kubectl describe` and `kubectl events` show)."""
    meta = body["metadata"]
    now = datetime.datetime.now(datetime.UTC)
    event = kubernetes.client.CoreV1Event(
        metadata=kubernetes.client.V1ObjectMeta(name=f"{meta['name']}.{uuid.uuid4().hex[:12]}"),
        involved_object=kubernetes.client.V1ObjectReference(
            api_version=f"{GROUP}/{VERSION}",
            kind=body["kind"],
            name=meta["name"],
            namespace=meta["namespace"],
            uid=meta.get("uid"),
        ),
        reason=reason,
        message=message[:1024],
        type="Warning" if warning else "Normal",
        source=kubernetes.client.V1EventSource(component="fargate-operator"),
        first_timestamp=now,
        last_timestamp=now,
        count=1,
        reporting_component="fargate-operator",
        reporting_instance="fargate-operator",
    )

    def run() -> None:
        try:
            kubernetes.client.CoreV1Api(api()).create_namespaced_event(meta["namespace"], event)
            K8S_WRITES.labels("event").inc()
        except kubernetes.client.ApiException as exc:
            log.warning("could not post event %s on %s/%s: %s", reason, meta["namespace"], meta["name"], exc.reason)

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
    def run() -> list[dict[str, Any]]:
        core = kubernetes.client.CoreV1Api(api())
        items = core.list_namespaced_secret(namespace, label_selector=label_selector).items
        return [api().sanitize_for_serialization(s) for s in items]  # type: ignore[no-untyped-call]

    return await asyncio.to_thread(run)
