"""Credential Secrets and bearer tokens (web/auth.py, web/app.py), as pure logic.

The timing of a comparison cannot be asserted reliably in a test; what makes it constant-time
can: every candidate token goes through hmac.compare_digest, whatever matches first. The HTTP
behaviour (empty tokens refused, malformed Secrets skipped with an Event) is held by
tests/integration/adapter/test_front_door_regressions.py.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
from typing import Any

import pytest

from fargate_operator import k8s
from fargate_operator.web import app, auth
from fargate_operator.web.auth import Credential, InvalidCredential, credential_from_secret, token_matches


def secret(name: str, **data: bytes) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "uid": f"uid-{name}", "resourceVersion": "1"},
        "data": {k: base64.b64encode(v).decode() for k, v in data.items()},
    }


def creds(*tokens: str) -> list[Credential]:
    return [Credential(f"c{i}", "u", (), "ns", False, token=t) for i, t in enumerate(tokens)]


def test_every_candidate_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bytes] = []
    compare = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append(a)
        return compare(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    found = token_matches(creds("first", "second", "third"), "first")
    assert found is not None and found.name == "c0"
    assert calls == [b"first", b"second", b"third"], "no early exit on the first match"


@pytest.mark.parametrize("given", ["", " ", "\xa0"])
def test_an_empty_or_blank_token_matches_no_credential(given: str) -> None:
    holders = [Credential("empty", "u", (), "ns", False, token=None), *creds("real")]
    assert token_matches(holders, given) is None


def test_an_empty_token_in_a_secret_is_no_token() -> None:
    cred = credential_from_secret(
        secret("s", token=b"", namespace=b"team", user=b"u", accessKeyId=b"AK", secretAccessKey=b"x")
    )
    assert cred.token is None and cred.access_key_id == "AK"


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        ({"token": b"\xff\xfe", "namespace": b"team", "user": b"u"}, "'token' is not UTF-8"),
        ({"token": b"t", "user": b"u", "namespace": b"Not_A_Namespace"}, "'namespace'"),
        ({"token": b"", "namespace": b"team", "user": b"u"}, "neither a non-empty 'token'"),
        ({"accessKeyId": b"AK", "namespace": b"team", "user": b"u"}, "neither a non-empty 'token'"),
    ],
)
def test_a_malformed_secret_is_refused_naming_the_key(data: dict[str, bytes], complaint: str) -> None:
    with pytest.raises(InvalidCredential) as err:
        credential_from_secret(secret("bad", **data))
    assert complaint in str(err.value)
    assert "\xff" not in str(err.value)


def test_secret_credentials_skip_a_malformed_secret_and_report_it_once(monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = [
        secret("bad", token=b"\xff", namespace=b"team", user=b"u"),
        secret("good", token=b"tok", namespace=b"team", user=b"u"),
    ]
    events: list[tuple[str, str, str]] = []

    async def list_secrets(namespace: str, selector: str) -> list[dict[str, Any]]:
        return secrets

    async def post_event_regarding(
        regarding: dict[str, Any], namespace: str, reason: str, message: str, **_: Any
    ) -> None:
        events.append((regarding["name"], reason, message))

    monkeypatch.setattr(k8s, "list_secrets", list_secrets)
    monkeypatch.setattr(k8s, "post_event_regarding", post_event_regarding)
    source = app.SecretCredentials("creds", ttl=0.0)

    async def twice() -> tuple[Credential | None, Credential | None]:
        return await source.by_token("tok"), await source.by_token("tok")

    first, second = asyncio.run(twice())
    assert first is not None and first.name == "good" and second is not None
    assert [(name, reason) for name, reason, _ in events] == [("bad", "InvalidCredential")], "once per version"
