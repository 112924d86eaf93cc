"""Keep the watch cache (store.registry) in step with every watch event of the four kinds."""

from __future__ import annotations

from typing import Any

import kopf

from fargate_operator.models.kinds import GROUP, PLURALS, VERSION
from fargate_operator.runtime import runtime_of


def _on_event(plural: str) -> None:
    @kopf.on.event(GROUP, VERSION, plural, id=f"watch-cache-{plural}")
    async def cache(type: str | None, body: Any, memo: Any, **_: Any) -> None:
        registry = runtime_of(memo).registry
        if type == "DELETED":
            registry.remove(body["kind"], body["metadata"]["namespace"], body["metadata"]["name"])
        else:
            registry.upsert(body)


for _plural in PLURALS.values():
    _on_event(_plural)
