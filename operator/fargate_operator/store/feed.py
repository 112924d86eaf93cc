"""The watch cache's feed: a LIST, then a WATCH, per kind (and watched namespace), on threads of its own.

Every replica runs it, leader or follower, so the REST and MCP front doors answer from a
warm cache everywhere and a replica that takes the Lease over starts with one. Kopf runs
only on the leader (handlers/leadership.py) and keeps its own watch for its handlers.

The informer's contract: list (paged), then watch from the list's resourceVersion, with
bookmarks. When that resourceVersion has expired (410 Gone: the watch was away longer than
etcd keeps history), list again; the new list *replaces* what the cache held of that kind
and namespace, so objects deleted while the watch was away leave too (no DELETED event will
ever come for them). The cache counts as synced once every kind and namespace was listed.

Threads rather than coroutines: the client (kubeclient.py, urllib3) blocks, and a stream held open for
five minutes must not occupy one of the event loop's few executor threads. Events reach the
WatchCache on the event loop, in order, through call_soon_threadsafe.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from fargate_operator import kubeclient
from fargate_operator.kubeclient import ApiError, KubeClient
from fargate_operator.models.kinds import ACCOUNT, ACCOUNT_PLURAL, GROUP, NAMESPACE, PLURALS, VERSION
from fargate_operator.store import deleted
from fargate_operator.store.watch_cache import Key, WatchCache, key_of

log = logging.getLogger(__name__)

PAGE_SIZE = 500
SERVER_TIMEOUT = 300  # seconds a watch request lasts (then it is made again from where it was)
CLIENT_TIMEOUT = 330  # a silently dropped connection is noticed within this
CONNECT_TIMEOUT = 30
MAX_BACKOFF = 10.0
CRD_RECHECK_SECONDS = 60.0  # a missing FargateAccount CRD is looked for again this often


class Gone(Exception):
    """410: the resourceVersion (or continue token) expired; list again."""


def path_of(kind: str, namespace: str | None) -> str:
    if kind == NAMESPACE:  # one watched namespace: a field selector on the list (see _selector)
        return "/api/v1/namespaces"
    if kind == deleted.CONFIGMAP:  # the deleted objects' records, one ConfigMap per namespace
        return "/api/v1/" + (f"namespaces/{namespace}/" if namespace else "") + "configmaps"
    if kind == ACCOUNT:  # cluster-scoped
        return f"/apis/{GROUP}/{VERSION}/{ACCOUNT_PLURAL}"
    return f"/apis/{GROUP}/{VERSION}/" + (f"namespaces/{namespace}/" if namespace else "") + PLURALS[kind]


def _selector(kind: str, namespace: str | None) -> list[tuple[str, str]]:
    if kind == deleted.CONFIGMAP:
        return [("labelSelector", deleted.SELECTOR)]
    return [("fieldSelector", f"metadata.name={namespace}")] if kind == NAMESPACE and namespace else []


def _api_version(kind: str) -> str:
    return "v1" if kind in (NAMESPACE, deleted.CONFIGMAP) else f"{GROUP}/{VERSION}"


class CacheFeed:
    def __init__(
        self,
        cache: WatchCache,
        namespaces: tuple[str, ...],
        client_factory: Callable[[], KubeClient],
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.cache = cache
        scopes: tuple[str | None, ...] = namespaces or (None,)
        # The four kinds and the deleted objects' records per watched namespace (or all). FargateAccounts
        # and Namespaces cluster-wide, even with watched namespaces: which FargateAccount serves a namespace
        # depends on every FargateAccount and every namespace's labels, and operators watching different
        # namespaces must agree on it.
        self._streams: list[tuple[str, str | None]] = [
            *((k, ns) for k in (*PLURALS, deleted.CONFIGMAP) for ns in scopes),
            (NAMESPACE, None),
            (ACCOUNT, None),
        ]
        self._client_factory = client_factory
        self._page_size = page_size
        self._stop = threading.Event()
        self._unlisted = set(self._streams)  # (kind, namespace) not listed even once yet
        self._since: dict[tuple[str, str | None], int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> CacheFeed:
        self._loop = loop
        client = self._client_factory()
        for kind, namespace in self._streams:
            name = f"watch-{kind.lower()}" + (f"-{namespace}" if namespace else "")
            threading.Thread(target=self._run, args=(client, kind, namespace), name=name, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()  # the threads are daemons: a read blocked on a quiet stream ends with the process

    # -- on the event loop ------------------------------------------------------------------

    def _post(self, fn: Callable[..., None], *args: Any) -> None:
        assert self._loop is not None
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(fn, *args)

    def _page(self, kind: str, namespace: str | None, items: list[dict[str, Any]], first: bool) -> None:
        if first:
            self._since[(kind, namespace)] = self.cache.mark()
        for item in items:
            self.cache.upsert(item)

    def _listed(self, kind: str, namespace: str | None, listed: set[Key]) -> None:
        gone = self.cache.retain(kind, listed, self._since.pop((kind, namespace)), namespace=namespace)
        if gone and (kind, namespace) not in self._unlisted:
            names = ", ".join(f"{ns}/{name}" for ns, name in gone[:10])
            log.info("watch cache: dropped %d %s deleted while the watch was away: %s", len(gone), kind, names)
        self._unlisted.discard((kind, namespace))
        if not self._unlisted:
            self.cache.mark_synced()

    def _listed_empty(self, kind: str, namespace: str | None) -> None:
        self._since[(kind, namespace)] = self.cache.mark()
        self._listed(kind, namespace, set())

    def _event(self, kind: str, type_: str, obj: dict[str, Any]) -> None:
        if type_ == "DELETED":
            self.cache.remove(kind, *key_of(kind, obj["metadata"]))
        else:
            self.cache.upsert({**obj, "kind": kind})

    # -- on the stream's thread -----------------------------------------------------------------

    def _run(self, client: KubeClient, kind: str, namespace: str | None) -> None:
        version: str | None = None
        backoff = 0.5
        said_no_crd = False
        while not self._stop.is_set():
            try:
                if version is None:
                    version = self._list(client, kind, namespace)
                version = self._watch(client, kind, namespace, version)
                backoff = 0.5
            except Gone:
                version = None  # list again, at once
            except Exception as exc:  # the API server away, a dropped connection: the same version again
                if isinstance(exc, ApiError) and exc.status == 404 and kind == ACCOUNT:
                    # No FargateAccount CRD (`helm upgrade` installs no new CRD): none, until it exists.
                    if not said_no_crd:
                        log.warning(
                            "watch cache: the API server has no FargateAccount kind (apply the chart's crds/): "
                            "every namespace acts with the operator's own identity until it has"
                        )
                        said_no_crd = True
                    self._post(self._listed_empty, kind, namespace)
                    self._stop.wait(CRD_RECHECK_SECONDS)
                    continue
                if isinstance(exc, ApiError) and exc.status == 403 and kind == deleted.CONFIGMAP:
                    # A chart from before the records (no RBAC for ConfigMaps): none, rather than never synced.
                    if not said_no_crd:
                        log.warning(
                            "watch cache: may not watch ConfigMaps (upgrade the chart's RBAC): "
                            "deleted objects answer MISSING at once instead of INACTIVE/STOPPED"
                        )
                        said_no_crd = True
                    self._post(self._listed_empty, kind, namespace)
                    self._stop.wait(CRD_RECHECK_SECONDS)
                    continue
                log.warning("watch cache: %s%s: %s", kind, f" in {namespace}" if namespace else "", exc)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)

    def _get(self, client: KubeClient, path: str, query: list[tuple[str, str]], read: float) -> Any:
        response = client.request("GET", path, query=query, timeout=(CONNECT_TIMEOUT, read), stream=True)
        if response.status >= 400:
            error = kubeclient.error_of(response)  # reads the body: the API server's message
            response.release_conn()
            if response.status == 410:
                raise Gone()
            raise error
        return response

    def _list(self, client: KubeClient, kind: str, namespace: str | None) -> str:
        """List every object (paged) into the cache; returns the list's resourceVersion."""
        path, token, first = path_of(kind, namespace), None, True
        listed: set[Key] = set()
        while True:
            query = [("limit", str(self._page_size)), *_selector(kind, namespace)]
            query += [("continue", token)] if token else []
            response = self._get(client, path, query, CLIENT_TIMEOUT)
            page = json.loads(response.read())
            response.release_conn()
            items = [{**item, "kind": kind, "apiVersion": _api_version(kind)} for item in page.get("items", [])]
            listed.update(key_of(kind, i["metadata"]) for i in items)
            self._post(self._page, kind, namespace, items, first)
            first = False
            meta = page.get("metadata") or {}
            token = meta.get("continue") or None
            if not token:
                self._post(self._listed, kind, namespace, listed)
                return str(meta["resourceVersion"])

    def _watch(self, client: KubeClient, kind: str, namespace: str | None, version: str) -> str:
        """Apply watch events until the server ends the stream; returns the last resourceVersion seen."""
        query = [
            ("watch", "true"),
            ("resourceVersion", version),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(SERVER_TIMEOUT)),
            *_selector(kind, namespace),
        ]
        response = self._get(client, path_of(kind, namespace), query, CLIENT_TIMEOUT)
        try:
            for line in kubeclient.lines(response):
                if self._stop.is_set():
                    break
                event = json.loads(line)
                type_, obj = event.get("type"), event.get("object") or {}
                if type_ == "ERROR":
                    if obj.get("code") == 410:
                        raise Gone()
                    raise ApiError(int(obj.get("code") or 0), str(obj.get("message")))
                version = str(obj.get("metadata", {}).get("resourceVersion") or version)
                if type_ in ("ADDED", "MODIFIED", "DELETED"):
                    self._post(self._event, kind, type_, obj)
        finally:
            response.close()
            response.release_conn()
        return version
