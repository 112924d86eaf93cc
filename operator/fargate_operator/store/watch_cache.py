"""A watch cache of the four kinds, FargateAccounts, Namespaces and deleted objects' records (store/deleted.py).

Fed by store/feed.py: no API call per read.

Objects are keyed (namespace, name); a FargateAccount (cluster-scoped) by ("", name), and a
Namespace by (its name, its name), so that a watch of one namespace keeps and drops its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from fargate_operator.models.kinds import NAMESPACE

Key = tuple[str, str]  # (namespace, name)
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


INTERNED_UP_TO = 40  # characters: names, enums, short values; ARNs and UIDs stay the object's own


def compact(value: Any) -> Any:
    """A deep copy whose keys (and short strings) are shared across every object of the cache.

    Each watch event is decoded on its own, so each snapshot held its own copy of every key
    ("lastStatus", "taskDefinitionArn", ...): interned, 10,000 FargateTask snapshots take 5.9 KiB
    each instead of 9.2 (and the copy is quicker than copy.deepcopy).
    """
    if isinstance(value, Mapping):
        return {sys.intern(str(k)): compact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [compact(v) for v in value]
    if isinstance(value, str) and len(value) <= INTERNED_UP_TO:
        return sys.intern(value)
    return value


def key_of(kind: str, meta: Any) -> Key:
    name = str(meta["name"])
    return (name if kind == NAMESPACE else str(meta.get("namespace") or "")), name


class WatchCache:
    def __init__(self) -> None:
        self._objects: dict[str, dict[Key, dict[str, Any]]] = {}
        self._changed = asyncio.Event()
        self._synced = False
        # When each object was last upserted, as a running count (see retain()).
        self._seq = 0
        self._stamps: dict[str, dict[Key, int]] = {}

    def mark_synced(self) -> None:
        """Every kind (and watched namespace) has been listed once: the watches keep it current from here."""
        self._synced = True

    def synced(self) -> bool:
        """Whether the cache has once held everything the API server had (and so can be trusted whole)."""
        return self._synced

    def _bump(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def wait_changed(self, timeout: float) -> None:
        """Return after the next change (or the timeout); callers re-check their condition."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    def upsert(self, body: Any) -> None:
        meta = body["metadata"]
        # Kept: what the loops and adapters read. Dropped: managedFields, kubectl's copy of the
        # spec and Kopf's (status.kopf) -- together several times the size of the rest.
        metadata = {sys.intern(k): compact(v) for k, v in meta.items() if k != "managedFields"}
        if LAST_APPLIED in (metadata.get("annotations") or {}):
            metadata["annotations"] = {k: v for k, v in metadata["annotations"].items() if k != LAST_APPLIED}
        snapshot = {
            "apiVersion": body.get("apiVersion"),
            "kind": body["kind"],
            "metadata": metadata,
            "spec": compact(dict(body.get("spec") or {})),
            "status": {sys.intern(k): compact(v) for k, v in (body.get("status") or {}).items() if k != "kopf"},
        }
        if "data" in body:  # a ConfigMap (store/deleted.py): its records
            snapshot["data"] = dict(body.get("data") or {})
        progress = ((body.get("status") or {}).get("kopf") or {}).get("progress")
        if progress:
            # Only that a handler is mid-way (retrying), which drift detection must not judge against.
            snapshot["status"]["kopf"] = {"progress": compact(progress)}
        key = key_of(body["kind"], meta)
        self._objects.setdefault(body["kind"], {})[key] = snapshot
        self._seq += 1
        self._stamps.setdefault(body["kind"], {})[key] = self._seq
        self._bump()

    def remove(self, kind: str, namespace: str, name: str) -> None:
        self._objects.get(kind, {}).pop((namespace, name), None)
        self._stamps.get(kind, {}).pop((namespace, name), None)
        self._bump()

    def mark(self) -> int:
        """A point in the cache's history: take it just before a full LIST starts (see retain())."""
        return self._seq

    def retain(self, kind: str, listed: set[Key], since: int, namespace: str | None = None) -> list[Key]:
        """Drop objects of `kind` (in `namespace`, or all) that a full LIST, begun at mark `since`, lacks.

        A relist (the watch's resourceVersion expired: 410 Gone) brings no DELETED for objects
        deleted meanwhile, so only the full list shows they are gone. An object upserted after
        `since` is kept even when missing from the list: it may have been created after the
        list was taken (its deletion, if any, comes as a DELETED event). Returns what went.
        """
        stamps = self._stamps.get(kind, {})
        gone = [
            key
            for key in self._objects.get(kind, {})
            if key not in listed and stamps.get(key, 0) <= since and namespace in (None, key[0])
        ]
        for ns, name in gone:
            self.remove(kind, ns, name)
        return gone

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self._objects.get(kind, {}).get((namespace, name))

    def items(self, kind: str) -> Iterator[dict[str, Any]]:
        yield from list(self._objects.get(kind, {}).values())

    def in_namespace(self, kind: str, namespace: str) -> list[dict[str, Any]]:
        return [o for (ns, _), o in sorted(self._objects.get(kind, {}).items()) if ns == namespace]

    def count(self, kind: str) -> int:
        return len(self._objects.get(kind, {}))
