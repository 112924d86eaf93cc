"""FargateAccount status, on the leader: which namespaces each serves, conflicts, and whether its role works.

Every POLL_SECONDS, from the watch cache (FargateAccounts and Namespace labels): each FargateAccount's
served namespaces and conflicts (reconcile/accounts.py served_table), its account id, and a Ready
condition -- False for a conflict (naming the other FargateAccount and the namespace, whose objects
wait), an unusable spec, or a role that cannot be assumed (the STS error, naming the role). The role
is tried once per credential change (the session it makes is the one ECS calls then use; a failed
one is tried again every RECHECK_SECONDS). Only changed statuses are written.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from fargate_operator import k8s
from fargate_operator.ecs.gateways import credential_key
from fargate_operator.models.accounts import AccountMapping
from fargate_operator.models.kinds import ACCOUNT
from fargate_operator.reconcile import conditions
from fargate_operator.reconcile.accounts import Served, served_table
from fargate_operator.runtime import Runtime

log = logging.getLogger(__name__)
POLL_SECONDS = 2.0
RECHECK_SECONDS = 60.0


class CredentialChecks:
    """The last sts:AssumeRole verdict per FargateAccount credential settings: None when it worked."""

    def __init__(self) -> None:
        self._verdicts: dict[Any, tuple[float, str | None]] = {}

    async def verdict(self, rt: Runtime, mapping: AccountMapping) -> str | None:
        if mapping.role_arn is None:
            return None  # the operator's own identity: nothing to assume
        key = credential_key(mapping)
        kept = self._verdicts.get(key)
        if kept is not None and (kept[1] is None or time.monotonic() - kept[0] < RECHECK_SECONDS):
            return kept[1]
        found = await asyncio.to_thread(rt.gateways.check_credentials, mapping)
        self._verdicts[key] = (time.monotonic(), found)
        return found


def desired_status(
    obj: dict[str, Any], mapping: AccountMapping | None, served: Served | None, problem: str | None
) -> dict[str, Any]:
    """The status one FargateAccount should show."""
    meta, status = obj["metadata"], obj.get("status") or {}
    generation = meta.get("generation")
    served = served or Served()
    if problem:
        ready, reason, message = False, "Invalid" if mapping is None else "AssumeRoleFailed", problem
    elif served.conflicts:
        ready, reason = False, "Conflict"
        message = "; ".join(
            f"namespace {ns} is also claimed by {', '.join(others)}: served by neither, its objects wait"
            for ns, others in sorted(served.conflicts.items())
        )
    else:
        ready, reason = True, "Serving"
        message = f"serves {len(served.namespaces)} namespace(s)" + (
            f": {', '.join(served.namespaces[:20])}" if served.namespaces else ""
        )
    return {
        "observedGeneration": generation,
        "accountId": mapping.account_id if mapping else None,
        "namespaces": served.namespaces,
        "conflicts": [{"namespace": ns, "with": others} for ns, others in sorted(served.conflicts.items())],
        "conditions": conditions.summarize(
            status.get("conditions"),
            ready=ready,
            progressing=False,
            degraded=not ready,
            reason=reason,
            message=message,
            generation=generation,
        ),
    }


def _changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return any(
        (not conditions.same_conditions(old.get(k), v)) if k == "conditions" else old.get(k) != v
        for k, v in new.items()
    )


async def write_statuses(rt: Runtime, checks: CredentialChecks) -> int:
    """Write every FargateAccount status that changed; returns how many were written."""
    mappings = {m.name: m for m in rt.accounts.mappings()}
    invalid = rt.accounts.invalid()
    table = served_table(list(mappings.values()), rt.accounts.namespaces())
    written = 0
    for obj in rt.registry.items(ACCOUNT):
        name = obj["metadata"]["name"]
        mapping = mappings.get(name)
        problem = invalid.get(name) or (await checks.verdict(rt, mapping) if mapping else None)
        new = desired_status(obj, mapping, table.get(name), problem)
        if _changed(obj.get("status") or {}, new):
            await k8s.patch_status(ACCOUNT, "", name, new, obj["metadata"].get("resourceVersion"))
            written += 1
    return written


async def watch_accounts(rt: Runtime, poll: float = POLL_SECONDS) -> None:
    checks = CredentialChecks()
    while True:
        try:
            if rt.registry.synced():
                await write_statuses(rt, checks)
        except Exception:
            log.exception("FargateAccount status update failed")
        await asyncio.sleep(poll)
