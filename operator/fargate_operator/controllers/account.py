"""FargateAccount: observe whether its role can be assumed, judge what its status should say.

A FargateAccount makes nothing in ECS: its "act" is its status (which namespaces it serves, the
conflicts, the account id, a Ready condition), written by handlers/accounts.py's loop on the
leader through the status writer. What the role check says and what the status says are decided here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from typing import Any

from fargate_operator.controllers.base import Verdict
from fargate_operator.ecs.gateways import credential_key
from fargate_operator.models.accounts import AccountMapping
from fargate_operator.reconcile.accounts import Served

RECHECK_SECONDS = 60.0
NAMESPACES_NAMED = 20  # in the Ready message; status.namespaces lists them all

# Blocking: make the session the mapping's gateways sign with; None when it works, else why not
# (ecs/gateways.py Gateways.check_credentials).
Check = Callable[[AccountMapping], str | None]


class CredentialChecks:
    """The last sts:AssumeRole verdict per FargateAccount credential settings: None when it worked.

    Tried once per credential change (the session it makes is the one ECS calls then use); a failed
    one is tried again every `recheck` seconds.
    """

    def __init__(self, check: Check, recheck: float = RECHECK_SECONDS, clock: Callable[[], float] = time.monotonic):
        self._check, self._recheck, self._clock = check, recheck, clock
        self._verdicts: dict[Hashable, tuple[float, str | None]] = {}

    async def observe(self, mapping: AccountMapping) -> str | None:
        if mapping.role_arn is None:
            return None  # the operator's own identity: nothing to assume
        key = credential_key(mapping)
        kept = self._verdicts.get(key)
        if kept is not None and (kept[1] is None or self._clock() - kept[0] < self._recheck):
            return kept[1]
        found = await asyncio.to_thread(self._check, mapping)
        self._verdicts[key] = (self._clock(), found)
        return found


def verdict(mapping: AccountMapping | None, served: Served | None, problem: str | None) -> Verdict:
    """Ready while it serves its namespaces; not for an unusable spec (`mapping` None), a role that cannot
    be assumed, or a namespace another FargateAccount claims too (named, with the other account)."""
    served = served or Served()
    if problem:
        return Verdict(False, False, True, "Invalid" if mapping is None else "AssumeRoleFailed", problem)
    if served.conflicts:
        message = "; ".join(
            f"namespace {ns} is also claimed by {', '.join(others)}: served by neither, its objects wait"
            for ns, others in sorted(served.conflicts.items())
        )
        return Verdict(False, False, True, "Conflict", message)
    named = f": {', '.join(served.namespaces[:NAMESPACES_NAMED])}" if served.namespaces else ""
    return Verdict(True, False, False, "Serving", f"serves {len(served.namespaces)} namespace(s){named}")


def status_of(
    mapping: AccountMapping | None, served: Served | None, problem: str | None
) -> tuple[dict[str, Any], Verdict]:
    """The members one FargateAccount's status shows besides its conditions, and the verdict on it."""
    served = served or Served()
    observed = {
        "accountId": mapping.account_id if mapping else None,
        "namespaces": served.namespaces,
        "conflicts": [{"namespace": ns, "with": others} for ns, others in sorted(served.conflicts.items())],
    }
    return observed, verdict(mapping, served, problem)
