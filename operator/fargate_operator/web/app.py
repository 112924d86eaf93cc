"""The Starlette app of the REST adapter port: `POST /` (ECS API), `/healthz`, `/readyz`, `/metrics`."""

from __future__ import annotations

import os
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from fargate_operator import k8s
from fargate_operator.service.api import EcsApi
from fargate_operator.web.auth import CREDENTIAL_LABEL, Credential, credential_from_secret
from fargate_operator.web.rest import RestAdapter

# Health answers name the serving process, so `fargate-operator dev` can tell that the operator it
# started answers on the port, not another world's (see cli._answers_as).
PID_HEADER = "X-Fargate-Operator-Pid"


class SecretCredentials:
    """Credentials from labelled Secrets in one namespace, re-read at most every `ttl` seconds."""

    def __init__(self, namespace: str, ttl: float = 10.0) -> None:
        self.namespace = namespace
        self.ttl = ttl
        self._loaded = 0.0
        self._creds: list[Credential] = []

    async def _all(self, force: bool = False) -> list[Credential]:
        if force or time.monotonic() - self._loaded > self.ttl:
            secrets = await k8s.list_secrets(self.namespace, f"{CREDENTIAL_LABEL}=true")
            self._creds = [c for s in secrets if (c := credential_from_secret(s)) is not None]
            self._loaded = time.monotonic()
        return self._creds

    async def _find(self, match: Any) -> Credential | None:
        found = next((c for c in await self._all() if match(c)), None)
        if found is None and time.monotonic() - self._loaded > 1.0:
            # A Secret created a moment ago works at once; unknown keys re-read at most once a second.
            found = next((c for c in await self._all(force=True) if match(c)), None)
        return found

    async def by_access_key(self, key: str) -> Credential | None:
        return await self._find(lambda c: c.access_key_id == key)

    async def by_token(self, token: str) -> Credential | None:
        return await self._find(lambda c: c.token is not None and c.token == token)


def build_app(api: EcsApi, credentials: Any, ready: Any) -> Starlette:
    adapter = RestAdapter(api, credentials)

    pid = {PID_HEADER: str(os.getpid())}

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok", headers=pid)

    async def readyz(_: Request) -> Response:
        if ready():
            return PlainTextResponse("ready", headers=pid)
        return PlainTextResponse("starting", status_code=503, headers=pid)

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
