"""FargateAccount status, on the leader: which namespaces each serves, conflicts, and whether its role works.

Every POLL_SECONDS, from the watch cache (FargateAccounts and Namespace labels): each FargateAccount's
served namespaces and conflicts (reconcile/accounts.py served_table), its role checked and its verdict
reached by controllers/account.py; the status writer writes only what changed, onto the resourceVersion
it was judged from.
"""

from __future__ import annotations

import asyncio
import logging

from fargate_operator.controllers import account as controller
from fargate_operator.models.kinds import ACCOUNT
from fargate_operator.reconcile.accounts import served_table
from fargate_operator.runtime import Runtime
from fargate_operator.status import writer
from fargate_operator.status.precedence import Source, Update

log = logging.getLogger(__name__)
POLL_SECONDS = 2.0


async def write_statuses(rt: Runtime, checks: controller.CredentialChecks) -> int:
    """Write every FargateAccount status that changed; returns how many were written."""
    mappings = {m.name: m for m in rt.accounts.mappings()}
    invalid = rt.accounts.invalid()
    table = served_table(list(mappings.values()), rt.accounts.namespaces())
    written = 0
    for obj in rt.watch_cache.items(ACCOUNT):
        name = obj["metadata"]["name"]
        mapping = mappings.get(name)
        problem = invalid.get(name) or (await checks.observe(mapping) if mapping else None)
        observed, verdict = controller.status_of(mapping, table.get(name), problem)
        if (mapping and mapping.event_queues) or (obj.get("status") or {}).get("eventQueues"):
            # Its queues of ECS events, as the event consumer last found them (handlers/event_status.py).
            observed["eventQueues"] = rt.modes.account_status(name)
        # This loop is the only writer of an account's status and judges its spec: it speaks as the kind's
        # handler (its verdict always stands, stamped with metadata.generation; status/precedence.py).
        update = Update(Source.HANDLER, verdict, observed, generation=obj["metadata"].get("generation"))
        written += await writer.write(obj, update)
    return written


async def watch_accounts(rt: Runtime, poll: float = POLL_SECONDS) -> None:
    checks = controller.CredentialChecks(rt.gateways.check_credentials)
    while True:
        try:
            if rt.watch_cache.synced():
                await write_statuses(rt, checks)
        except Exception:
            log.exception("FargateAccount status update failed")
        await asyncio.sleep(poll)
