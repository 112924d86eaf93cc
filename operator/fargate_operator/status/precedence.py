"""One status patch from its three sources, with one precedence: pure, so every rule is unit-tested.

The sources: a Kopf handler's verdict (it just applied, or failed to apply, the spec of this
generation), the status loop's observation (what ECS says now, handlers/refresh.py) and drift's
verdict (ECS judged against the spec, handlers/drift.py). Who wins, per member of status:

| status member                | handler                         | status loop                         | drift       |
|------------------------------|---------------------------------|-------------------------------------|-------------|
| Ready, Progressing, Degraded | always wins                     | wins, unless a handler's Degraded   | never       |
|                              |                                 | holds (reason not in OBSERVED_      |             |
|                              |                                 | DEGRADED_REASONS): then left alone  |             |
| observedGeneration           | metadata.generation             | never (stamps conditions with it)   | never       |
| Drifted, status.drift        | the first verdict only: InSync, | never                               | always wins |
|                              | when it applied the spec of a   |                                     |             |
|                              | managed object with no verdict  |                                     |             |
|                              | yet (ECS was just made to match)|                                     |             |
| observed members (phase,     | as given                        | as given, even while a handler's    | members a   |
| ARNs, counts, ...)           |                                 | Degraded holds                      | correction  |
|                              |                                 |                                     | remade      |

A handler's Degraded is its verdict on the spec (an ECS error applying it): the loop, which only
sees ECS, cannot clear it; a handler does, on the next generation. The loop's own Degraded reasons
(a failed rollout, a missing service) are observations and the loop clears them itself.
The drift seed is what lets a new object cost one status write: drift's first look finds the same
verdict already recorded and writes nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fargate_operator.models.kinds import CLUSTER, SERVICE, TASK_DEFINITION
from fargate_operator.models.verdict import Verdict
from fargate_operator.reconcile import conditions, merge_patch
from fargate_operator.reconcile.drift import policy
from fargate_operator.reconcile.drift import verdict as drift_verdict

DriftVerdict = drift_verdict.Verdict
# The kinds whose ECS resource drift judges (handlers/drift.py); a FargateTask runs once, nothing drifts.
DRIFT_KINDS = frozenset({SERVICE, CLUSTER, TASK_DEFINITION})


class Source(enum.Enum):
    HANDLER = "handler"  # a Kopf handler, writing through Kopf's patch
    LOOP = "loop"  # the status loop, patching on its own


@dataclass(frozen=True)
class Update:
    """What one source has to say about one object."""

    source: Source
    verdict: Verdict | None = None  # the three conditions; None: leave them as they are
    observed: Mapping[str, Any] = field(default_factory=dict)  # status members as observed or applied
    drift: DriftVerdict | None = None  # drift's verdict, when it judged this time
    generation: int | None = None  # a handler's: metadata.generation it applied (or failed to)


def handler_degraded_holds(current: Mapping[str, Any]) -> bool:
    """A Degraded condition a handler set (not one the loop derives from ECS) is True."""
    held = conditions.held_degraded(current.get("conditions"))
    return held is not None and held not in conditions.OBSERVED_DEGRADED_REASONS


def compose(current: Mapping[str, Any], update: Update) -> dict[str, Any]:
    """The status patch `update` makes on an object whose status is `current` (the table above)."""
    out: dict[str, Any] = dict(update.observed)
    conds = current.get("conditions")
    if update.source is Source.HANDLER:
        generation = update.generation
        out["observedGeneration"] = generation
        if update.verdict is None:  # nothing new to say: this generation was seen all the same
            if current.get("observedGeneration") != generation:
                out["conditions"] = [{**c, "observedGeneration": generation} for c in conds or []]
            else:
                out.pop("observedGeneration")
    else:
        generation = current.get("observedGeneration")
    if update.verdict is not None and (update.source is Source.HANDLER or not handler_degraded_holds(current)):
        v = update.verdict
        conds = out["conditions"] = conditions.summarize(
            conds,
            ready=v.ready,
            progressing=v.progressing,
            degraded=v.degraded,
            reason=v.reason,
            message=v.message,
            generation=generation,
        )
    if update.drift is not None:
        ok, reason, message = update.drift.condition
        out["conditions"] = conditions.set_condition(
            out.get("conditions", conds), drift_verdict.DRIFTED, ok, reason, message, generation
        )
        out["drift"] = update.drift.drift
    return out


def first_drift(kind: str, spec: Mapping[str, Any], current: Mapping[str, Any], now: float) -> DriftVerdict | None:
    """Drift's verdict on a resource a handler has just brought to spec: InSync, if none is recorded yet.

    None for kinds drift does not judge, for observe-only objects, and once a verdict stands
    (only drift's own look moves it then).
    """
    if kind not in DRIFT_KINDS or current.get("drift") or policy.management_policy(dict(spec)) != policy.MANAGE:
        return None
    return drift_verdict.verdict([], None, None, now, policy=policy.drift_policy(dict(spec)))


def changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether patching `new` onto the status `old` changes anything worth a write.

    Conditions are compared without timestamps (a look that changes nothing writes nothing);
    status.drift as stored, since its nulls are dropped by the merge patch. Other members keep
    the plain comparison: judged by the merge patch too, test_service_records_the_revision_it_deployed
    saw a false rollback verdict stand (not yet understood).
    """
    for key, value in new.items():
        if key == "conditions":
            if not conditions.same_conditions(old.get(key), value):
                return True
        elif key in ("drift", "deployment"):  # nulls delete members (reconcile/deployment.py `record`)
            if merge_patch.changes(old.get(key), value):
                return True
        elif old.get(key) != value:
            return True
    return False
