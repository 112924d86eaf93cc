"""A watch cache of the four kinds, fed by Kopf's watch events (no API call per read)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import Iterator
from typing import Any

Key = tuple[str, str]  # (namespace, name)
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


class Registry:
    def __init__(self) -> None:
        self._objects: dict[str, dict[Key, dict[str, Any]]] = {}
        self._changed = asyncio.Event()
        self._synced = False

    def catches_up_with(self, counts: dict[str, int]) -> bool:
        """Whether the cache holds at least `counts` (the API server's, taken now) of each kind.

        Once it has, it counts as synced for good: the watch keeps it current from then on.
        """
        if not self._synced and all(self.count(kind) >= n for kind, n in counts.items()):
            self._synced = True
        return self._synced

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
        metadata = {k: copy.deepcopy(v) for k, v in meta.items() if k != "managedFields"}
        if LAST_APPLIED in (metadata.get("annotations") or {}):
            metadata["annotations"] = {k: v for k, v in metadata["annotations"].items() if k != LAST_APPLIED}
        snapshot = {
            "apiVersion": body.get("apiVersion"),
            "kind": body["kind"],
            "metadata": metadata,
            "spec": copy.deepcopy(dict(body.get("spec") or {})),
            "status": {k: copy.deepcopy(v) for k, v in (body.get("status") or {}).items() if k != "kopf"},
        }
        key = (meta["namespace"], meta["name"])
        self._objects.setdefault(body["kind"], {})[key] = snapshot
        self._bump()

    def remove(self, kind: str, namespace: str, name: str) -> None:
        self._objects.get(kind, {}).pop((namespace, name), None)
        self._bump()

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self._objects.get(kind, {}).get((namespace, name))

    def items(self, kind: str) -> Iterator[dict[str, Any]]:
        yield from list(self._objects.get(kind, {}).values())

    def in_namespace(self, kind: str, namespace: str) -> list[dict[str, Any]]:
        return [o for (ns, _), o in sorted(self._objects.get(kind, {}).items()) if ns == namespace]

    def count(self, kind: str) -> int:
        return len(self._objects.get(kind, {}))
