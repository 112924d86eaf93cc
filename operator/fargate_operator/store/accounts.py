"""Which FargateAccount serves a namespace, read from the watch cache (FargateAccounts and Namespace labels).

Every replica answers from its own cache (the handlers, the status loop and both adapters ask);
the parsed FargateAccounts are kept until one of them changes (resourceVersion). A Namespace the
cache does not hold resolves to "waiting" while any FargateAccount selects by label
(reconcile/accounts.py resolve); handlers wait for it a moment (wait_seen).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fargate_operator.models.accounts import AccountMapping
from fargate_operator.models.kinds import ACCOUNT, NAMESPACE
from fargate_operator.reconcile.accounts import MappingInvalid, Resolution, parse_mapping, resolve
from fargate_operator.store.watch_cache import WatchCache

log = logging.getLogger(__name__)


class Accounts:
    def __init__(self, cache: WatchCache) -> None:
        self._cache = cache
        self._versions: tuple[tuple[str, str], ...] = ()
        self._mappings: list[AccountMapping] = []
        self._invalid: dict[str, str] = {}

    def _refresh(self) -> None:
        objs = list(self._cache.items(ACCOUNT))
        versions = tuple(sorted((o["metadata"]["name"], str(o["metadata"].get("resourceVersion"))) for o in objs))
        if versions == self._versions:
            return
        mappings, invalid = [], {}
        for obj in objs:
            try:
                mappings.append(parse_mapping(obj))
            except MappingInvalid as exc:
                invalid[obj["metadata"]["name"]] = str(exc)
                log.warning("%s", exc)
        self._versions, self._mappings, self._invalid = versions, mappings, invalid

    def mappings(self) -> list[AccountMapping]:
        self._refresh()
        return list(self._mappings)

    def invalid(self) -> dict[str, str]:
        """FargateAccount name -> why the operator cannot use it (it serves nobody meanwhile)."""
        self._refresh()
        return dict(self._invalid)

    def labels(self, namespace: str) -> dict[str, str] | None:
        """The namespace's labels, None when the cache does not hold the Namespace."""
        obj: dict[str, Any] | None = self._cache.get(NAMESPACE, namespace, namespace)
        if obj is None:
            return None
        return dict(obj["metadata"].get("labels") or {})

    async def wait_seen(self, namespace: str, timeout: float) -> bool:
        """Until the cache holds the Namespace (True) or `timeout` seconds passed (False)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.labels(namespace) is None:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return False
            await self._cache.wait_changed(left)
        return True

    def namespaces(self) -> dict[str, dict[str, str]]:
        """Every Namespace the cache holds, with its labels."""
        return {o["metadata"]["name"]: dict(o["metadata"].get("labels") or {}) for o in self._cache.items(NAMESPACE)}

    def resolve(self, namespace: str) -> Resolution:
        return resolve(namespace, self.labels(namespace), self.mappings())
