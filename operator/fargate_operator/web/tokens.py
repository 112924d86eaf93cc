"""Kubernetes tokens as bearer tokens: validated with TokenReview for this service's audience, kept briefly.

A pod's projected ServiceAccount token with this service's audience (or any token the API
server's authenticators accept for that audience) names a user and groups. TokenReview is asked
with `spec.audiences` set, and the answer counts only if `status.audiences` holds one of them:
"A client of the TokenReview API that sets the spec.audiences field should validate that a
compatible audience identifier is returned in the status.audiences field to ensure that the
TokenReview server is audience aware" (authentication.k8s.io/v1 TokenReviewStatus). A token made
for the API server itself, or for another service, is refused: accepting it would let any service
that received it act here.

Answers, good and bad, are kept a few seconds (bounded; never past the token's own expiry), keyed
by a hash of the token: a token deleted with its ServiceAccount stops working within that time.
Refusals are kept apart from the callers found, so a flood of made-up tokens cannot push valid
callers out; the reviews themselves are bounded per client and in total, on threads of their own
(review_budget.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from functools import partial
from typing import Any

from fargate_operator import k8s
from fargate_operator.service.access import DEFAULT_TTL
from fargate_operator.service.cache import TtlCache
from fargate_operator.service.errors import ApiError
from fargate_operator.service.identity import Principal, effective_groups, service_account
from fargate_operator.web.review_budget import ReviewBudget

log = logging.getLogger(__name__)

DEFAULT_AUDIENCE = "fargate-operator"
MAX_TOKEN = 16 * 1024  # projected tokens are ~1 KiB; anything far larger is not worth a review
# RFC 6750 b64token, which every JWT and the API server's opaque tokens fit; anything else is refused unread.
_TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")

Review = Callable[[str, tuple[str, ...]], Awaitable[dict[str, Any]]]


async def token_review(token: str, audiences: tuple[str, ...], executor: Executor | None = None) -> dict[str, Any]:
    """The API server's TokenReview status for `token` and `audiences` (asked on `executor`'s threads)."""
    body = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "spec": {"token": token, "audiences": list(audiences)},
    }
    status, answer = await k8s.request_json(
        "POST", "/apis/authentication.k8s.io/v1/tokenreviews", body, executor=executor
    )
    if status >= 300:
        log.warning("TokenReview failed: HTTP %s %s", status, answer.get("message", ""))
        raise ApiError("ServerException", "could not ask the Kubernetes API server to review the token", 503)
    review: dict[str, Any] = answer.get("status") or {}
    return review


def expires_in(token: str, now: float) -> float | None:
    """Seconds until a JWT's `exp` (read, not verified: only ever used to keep an answer for less)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        return float(claims["exp"]) - now
    except (ValueError, KeyError, TypeError):
        return None


def principal_of(review: dict[str, Any], audiences: tuple[str, ...]) -> Principal | None:
    """The caller a TokenReview status names, if it authenticated the token for one of `audiences`."""
    if not review.get("authenticated") or not set(review.get("audiences") or ()) & set(audiences):
        return None
    user = review.get("user") or {}
    name = str(user.get("username") or "")
    if not name:
        return None
    sa = service_account(name)
    return Principal(name, effective_groups(name, list(user.get("groups") or ())), sa[0] if sa else None)


class TokenReviewer:
    def __init__(
        self,
        audiences: tuple[str, ...] = (DEFAULT_AUDIENCE,),
        ttl: float = DEFAULT_TTL,
        limit: int = 10_000,
        review: Review | None = None,
        budget: ReviewBudget | None = None,
    ) -> None:
        if not audiences:
            raise ValueError("at least one token audience is needed")
        self.audiences = audiences
        self.budget = budget or ReviewBudget()
        self._review = review or partial(token_review, executor=self.budget.pool)
        self._cache: TtlCache[bytes, Principal | None] = TtlCache(
            "tokenreview", ttl, limit, apart=lambda found: found is None, apart_limit=limit
        )

    async def principal(self, token: str, client: str = "") -> Principal | None:
        """The caller a Kubernetes token authenticates for this service, or None.

        `client`: where the request came from; a review over its bounds raises ReviewRefused.
        """
        if not token or len(token) > MAX_TOKEN or not _TOKEN.match(token):
            return None

        async def ask() -> tuple[Principal | None, float | None]:
            with self.budget.admit(client):
                found = principal_of(await self._review(token, self.audiences), self.audiences)
            return found, expires_in(token, time.time())

        return await self._cache.get(hashlib.sha256(token.encode()).digest(), ask)
