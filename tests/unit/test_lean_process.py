"""What the operator process leaves out -- the MCP SDK until the first MCP request -- and the client that
makes the operator's Kubernetes calls instead of the official one (which Kopf still imports)."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from fargate_operator.web.mcp_lazy import LazyApp


def test_the_operator_process_imports_the_mcp_sdk_only_when_asked() -> None:
    script = """
import json, sys
import fargate_operator.handlers.lifecycle, fargate_operator.handlers.leadership, fargate_operator.web.app
import fargate_operator.web.mcp_lazy, fargate_operator.service.api, fargate_operator.store.feed, kopf
print(json.dumps(sorted(m for m in ("mcp", "fargate_operator.web.mcp") if sys.modules.get(m))))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def test_an_exec_kubeconfig_keeps_the_official_client(tmp_path: Path) -> None:
    from fargate_operator.kubeclient import needs_official_client

    kubeconfig = tmp_path / "kubeconfig"
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws", "args": ["eks"]}}
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "clusters": [{"name": "c", "cluster": {"server": "https://eks"}}],
                "users": [{"name": "u", "user": user}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    assert needs_official_client(str(kubeconfig))
    assert not needs_official_client(str(tmp_path / "absent"))


def test_a_kubeconfig_with_token_and_ca_data_becomes_a_connection(tmp_path: Path, monkeypatch: Any) -> None:
    from fargate_operator import kubeclient

    ca = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "clusters": [
                    {
                        "name": "c",
                        "cluster": {
                            "server": "https://10.0.0.1:6443/",
                            "certificate-authority-data": base64.b64encode(ca).decode(),
                        },
                    }
                ],
                "users": [{"name": "u", "user": {"token": "secret-token"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u", "namespace": "ns"}}],
                "current-context": "x",
            }
        )
    )
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "elsewhere"))  # the argument wins over the environment
    conn = kubeclient.connection(str(kubeconfig))
    assert (conn.server, conn.ca_data, conn.token, conn.token_path) == (
        "https://10.0.0.1:6443",
        ca,
        "secret-token",
        None,
    )
    assert kubeclient._Auth(conn).headers() == {"Authorization": "Bearer secret-token"}
    login = kubeclient.kopf_login(conn)  # Kopf's watches use the same identity
    assert (login.server, login.token) == ("https://10.0.0.1:6443", "secret-token")


def test_the_mcp_app_is_built_once_on_the_first_request_and_stopped_with_the_server() -> None:
    built: list[int] = []
    lifespan: list[str] = []

    def build() -> Starlette:
        built.append(1)

        async def hello(_: Any) -> PlainTextResponse:
            return PlainTextResponse("hi")

        from contextlib import asynccontextmanager

        @asynccontextmanager
        async def life(app: Starlette) -> Any:
            lifespan.append("up")
            yield
            lifespan.append("down")

        return Starlette(routes=[Route("/mcp", hello)], lifespan=life)

    app = LazyApp(build)

    async def request() -> bytes:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "GET",
            "path": "/mcp",
            "headers": [],
            "query_string": b"",
            "http_version": "1.1",
        }
        await app(scope, receive, send)
        return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")

    async def run() -> list[bytes]:
        messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
        started = asyncio.Event()
        finish = asyncio.Event()

        async def receive() -> dict[str, Any]:
            message = next(messages)
            if message["type"] == "lifespan.shutdown":
                await finish.wait()
            return message

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "lifespan.startup.complete":
                started.set()

        server = asyncio.create_task(app({"type": "lifespan"}, receive, send))
        await started.wait()
        assert not app.built and not built  # the server is up, nothing imported or built
        answers = [await request(), await request()]
        finish.set()
        await server
        return answers

    assert asyncio.run(run()) == [b"hi", b"hi"]
    assert built == [1] and lifespan == ["up", "down"]
