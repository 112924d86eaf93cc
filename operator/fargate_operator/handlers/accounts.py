"""FargateAccount status, on the leader: which namespaces each serves, conflicts, and whether its role works.

Every POLL_SECONDS, from the watch cache (FargateAccounts and Namespace labels): each FargateAccount's
served namespaces and conflicts (reconcile/accounts.py served_table), its role checked and its status
planned by controllers/account.py; only changed statuses are written.
"""

from __future__ import annotations

import asyncio
import logging

from fargate_operator import k8s
from fargate_operator.controllers import account as controller
from fargate_operator.models.kinds import ACCOUNT
from fargate_operator.reconcile.accounts import served_table
from fargate_operator.runtime import Runtime

log = logging.getLogger(__name__)
POLL_SECONDS = 2.0


async def write_statuses(rt: Runtime, checks: controller.CredentialChecks) -> int:
    """Write every FargateAccount status that changed; returns how many were written."""
    mappings = {m.name: m for m in rt.accounts.mappings()}
    invalid = rt.accounts.invalid()
    table = served_table(list(mappings.values()), rt.accounts.namespaces())
    written = 0
    for obj in rt.registry.items(ACCOUNT):
        name = obj["metadata"]["name"]
        mapping = mappings.get(name)
        problem = invalid.get(name) or (await checks.observe(mapping) if mapping else None)
        new = controller.plan(obj, mapping, table.get(name), problem)
        if new is not None:
            await k8s.patch_status(ACCOUNT, "", name, new, obj["metadata"].get("resourceVersion"))
            written += 1
    return written


async def watch_accounts(rt: Runtime, poll: float = POLL_SECONDS) -> None:
    checks = controller.CredentialChecks(rt.gateways.check_credentials)
    while True:
        try:
            if rt.registry.synced():
                await write_statuses(rt, checks)
        except Exception:
            log.exception("FargateAccount status update failed")
        await asyncio.sleep(poll)
