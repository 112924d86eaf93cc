"""A watch cache of the four kinds, fed by Kopf's watch events (no API call per read)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

Key = tuple[str, str]  # (namespace, name)


class Registry:
    def __init__(self) -> None:
        self._objects: dict[str, dict[Key, dict[str, Any]]] = {}

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

    def remove(self, kind: str, namespace: str, name: str) -> None:
        self._objects.get(kind, {}).pop((namespace, name), None)

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self._objects.get(kind, {}).get((namespace, name))

    def items(self, kind: str) -> Iterator[dict[str, Any]]:
        yield from list(self._objects.get(kind, {}).values())

    def update_status(self, kind: str, namespace: str, name: str, status: dict[str, Any]) -> None:
        obj = self.get(kind, namespace, name)
        if obj is not None:
            obj["status"] = {**obj.get("status", {}), **copy.deepcopy(status)}

    def count(self, kind: str) -> int:
        return len(self._objects.get(kind, {}))
