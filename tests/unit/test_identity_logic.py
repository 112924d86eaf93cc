"""The front doors act as the caller, the pure parts: who a call acts as, the operation table,
and the caches of TokenReview and SubjectAccessReview answers.

Unit tests because these are decisions and bounds, not behaviour of the API server: how long an
answer is kept, that concurrent lookups share one review, that a read-only key never even asks,
which headers impersonate whom. The API server's side (RBAC, TokenReview, impersonation, the
audit log) is held by tests/integration/adapter/test_caller_identity.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import pytest

from fargate_operator.models.kinds import PLURALS
from fargate_operator.service.access import Access, Permission, refusal
from fargate_operator.service.cache import TtlCache
from fargate_operator.service.identity import Principal, effective_groups, service_account
from fargate_operator.service.operations import OPERATIONS
from fargate_operator.web.auth import InvalidCredential, credential_from_secret
from fargate_operator.web.tokens import TokenReviewer, expires_in, principal_of

SA = "system:serviceaccount:team-a:agent"
SA_GROUPS = ("system:serviceaccounts", "system:serviceaccounts:team-a", "system:authenticated")


def test_only_well_formed_service_account_user_names_parse() -> None:
    assert service_account(SA) == ("team-a", "agent")
    assert service_account("alice") is None
    assert service_account("system:serviceaccount:Team_A:agent") is None  # not a namespace name
    assert service_account("system:serviceaccount:team-a:a:b") is None


def test_effective_groups_add_system_authenticated_and_drop_duplicates() -> None:
    assert effective_groups(SA, []) == SA_GROUPS, "a ServiceAccount's own groups when none are given"
    assert effective_groups("alice", ["devs"]) == ("devs", "system:authenticated")
    assert effective_groups("alice", ["devs", "system:authenticated", "devs"]) == ("devs", "system:authenticated")


def test_impersonation_sends_every_group_but_those_the_api_server_adds() -> None:
    # A ServiceAccount with exactly its own groups: the user alone (the API server adds the groups).
    assert Principal(SA, SA_GROUPS, "team-a").impersonation_headers() == [("Impersonate-User", SA)]
    # Anything else: every group, one header each, but system:authenticated (the API server adds it).
    extra = Principal(SA, (*SA_GROUPS, "ci"), "team-a").impersonation_headers()
    assert extra == [("Impersonate-User", SA)] + [("Impersonate-Group", g) for g in (*SA_GROUPS[:2], "ci")]
    plain = Principal("alice", ("devs", "ops", "system:authenticated"), None).impersonation_headers()
    assert plain == [("Impersonate-User", "alice"), ("Impersonate-Group", "devs"), ("Impersonate-Group", "ops")]


def _secret(**data: str) -> dict[str, Any]:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return {"metadata": {"name": "cred"}, "data": encoded}


def test_a_key_acts_as_the_user_its_secret_names() -> None:
    key = credential_from_secret(_secret(token="t", user=SA)).principal()
    assert (key.user, key.groups, key.namespace, key.via) == (SA, SA_GROUPS, "team-a", "key cred")
    ci = credential_from_secret(_secret(token="t", user="ci-bot", groups="deployers, ops", namespace="team-b"))
    assert ci.principal().groups == ("deployers", "ops", "system:authenticated") and ci.namespace == "team-b"
    assert credential_from_secret(_secret(token="t", user="ci-bot")).principal().namespace is None
    assert credential_from_secret(_secret(token="t", user=SA, readOnly="true")).principal().read_only


def test_a_key_without_user_is_refused_naming_the_key() -> None:
    """A key no longer acts as the operator in its `namespace`: it must name whom it acts as."""
    with pytest.raises(InvalidCredential) as err:
        credential_from_secret(_secret(token="t", namespace="team-a"))
    assert "'user'" in str(err.value)


def _jwt(claims: dict[str, Any]) -> str:
    part = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJSUzI1NiJ9.{part}.c2ln"


def test_a_token_review_counts_only_for_this_services_audience() -> None:
    user = {"username": SA, "groups": list(SA_GROUPS)}
    ours = {"authenticated": True, "user": user, "audiences": ["fargate-operator"]}
    assert principal_of(ours, ("fargate-operator",)) == Principal(SA, SA_GROUPS, "team-a")
    # Authenticated, but for the API server's audience (an audience-unaware authenticator answers so).
    assert principal_of({**ours, "audiences": []}, ("fargate-operator",)) is None
    assert principal_of({**ours, "audiences": ["https://kubernetes.default.svc"]}, ("fargate-operator",)) is None
    assert principal_of({"authenticated": False, "error": "token expired"}, ("fargate-operator",)) is None


def test_token_answers_are_kept_briefly_never_past_the_token_and_garbage_is_not_sent() -> None:
    calls: list[str] = []

    async def review(token: str, audiences: tuple[str, ...]) -> dict[str, Any]:
        calls.append(token)
        user = {"username": SA, "groups": list(SA_GROUPS)}
        return {"authenticated": token != "bad", "user": user, "audiences": list(audiences)}

    reviewer = TokenReviewer(ttl=60, review=review)
    soon = _jwt({"exp": time.time() + 0.3})

    async def run() -> list[Principal | None]:
        results = [await reviewer.principal(t) for t in (soon, soon, "bad", "bad", "not a token!", "x" * 20_000)]
        await asyncio.sleep(0.4)
        results.append(await reviewer.principal(soon))  # expired meanwhile: asked again
        return results

    results = asyncio.run(run())
    assert results[:2] == [Principal(SA, SA_GROUPS, "team-a")] * 2 and results[2:6] == [None] * 4
    assert calls == [soon, "bad", soon], "one review per token while kept; nothing for malformed ones"
    assert expires_in(_jwt({"exp": 100}), 40.0) == 60.0 and expires_in("opaque", 0) is None


def test_cache_shares_one_call_for_concurrent_lookups_and_keeps_no_failure() -> None:
    cache: TtlCache[str, int] = TtlCache("t", ttl=60)
    calls = 0

    async def slow() -> tuple[int, float | None]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return calls, None

    async def failing() -> tuple[int, float | None]:
        raise RuntimeError("API server down")

    async def run() -> list[int]:
        values = await asyncio.gather(*(cache.get("k", slow) for _ in range(20)))
        for _ in range(2):
            with pytest.raises(RuntimeError):
                await cache.get("f", failing)
        return list(values)

    assert asyncio.run(run()) == [1] * 20 and calls == 1
    assert len(cache) == 1, "the failure was not kept"


def test_the_ttl_cache_is_bounded_and_expires() -> None:
    now = [0.0]
    cache: TtlCache[int, int] = TtlCache("t", ttl=5, limit=3, clock=lambda: now[0])
    computed: list[int] = []

    def value(v: int) -> Any:
        async def compute() -> tuple[int, float | None]:
            computed.append(v)
            return v, None

        return compute

    async def run() -> None:
        for k in range(5):
            await cache.get(k, value(k))
        assert len(cache) == 3, "bounded: the oldest entries left"
        await cache.get(4, value(4))
        now[0] = 5.1
        await cache.get(4, value(4))

    asyncio.run(run())
    assert computed == [0, 1, 2, 3, 4, 4], "a hit while fresh, asked again once expired"


def test_every_operation_has_a_verb_on_one_of_the_four_kinds() -> None:
    # That a write needs a write verb (or exec) and a read a read verb: tests/unit/test_operation_table.py.
    rbac_verbs = {"get", "list", "create", "patch", "delete"}
    for operation in OPERATIONS.values():
        wanted = operation.permissions
        assert wanted and all(p.verb in rbac_verbs and PLURALS[p.kind] for p in wanted), operation.name
    assert [str(p) for p in OPERATIONS["ExecuteCommand"].permissions] == ["create fargatetasks/exec"]
    assert [str(p) for p in OPERATIONS["RunTask"].permissions] == ["create fargatetasks"]
    assert [str(p) for p in OPERATIONS["StopTask"].permissions] == ["patch fargatetasks"]
    assert [str(p) for p in OPERATIONS["GetTaskLogs"].permissions] == ["get fargatetasks/log"]


def test_access_is_asked_once_per_caller_and_read_only_keys_never_write() -> None:
    asked: list[tuple[str, str, str]] = []

    async def review(principal: Principal, namespace: str, permission: Permission) -> bool:
        asked.append((principal.user, namespace, str(permission)))
        return permission.verb in ("get", "create")

    access = Access(ttl=60, review=review)
    agent = Principal(SA, SA_GROUPS, "team-a")
    read_only_key = Principal(SA, SA_GROUPS, "team-a", read_only=True, via="key ro")
    run = OPERATIONS["RunTask"].permissions

    async def decide() -> list[bool]:
        return [
            await access.allowed(agent, "team-a", run[0]),
            await access.allowed(agent, "team-a", run[0]),  # cached
            await access.allowed(agent, "team-b", run[0]),  # another namespace: asked
            await access.allowed(read_only_key, "team-a", run[0]),  # refused without asking
        ]

    assert asyncio.run(decide()) == [True, True, True, False]
    assert asked == [(SA, "team-a", "create fargatetasks"), (SA, "team-b", "create fargatetasks")]
    with pytest.raises(Exception) as err:
        asyncio.run(access.require(read_only_key, "team-a", *run))
    assert f'User "{SA}" cannot create resource "fargatetasks"' in str(err.value) and "read-only" in str(err.value)
    message = refusal(agent, "team-a", OPERATIONS["RegisterTaskDefinition"].permissions).message
    assert 'cannot create resource "fargatetaskdefinitions" or patch resource "fargatetaskdefinitions"' in message
