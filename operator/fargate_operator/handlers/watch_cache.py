"""Keep the watch cache (store.registry) in step with every watch event of the four kinds.

A relist (Kopf lists again when the watch's resourceVersion has expired, "410 Gone": kopf
1.45 `_cogs/clients/watching.py` `continuous_watch()` returns to `infinite_watch()`, which
lists anew) shows up here only as list events, `type` None, and never as DELETED for the
objects deleted while the watch was away. So after a relist the cache is compared with a
full metadata-only LIST, and what that LIST lacks is dropped (Registry.retain). The same
comparison runs every `cache_resync_interval` seconds too: a relist that lists nothing sends
no event at all.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf

from fargate_operator import k8s
from fargate_operator.models.kinds import GROUP, PLURALS, VERSION
from fargate_operator.runtime import Runtime, runtime_of

log = logging.getLogger(__name__)
RELIST_SETTLE = 2.0  # a relist's list events keep coming for a while: one LIST per burst


def _on_event(plural: str) -> None:
    @kopf.on.event(GROUP, VERSION, plural, id=f"watch-cache-{plural}")
    async def cache(type: str | None, body: Any, memo: Any, **_: Any) -> None:
        registry = runtime_of(memo).registry
        if type == "DELETED":
            registry.remove(body["kind"], body["metadata"]["namespace"], body["metadata"]["name"])
        else:
            registry.upsert(body)
            if type is None:
                registry.note_listed(body["kind"])


for _plural in PLURALS.values():
    _on_event(_plural)


async def resync(rt: Runtime, kind: str, namespaces: tuple[str, ...]) -> None:
    """Drop cached objects of `kind` that a fresh full LIST no longer has."""
    since = rt.registry.mark()
    gone = rt.registry.retain(kind, await k8s.list_names(kind, namespaces), since)
    if gone:
        names = ", ".join(f"{ns}/{name}" for ns, name in gone[:10])
        log.info("watch cache: dropped %d %s deleted while the watch was away: %s", len(gone), kind, names)


async def resync_forever(rt: Runtime, namespaces: tuple[str, ...], interval: float) -> None:
    while True:
        kinds = await rt.registry.relisted(interval)
        if not rt.registry.synced():
            continue
        if kinds:
            await asyncio.sleep(RELIST_SETTLE)
            kinds |= await rt.registry.relisted(0)
        for kind in sorted(kinds or PLURALS):
            try:
                await resync(rt, kind, namespaces)
            except Exception as exc:  # the API server away for a moment: next time
                log.warning("watch cache resync of %s failed: %s", kind, exc)
