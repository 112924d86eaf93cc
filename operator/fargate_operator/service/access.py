"""What a caller may do: each operation's verbs on one of the four kinds (operations.py), decided by the API server.

The front doors read from the operator's watch cache and write custom resources. Writes are made
as the caller (impersonation, acting.py), so the API server's RBAC, admission and audit log see the
caller. Reads never reach the API server, so before answering from the cache the service layer asks
it: one SubjectAccessReview per (user, groups, namespace, verb, resource), kept a few seconds
(cache.py). Every operation is checked the same way before it touches anything, writes included,
so a refusal comes first and names the missing verb and resource in the API server's own words.
The table is docs/acting-as-the-caller.md.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fargate_operator import k8s
from fargate_operator.models.kinds import GROUP, PLURALS
from fargate_operator.service.cache import TtlCache
from fargate_operator.service.errors import ApiError, access_denied
from fargate_operator.service.identity import Principal

log = logging.getLogger(__name__)

# How long an answer is kept: a changed RoleBinding takes effect within this time.
DEFAULT_TTL = float(os.environ.get("FARGATE_OPERATOR_AUTH_CACHE_TTL", "5"))
WRITE_VERBS = frozenset({"create", "patch", "update", "delete"})
# Subresources that act in a task (a read-only key never may); `log` only reads.
ACTION_SUBRESOURCES = frozenset({"exec"})


@dataclass(frozen=True)
class Permission:
    verb: str
    kind: str
    subresource: str = ""

    @property
    def resource(self) -> str:
        return PLURALS[self.kind] + (f"/{self.subresource}" if self.subresource else "")

    @property
    def acts(self) -> bool:
        """A write, or an action in a task: what a read-only key never may, whatever RBAC says."""
        return self.verb in WRITE_VERBS or self.subresource in ACTION_SUBRESOURCES

    def __str__(self) -> str:
        return f"{self.verb} {self.resource}"


Review = Callable[[Principal, str, Permission], Awaitable[bool]]
CacheKey = tuple[str, tuple[str, ...], str, str, str]


def refusal(principal: Principal, namespace: str, wanted: tuple[Permission, ...]) -> ApiError:
    """AccessDeniedException in the API server's words, naming the user, the verb and the resource."""
    what = " or ".join(f'{p.verb} resource "{p.resource}"' for p in wanted)
    message = f'User "{principal.user}" cannot {what} in API group "{GROUP}" in the namespace "{namespace}"'
    if principal.read_only and any(p.acts for p in wanted):
        message += f" (its credential {principal.via} is read-only)"
    return access_denied(message)


async def subject_access_review(principal: Principal, namespace: str, permission: Permission) -> bool:
    """The API server's answer: may this user (with these groups) do this in this namespace?"""
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": principal.user,
            "groups": list(principal.groups),
            "resourceAttributes": {
                "namespace": namespace,
                "verb": permission.verb,
                "group": GROUP,
                "resource": PLURALS[permission.kind],
                "subresource": permission.subresource,
            },
        },
    }
    status, answer = await k8s.request_json("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body)
    if status >= 300:
        log.warning("SubjectAccessReview failed: HTTP %s %s", status, answer.get("message", ""))
        raise ApiError("ServerException", "could not ask the Kubernetes API server for authorization", 503)
    return bool((answer.get("status") or {}).get("allowed"))


class Access:
    """Authorization decisions for callers, asked of the API server and kept briefly."""

    def __init__(self, ttl: float = DEFAULT_TTL, limit: int = 10_000, review: Review = subject_access_review) -> None:
        self._review = review
        self._cache: TtlCache[CacheKey, bool] = TtlCache("subjectaccessreview", ttl, limit)

    async def allowed(self, principal: Principal, namespace: str, permission: Permission) -> bool:
        if principal.read_only and permission.acts:
            return False  # a read-only key narrows RBAC: no write, no exec, whatever its user may do
        key = (principal.user, principal.groups, namespace, permission.verb, permission.resource)

        async def ask() -> tuple[bool, float | None]:
            return await self._review(principal, namespace, permission), None

        return await self._cache.get(key, ask)

    async def require(self, principal: Principal, namespace: str, *wanted: Permission) -> None:
        """Return if any of `wanted` is allowed, else raise AccessDeniedException naming them."""
        for permission in wanted:
            if await self.allowed(principal, namespace, permission):
                return
        raise refusal(principal, namespace, wanted)


@dataclass(frozen=True)
class Caller:
    """One call's caller and the namespace it addresses, with the decisions bound (what operations see).

    `signature`: the request's SigV4 signature when it was signed; a replay of the request repeats it.
    """

    principal: Principal
    ns: str
    access: Access
    signature: str | None = None

    async def may(self, verb: str, kind: str, subresource: str = "") -> bool:
        return await self.access.allowed(self.principal, self.ns, Permission(verb, kind, subresource))
