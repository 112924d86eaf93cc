"""Every status patch goes through here: a handler's, into Kopf's patch; the status loop's, patched conditionally.

Two write paths, one composition (status/precedence.py):
- A Kopf handler hands over Kopf's own patch (`into_patch`). Kopf writes it once the handler
  returns, together with its bookkeeping (status.kopf): a patch of our own would be a second
  write for the same news. Kopf runs one handler per object at a time on the newest body it
  has seen, and the loop's conditional patch (below) yields to it, so the handler's write
  needs no precondition of its own.
- The status loop patches itself (`write`), only when something changed and only onto the
  resourceVersion it computed from: its snapshot is taken before (paced, possibly slow)
  describes, and a handler may have written since -- the 409 makes the loop look again next
  cycle instead of overwriting a newer verdict.
Events on the objects go through `event`, so what is said about an object has one door too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import kopf

from fargate_operator import k8s
from fargate_operator.kubeclient import ApiError
from fargate_operator.models.verdict import Verdict
from fargate_operator.status.precedence import DriftVerdict, Source, Update, changed, compose, first_drift

log = logging.getLogger(__name__)


def into_patch(
    patch: kopf.Patch,
    status: Mapping[str, Any],
    verdict: Verdict | None,
    *,
    generation: int | None,
    drift: DriftVerdict | None = None,
) -> None:
    """A handler's verdict on `generation` into Kopf's patch (None: only "this generation was seen")."""
    patch.status.update(compose(status, Update(Source.HANDLER, verdict, drift=drift, generation=generation)))


def drift_in_sync(body: Mapping[str, Any], status: Mapping[str, Any]) -> DriftVerdict | None:
    """The first drift verdict of an object whose handler has just brought ECS to its spec (see first_drift):
    it rides on the handler's write, so drift's first look finds it recorded and writes nothing."""
    seed = first_drift(str(body.get("kind")), body.get("spec") or {}, status, time.time())
    # Without its nulls: the merge patch would drop them anyway, and Kopf takes a null it does not find
    # stored back for a patch that did not apply (a warning in the log).
    return seed and replace(seed, drift={k: v for k, v in seed.drift.items() if v is not None})


async def write(obj: dict[str, Any], update: Update) -> bool:
    """A loop's patch of `obj`, if it changes anything, onto `obj`'s resourceVersion; True when written.

    The status loop's, and the FargateAccount loop's (handlers/accounts.py): a FargateAccount is
    cluster-scoped, so an object without a namespace is patched without one. The watch cache learns
    the new status from the watch itself, in order.
    """
    meta = obj["metadata"]
    patch = compose(obj.get("status") or {}, update)
    if not changed(obj.get("status") or {}, patch):
        return False
    namespace = meta.get("namespace") or ""
    try:
        return await k8s.patch_status(obj["kind"], namespace, meta["name"], patch, meta.get("resourceVersion"))
    except ApiError as exc:  # this object's write only: the loop goes on with the others
        where = f"{namespace}/{meta['name']}" if namespace else meta["name"]
        log.warning("status write: %s %s: %s %s", obj["kind"], where, exc.status, exc.reason)
        return False


async def event(obj: Mapping[str, Any], reason: str, message: str, *, warning: bool = False) -> None:
    """An Event on the object (events.k8s.io/v1): what a status change alone does not tell."""
    await k8s.post_event(dict(obj), reason, message, warning=warning)
