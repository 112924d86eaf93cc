"""The Starlette app of the REST adapter port: `POST /` (ECS API), `/healthz`, `/readyz`, `/metrics`."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from fargate_operator import k8s
from fargate_operator.service.api import EcsApi
from fargate_operator.service.identity import Principal
from fargate_operator.web.auth import (
    CREDENTIAL_LABEL,
    Credential,
    InvalidCredential,
    credential_from_secret,
    token_matches,
)
from fargate_operator.web.rest import RestAdapter
from fargate_operator.web.tokens import TokenReviewer

log = logging.getLogger(__name__)
# Health answers name the serving process, so `fargate-devenv run` can tell that the operator it
# started answers on the port, not another world's (see cli._answers_as).
PID_HEADER = "X-Fargate-Operator-Pid"


class SecretCredentials:
    """Credentials from labelled Secrets in one namespace, re-read at most every `ttl` seconds.

    A labelled Secret that cannot be a credential (non-UTF-8 data, no namespace, nothing to
    authenticate with) is skipped -- it must not take the other credentials down -- and reported
    once per version with a Warning Event on it (naming the key, never a value).
    """

    def __init__(self, namespace: str, ttl: float = 10.0) -> None:
        self.namespace = namespace
        self.ttl = ttl
        self._loaded = 0.0
        self._creds: list[Credential] = []
        self._reported: set[tuple[str, str]] = set()  # (uid, resourceVersion) of Secrets reported

    async def _all(self, force: bool = False) -> list[Credential]:
        if force or time.monotonic() - self._loaded > self.ttl:
            creds = []
            for secret in await k8s.list_secrets(self.namespace, f"{CREDENTIAL_LABEL}=true"):
                try:
                    creds.append(credential_from_secret(secret))
                except InvalidCredential as why:
                    await self._report(secret, str(why))
            self._creds = creds
            self._loaded = time.monotonic()
        return self._creds

    async def _report(self, secret: dict[str, Any], why: str) -> None:
        meta = secret.get("metadata", {})
        version = (str(meta.get("uid")), str(meta.get("resourceVersion")))
        if version in self._reported:
            return
        self._reported.add(version)
        message = f"labelled {CREDENTIAL_LABEL}=true but not a usable credential: {why}; ignored"
        log.warning("credential Secret %s/%s %s", self.namespace, meta.get("name"), message)
        regarding = {"apiVersion": "v1", "kind": "Secret", "name": meta.get("name"), "uid": meta.get("uid")}
        await k8s.post_event_regarding(regarding, self.namespace, "InvalidCredential", message, warning=True)

    async def _find(
        self, match: Callable[[list[Credential]], Credential | None], refresh: bool = True
    ) -> Credential | None:
        found = match(await self._all())
        if found is None and refresh and time.monotonic() - self._loaded > 1.0:
            # A Secret created a moment ago works at once; unknown keys re-read at most once a second.
            found = match(await self._all(force=True))
        return found

    async def by_access_key(self, key: str) -> Credential | None:
        return await self._find(lambda creds: next((c for c in creds if c.access_key_id == key), None))

    async def by_token(self, token: str, refresh: bool = True) -> Credential | None:
        if not token:
            return None
        return await self._find(lambda creds: token_matches(creds, token), refresh)


class Identities:
    """Both ways a caller authenticates: key credentials in Secrets, and Kubernetes tokens (TokenReview)."""

    def __init__(self, secrets: SecretCredentials, tokens: TokenReviewer) -> None:
        self.secrets = secrets
        self.tokens = tokens

    async def by_access_key(self, key: str) -> Credential | None:
        return await self.secrets.by_access_key(key)

    async def by_bearer(self, token: str, client: str = "") -> Principal | None:
        """A Secret's bearer token, else a Kubernetes token; a Secret made a moment ago is looked for last,
        so a Kubernetes token never makes the Secrets be listed again. ReviewRefused when `client` sent
        more new tokens than its bounds let be reviewed (web/review_budget.py)."""
        if cred := await self.secrets.by_token(token, refresh=False):
            return cred.principal()
        if principal := await self.tokens.principal(token, client):
            return principal
        cred = await self.secrets.by_token(token)
        return cred.principal() if cred else None


def build_app(api: EcsApi, credentials: Any, ready: Any, describe: Callable[[], str] | None = None) -> Starlette:
    """`describe`: a status line for /readyz's body (which replica leads), after "ready" / "starting"."""
    adapter = RestAdapter(api, credentials)

    pid = {PID_HEADER: str(os.getpid())}

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok", headers=pid)

    async def readyz(_: Request) -> Response:
        line = f"; {describe()}" if describe is not None else ""
        if ready():
            return PlainTextResponse(f"ready{line}", headers=pid)
        return PlainTextResponse(f"starting{line}", status_code=503, headers=pid)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/", adapter.__call__, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ]
    )
