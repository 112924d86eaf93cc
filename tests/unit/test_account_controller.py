"""The FargateAccount controller in process: the role check it keeps, and the status it plans."""

from __future__ import annotations

import asyncio
from typing import Any

from fargate_operator.controllers import account as controller
from fargate_operator.models.accounts import AccountMapping
from fargate_operator.reconcile.accounts import Served
from fargate_operator.status.precedence import Source, Update, changed, compose

ROLE = AccountMapping("team-a", "us-east-1", role_arn="arn:aws:iam::111111111111:role/fo")
OWN = AccountMapping("own", "us-east-1")


def obj(status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "team-a", "generation": 2}, "status": status or {}}


class Sts:
    """A role check that answers `refusal` (None: it worked) and counts its calls."""

    def __init__(self, refusal: str | None) -> None:
        self.refusal, self.calls = refusal, 0

    def __call__(self, mapping: AccountMapping) -> str | None:
        self.calls += 1
        return self.refusal


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_role_that_works_is_checked_once_per_credential_settings() -> None:
    sts, clock = Sts(None), Clock()
    checks = controller.CredentialChecks(sts, recheck=60.0, clock=clock)
    for now in (0.0, 30.0, 3600.0):
        clock.now = now
        assert asyncio.run(checks.observe(ROLE)) is None
    assert sts.calls == 1
    changed = AccountMapping("team-a", "us-east-1", role_arn="arn:aws:iam::111111111111:role/other")
    asyncio.run(checks.observe(changed))
    assert sts.calls == 2


def test_a_refused_role_is_tried_again_only_after_the_recheck_interval() -> None:
    sts, clock = Sts("AccessDenied: not authorized to assume arn:aws:iam::111111111111:role/fo"), Clock()
    checks = controller.CredentialChecks(sts, recheck=60.0, clock=clock)
    assert "AccessDenied" in (asyncio.run(checks.observe(ROLE)) or "")
    clock.now = 30.0
    asyncio.run(checks.observe(ROLE))
    assert sts.calls == 1
    clock.now = 61.0
    asyncio.run(checks.observe(ROLE))
    assert sts.calls == 2


def test_the_operators_own_identity_is_never_checked() -> None:
    sts = Sts("never")
    assert asyncio.run(controller.CredentialChecks(sts).observe(OWN)) is None
    assert sts.calls == 0


def test_a_serving_account_is_ready_and_names_its_namespaces() -> None:
    v = controller.verdict(ROLE, Served(namespaces=["a", "b"]), None)
    assert (v.ready, v.degraded, v.reason, v.message) == (True, False, "Serving", "serves 2 namespace(s): a, b")


def test_a_namespace_claimed_twice_is_a_conflict_naming_the_other_account() -> None:
    v = controller.verdict(ROLE, Served(conflicts={"shared": ["team-b"]}), None)
    assert (v.ready, v.degraded, v.reason) == (False, True, "Conflict")
    assert "namespace shared is also claimed by team-b" in v.message


def test_an_unusable_spec_and_a_refused_role_say_so() -> None:
    assert controller.verdict(None, None, "spec.region is missing").reason == "Invalid"
    assert controller.verdict(ROLE, Served(namespaces=["a"]), "AccessDenied").reason == "AssumeRoleFailed"


def planned(current: dict[str, Any], served: Served) -> dict[str, Any] | None:
    """The status patch the account loop has the writer make (handlers/accounts.py), None when it writes nothing."""
    observed, verdict = controller.status_of(ROLE, served, None)
    update = Update(Source.HANDLER, verdict, observed, generation=current["metadata"].get("generation"))
    patch = compose(current.get("status") or {}, update)
    return patch if changed(current.get("status") or {}, patch) else None


def test_the_planned_status_carries_account_namespaces_and_conflicts() -> None:
    status = planned(obj(), Served(namespaces=["a"], conflicts={"s": ["team-b"]}))
    assert status is not None
    assert status["accountId"] == "111111111111" and status["observedGeneration"] == 2
    assert status["namespaces"] == ["a"] and status["conflicts"] == [{"namespace": "s", "with": ["team-b"]}]
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "Conflict"


def test_a_status_that_already_says_it_is_not_written_again() -> None:
    first = planned(obj(), Served(namespaces=["a"]))
    assert first is not None
    assert planned(obj(first), Served(namespaces=["a"])) is None
    assert planned(obj(first), Served(namespaces=["a", "b"])) is not None
