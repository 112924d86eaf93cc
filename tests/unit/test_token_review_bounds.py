"""What made-up bearer tokens may cost: the TokenReview cache keeps refusals apart, reviews are bounded.

Unit tests of our own logic against a fake of our Review interface: which answers evict which, and
when a review is not asked at all. The flood against a real API server is
tests/integration/adapter/test_token_flood.py; latency under a flood is bench/token_flood.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from fargate_operator.service.identity import Principal
from fargate_operator.web.tokens import TokenReviewer

SA = "system:serviceaccount:team-a:agent"
SA_GROUPS = ("system:serviceaccounts", "system:serviceaccounts:team-a", "system:authenticated")
VALID = "valid.token.one"


def _reviewing(calls: list[str], valid: set[str]) -> Any:
    async def review(token: str, audiences: tuple[str, ...]) -> dict[str, Any]:
        calls.append(token)
        if token not in valid:
            return {"authenticated": False, "error": "invalid bearer token"}
        user = {"username": SA, "groups": list(SA_GROUPS)}
        return {"authenticated": True, "user": user, "audiences": list(audiences)}

    return review


def test_made_up_tokens_do_not_push_a_valid_caller_out_of_the_token_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    # Bounds out of the way: this is about the cache alone.
    monkeypatch.setenv("FARGATE_OPERATOR_TOKEN_REVIEW_RATE", "1000000")
    monkeypatch.setenv("FARGATE_OPERATOR_TOKEN_REVIEW_BURST", "1000000")
    calls: list[str] = []
    reviewer = TokenReviewer(ttl=60, limit=100, review=_reviewing(calls, {VALID}))

    async def run() -> tuple[Principal | None, list[Principal | None], Principal | None]:
        first = await reviewer.principal(VALID)
        flood = [await reviewer.principal(f"made.up{i}.token") for i in range(1_000)]
        return first, flood, await reviewer.principal(VALID)

    first, flood, again = asyncio.run(run())
    assert first == again == Principal(SA, SA_GROUPS, "team-a") and set(flood) == {None}
    assert calls.count(VALID) == 1, "the valid caller was answered from the cache after 1,000 refusals"
    assert len(calls) == 1_001


def test_token_reviews_are_bounded_per_client_and_in_total() -> None:
    from fargate_operator.web.review_budget import ReviewBudget, ReviewRefused

    now = [0.0]
    budget = ReviewBudget(rate=2, burst=3, client_pending=2, max_pending=3, clock=lambda: now[0])
    for _ in range(3):
        with budget.admit("10.0.0.1"):
            pass
    with pytest.raises(ReviewRefused) as refused, budget.admit("10.0.0.1"):
        pass
    assert (refused.value.code, refused.value.status) == ("ThrottlingException", 429)
    assert "too many new bearer tokens from this client" in refused.value.message
    with budget.admit("10.0.0.2"):
        pass  # another client has its own bucket
    now[0] += 0.5  # one more at 2 a second
    with budget.admit("10.0.0.1"):
        pass
    with pytest.raises(ReviewRefused), budget.admit("10.0.0.1"):
        pass

    with contextlib.ExitStack() as in_progress:
        in_progress.enter_context(budget.admit("10.0.0.3"))
        in_progress.enter_context(budget.admit("10.0.0.3"))
        with pytest.raises(ReviewRefused), budget.admit("10.0.0.3"):
            pass  # two in progress for this client already
        in_progress.enter_context(budget.admit("10.0.0.4"))
        with pytest.raises(ReviewRefused) as total, budget.admit("10.0.0.5"):
            pass  # three in progress in all
        assert "too many bearer tokens are being reviewed" in total.value.message
    assert budget.pending == 0
    with budget.admit("10.0.0.5"):
        pass


def test_a_client_over_its_bounds_is_refused_while_known_tokens_still_answer() -> None:
    from fargate_operator.web.review_budget import ReviewBudget, ReviewRefused

    calls: list[str] = []
    budget = ReviewBudget(rate=0.001, burst=2)
    reviewer = TokenReviewer(ttl=60, review=_reviewing(calls, {VALID, "valid.token.two"}), budget=budget)

    async def run() -> None:
        assert await reviewer.principal(VALID, "10.0.0.1") is not None
        assert await reviewer.principal("made.up.one", "10.0.0.1") is None
        with pytest.raises(ReviewRefused):
            await reviewer.principal("made.up.two", "10.0.0.1")
        with pytest.raises(ReviewRefused):
            await reviewer.principal("made.up.two", "10.0.0.1")  # a refusal is not kept: asked again, refused
        assert await reviewer.principal(VALID, "10.0.0.1") is not None  # cached: no review, no bound
        assert await reviewer.principal("made.up.one", "10.0.0.1") is None  # a kept refusal costs nothing
        assert await reviewer.principal("valid.token.two", "10.0.0.2") is not None

    asyncio.run(run())
    assert calls == [VALID, "made.up.one", "valid.token.two"]
