"""A watch cache of the four kinds, fed by Kopf's watch events (no API call per read)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import Iterator
from typing import Any

Key = tuple[str, str]  # (namespace, name)


class Registry:
    def __init__(self) -> None:
        self._objects: dict[str, dict[Key, dict[str, Any]]] = {}
        self._changed = asyncio.Event()

    def _bump(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def wait_changed(self, timeout: float) -> None:
        """Return after the next change (or the timeout); callers re-check their condition."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    def upsert(self, body: Any) -> None:
        meta = body["metadata"]
        snapshot = {
            "apiVersion": body.get("apiVersion"),
            "kind": body["kind"],
            "metadata": copy.deepcopy(dict(meta)),
            "spec": copy.deepcopy(dict(body.get("spec") or {})),
            "status": copy.deepcopy(dict(body.get("status") or {})),
        }
        self._objects.setdefault(body["kind"], {})[(meta["namespace"], meta["name"])] = snapshot
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
