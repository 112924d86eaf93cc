"""The MCP endpoint (Streamable HTTP, `/mcp`): the operations as tools, the resources as MCP resources.

One tool per row of the operation table (service/operations.py): the 20 ECS operations and two tools
of its own (executecommandoutput, gettasklogs). Built on the official SDK's low-level server so each
ECS tool carries the exact ECS shapes: input and output schemas are generated from botocore's ECS
model (the same source as the CRDs), arguments are checked with botocore's validator (as the REST
adapter does); an own tool's schemas are written for it (OWN_TOOLS). Every call goes through the same
service layer; descriptions and annotations come from the rows.

Authorization as the MCP specification describes it for an OAuth protected resource: the
endpoint serves its protected-resource metadata (RFC 9728) at
/.well-known/oauth-protected-resource/mcp, naming the token audiences it accepts; a request
without a valid bearer token gets 401 with `WWW-Authenticate: Bearer ... resource_metadata=...`.
Tokens: a Kubernetes token for one of those audiences (TokenReview), or a key Secret's `token`.
What the caller may do is RBAC's, asked per call by the service layer; tools/list shows only the
tools the caller may use in the namespace it addresses. Read-only mode (no --mcp-write) hides and
refuses the write tools for everybody.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from mcp import MCPError, types
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.routes import build_resource_metadata_url
from mcp.server.auth.settings import AuthSettings
from mcp.server.lowlevel import Server
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from fargate_operator import k8s
from fargate_operator.models.kinds import CLUSTER, PLURALS, SERVICE, TASK, TASK_DEFINITION
from fargate_operator.schema.shapes import doc_text, ecs_model, shape_schema
from fargate_operator.service import exec_run as execs_run
from fargate_operator.service.access import Permission
from fargate_operator.service.api import EcsApi
from fargate_operator.service.errors import ApiError
from fargate_operator.service.identity import Principal
from fargate_operator.service.operations import OPERATIONS, Operation
from fargate_operator.web import mcp_logs
from fargate_operator.web.auth import NAMESPACE_HEADER, CredentialSource, addressing
from fargate_operator.web.mcp_lazy import McpSettings
from fargate_operator.web.rest import validate
from fargate_operator.web.review_budget import ReviewRefused

log = logging.getLogger(__name__)
# JSON-RPC error codes of resources/read: the MCP specification's "Resource not found" (-32002) and
# invalid params; a refusal gets a code of its own from the range JSON-RPC leaves to servers.
RESOURCE_NOT_FOUND, INVALID_PARAMS, FORBIDDEN = -32002, -32602, -32003
KINDS = (CLUSTER, TASK_DEFINITION, SERVICE, TASK)


@dataclass(frozen=True)
class OwnShapes:
    """What botocore's model gives an ECS operation, for a tool of the endpoint's own."""

    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    check: Callable[[dict[str, Any]], None]  # the arguments, before anything is asked


_TEXT = {"type": "string", "minLength": 1}


def check_run_arguments(arguments: dict[str, Any]) -> None:
    """The exec tool's own arguments (not an ECS shape): names and types, before anything is asked."""
    known = {"cluster", "task", "container", "command", "timeoutSeconds", "maxOutputBytes"}
    unknown = sorted(set(arguments) - known)
    if unknown:
        raise ApiError("InvalidParameterException", f"unknown parameter {unknown[0]}; allowed: {sorted(known)}")
    for name in ("task", "command"):
        if name not in arguments:
            raise ApiError("InvalidParameterException", f"{name} is required")
    for name in ("cluster", "task", "container", "command"):
        if name in arguments and (not isinstance(arguments[name], str) or not arguments[name]):
            raise ApiError("InvalidParameterException", f"{name} must be a non-empty string")
    execs_run.bounds(arguments)


def _checked_by_the_service(arguments: dict[str, Any]) -> None:
    """Nothing here: the service layer checks the log tool's arguments (service/task_logs.py)."""


# The tools that are not ECS operations (rows with ecs=False in service/operations.py), by operation.
OWN_TOOLS: dict[str, OwnShapes] = {
    # ExecuteCommand for agents: the operator reads the session and answers its output (service/exec_run.py).
    "ExecuteCommandOutput": OwnShapes(
        input_schema={
            "type": "object",
            "properties": {
                "cluster": _TEXT,
                "task": _TEXT,
                "container": _TEXT,
                "command": _TEXT,
                "timeoutSeconds": {"type": "number", "minimum": 1, "maximum": execs_run.MAX_TIMEOUT_SECONDS},
                "maxOutputBytes": {"type": "integer", "minimum": 1, "maximum": execs_run.MAX_OUTPUT_BYTES},
            },
            "required": ["task", "command"],
            "additionalProperties": False,
        },
        output_schema={
            "type": "object",
            "properties": {
                "taskArn": {"type": "string"},
                "containerName": {"type": "string"},
                "output": {"type": "string"},
                "outputTruncated": {"type": "boolean"},
                "exitCode": {"type": ["integer", "null"]},
                "timedOut": {"type": "boolean"},
                "durationSeconds": {"type": "number"},
            },
            "required": ["output", "outputTruncated", "exitCode", "timedOut", "durationSeconds"],
        },
        check=check_run_arguments,
    ),
    "GetTaskLogs": OwnShapes(mcp_logs.INPUT_SCHEMA, mcp_logs.OUTPUT_SCHEMA, _checked_by_the_service),
}


def for_json_schema(schema: Any) -> Any:
    """Adapt a generated Kubernetes schema for JSON Schema clients.

    Timestamps are answered as epoch seconds (ECS's wire form); patterns with
    Unicode classes (\\p{L}), which Kubernetes (RE2) knows but Python's `re` does
    not, are left to botocore's validation on the server.
    """
    if isinstance(schema, dict):
        out = {k: for_json_schema(v) for k, v in schema.items()}
        if out.get("format") == "date-time":
            out.pop("format")
            out["type"] = "number"
        if "\\p{" in str(out.get("pattern", "")):
            out.pop("pattern")
        return out
    if isinstance(schema, list):
        return [for_json_schema(v) for v in schema]
    return schema


def tool_for(op: Operation) -> types.Tool:
    """The tool of one row: an ECS operation's shapes from botocore's model, an own tool's from OWN_TOOLS."""
    if op.ecs:
        model = ecs_model()["operations"][op.name]
        input_schema = for_json_schema(shape_schema(model["input"]["shape"]))
        output_schema = for_json_schema(shape_schema(model["output"]["shape"]))
        description = doc_text(model.get("documentation"), limit=600) + op.guidance
    else:
        own = OWN_TOOLS[op.name]
        input_schema, output_schema, description = own.input_schema, own.output_schema, op.guidance
    title = op.title or op.name
    return types.Tool(
        name=op.tool,
        title=title,
        description=description,
        input_schema=input_schema,
        output_schema=output_schema,
        annotations=types.ToolAnnotations(
            title=title,
            read_only_hint=not op.write,
            destructive_hint=op.destructive,
            idempotent_hint=not op.write or op.idempotent,
            # Writes reach AWS through the operator; reads answer from Kubernetes unless they ask AWS themselves.
            open_world_hint=op.write or op.reads_aws,
        ),
    )


def check_arguments(op: Operation, arguments: dict[str, Any]) -> None:
    """InvalidParameterException for arguments the operation cannot take, before anything is asked."""
    if op.ecs:
        validate(op.name, arguments)
    else:
        OWN_TOOLS[op.name].check(arguments)


def served(read_only: bool) -> list[Operation]:
    """The rows an endpoint makes tools of, in tools/list's order: the ECS operations, then its own tools."""
    rows = (op for op in OPERATIONS.values() if not (read_only and op.write))
    return sorted(rows, key=lambda op: (not op.ecs, op.name))


# The address an MCP request came from; the SDK hands the token verifier the token alone.
PEER: ContextVar[str] = ContextVar("mcp_peer", default="")


class PeerBounds:
    """ASGI middleware: names the peer for the token review bounds, and answers 429 when one is reached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        mark = PEER.set(client[0] if client else "")
        try:
            await self.app(scope, receive, send)
        except ReviewRefused as refused:  # raised while authenticating: nothing was answered yet
            body = {"error": "too_many_requests", "error_description": refused.message}
            await JSONResponse(body, 429, headers={"Retry-After": str(refused.retry_after)})(scope, receive, send)
        finally:
            PEER.reset(mark)


class IdentityTokenVerifier:
    """Bearer tokens: a key Secret's token, or a Kubernetes token for this service (TokenReview)."""

    def __init__(self, identities: CredentialSource) -> None:
        self.identities = identities

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            principal = await self.identities.by_bearer(token, PEER.get())
        except ReviewRefused:
            raise  # over the client's bounds: PeerBounds answers 429, not "invalid token"
        except ApiError as err:  # the API server did not answer the review: no caller we can name
            log.warning("MCP bearer token not verified: %s", err.message)
            return None
        if principal is None:
            return None
        claims = {
            "user": principal.user,
            "groups": list(principal.groups),
            "namespace": principal.namespace,
            "read_only": principal.read_only,
            "via": principal.via,
        }
        return AccessToken(token=token, client_id=principal.user, scopes=[], claims=claims)


def _principal(ctx: Any) -> Principal:
    """The caller of this MCP request, addressing X-Fargate-Namespace when the request names one."""
    token = get_access_token()
    if token is None or not token.claims:
        raise ApiError("AccessDeniedException", "no credential", 403)
    c = token.claims
    principal = Principal(
        str(c["user"]), tuple(c["groups"]), c.get("namespace"), bool(c.get("read_only")), str(c.get("via", "token"))
    )
    request = getattr(ctx, "request", None)
    headers = getattr(request, "headers", None)
    return addressing(principal, headers.get(NAMESPACE_HEADER) if headers is not None else None)


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)


def build_server(api: EcsApi, settings: McpSettings) -> Server[Any]:
    operations = {op.tool: op for op in served(settings.read_only)}
    tools = {name: tool_for(op) for name, op in operations.items()}

    async def may(principal: Principal, namespace: str, *wanted: Permission) -> bool:
        for permission in wanted:
            if await api.access.allowed(principal, namespace, permission):
                return True
        return False

    def principal_of(ctx: Any) -> Principal:
        """The caller, for handlers whose errors are JSON-RPC errors (not tool results)."""
        try:
            return _principal(ctx)
        except ApiError as err:
            raise MCPError(INVALID_PARAMS, f"{err.code}: {err.message}") from None

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        """The tools this caller may use in the namespace it addresses (every namespace if it names none)."""
        principal = principal_of(ctx)
        namespace = principal.namespace or ""
        usable = [
            tool for name, tool in tools.items() if await may(principal, namespace, *operations[name].permissions)
        ]
        return types.ListToolsResult(tools=usable)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        operation = operations.get(params.name)
        if operation is None:
            hidden = " (write tools are off: the endpoint is read-only)" if settings.read_only else ""
            return _error(f"unknown tool {params.name!r}{hidden}")
        arguments = dict(params.arguments or {})
        try:
            principal = _principal(ctx)
            check_arguments(operation, arguments)
            result = await api.call(operation.name, arguments, principal)
        except ApiError as err:
            return _error(f"{err.code}: {err.message}")
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(result, default=str))],
            structured_content=result,
        )

    async def list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
        """The kinds (and their objects) the caller may list in the namespace it addresses."""
        principal = principal_of(ctx)
        if not principal.namespace:
            raise MCPError(INVALID_PARAMS, "no namespace: name one with the X-Fargate-Namespace header")
        ns = principal.namespace
        listable = [kind for kind in KINDS if await may(principal, ns, Permission("list", kind))]
        resources = [
            types.Resource(
                uri=f"fargate://{ns}/{PLURALS[kind]}", name=f"{PLURALS[kind]} in {ns}", mime_type="application/json"
            )
            for kind in listable
        ]
        for kind in listable:
            for obj in api.rt.watch_cache.in_namespace(kind, ns):
                name = obj["metadata"]["name"]
                resources.append(
                    types.Resource(
                        uri=f"fargate://{ns}/{PLURALS[kind]}/{name}",
                        name=f"{kind} {name}",
                        description=f"spec and status of {kind} {ns}/{name}",
                        mime_type="application/json",
                    )
                )
        return types.ListResourcesResult(resources=resources)

    async def read_resource(ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        """One object (`get`) or a kind's listing (`list`) in the URI's namespace, if RBAC lets the caller."""
        principal = principal_of(ctx)
        uri = str(params.uri)
        parts = uri.removeprefix("fargate://").split("/")
        kinds = {PLURALS[k]: k for k in KINDS}
        if not uri.startswith("fargate://") or len(parts) not in (2, 3) or parts[1] not in kinds:
            raise MCPError(INVALID_PARAMS, f"no resource {uri}; URIs look like fargate://<namespace>/<plural>[/<name>]")
        ns, kind = parts[0], kinds[parts[1]]
        verb = "get" if len(parts) == 3 else "list"
        try:
            await api.access.require(principal, ns, Permission(verb, kind))
        except ApiError as err:
            raise MCPError(FORBIDDEN, f"{err.code}: {err.message}") from None
        if len(parts) == 2:
            body: Any = [
                {"name": o["metadata"]["name"], "spec": o.get("spec", {}), "status": o.get("status", {})}
                for o in api.rt.watch_cache.in_namespace(kind, ns)
            ]
        else:
            obj = api.rt.watch_cache.get(kind, ns, parts[2])
            if obj is None:
                raise MCPError(RESOURCE_NOT_FOUND, f"no {kind} {ns}/{parts[2]}")
            body = {"name": parts[2], "spec": obj.get("spec", {}), "status": obj.get("status", {})}
        text = json.dumps(body, default=str)
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, mime_type="application/json", text=text)]
        )

    return Server(
        "fargate-operator",
        version="0.1.0",
        instructions="Manage AWS ECS Fargate workloads through Kubernetes custom resources. Tools mirror the ECS API "
        "(same names, shapes and errors); reads answer from the cluster's resources, writes create or change them.",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_read_resource=read_resource,
    )


class ResourceMetadata:
    """RFC 9728 protected-resource metadata: this endpoint, who issues its tokens, the audiences it accepts.

    The authorization server named is the issuer of the Kubernetes ServiceAccount tokens (the API
    server's OIDC discovery document says which), asked once; the API server's URL if it does not say.
    """

    def __init__(self, settings: McpSettings) -> None:
        self.settings = settings
        self._issuer: str | None = None

    async def issuer(self) -> str:
        if self._issuer is None:
            try:
                status, answer = await k8s.request_json("GET", "/.well-known/openid-configuration")
                issuer = str(answer.get("issuer") or "") if status < 300 else ""
            except Exception as exc:  # discovery is optional: fall back, do not fail the metadata
                log.warning("service account issuer discovery failed: %s", exc)
                issuer = ""
            self._issuer = issuer or k8s.api().host
        return self._issuer

    async def handle(self, request: Request) -> Response:
        body = {
            "resource": self.settings.public_url,
            "authorization_servers": [await self.issuer()],
            "bearer_methods_supported": ["header"],
            "resource_name": "fargate-operator MCP endpoint (ECS on Kubernetes)",
            # Extension (RFC 9728 section 2 allows more parameters): what a Kubernetes token must be made for,
            # e.g. a projected ServiceAccount token with `audience:` one of these.
            "token_audiences": list(self.settings.audiences),
            "token_types_supported": ["kubernetes-serviceaccount", "kubernetes-user", "fargate-operator-key"],
        }
        return JSONResponse(body, headers={"Cache-Control": "public, max-age=300"})


def build_mcp_app(api: EcsApi, identities: CredentialSource, settings: McpSettings) -> Starlette:
    server = build_server(api, settings)
    base = settings.public_url.rsplit("/mcp", 1)[0]
    app = server.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=list(settings.allowed_hosts),
            allowed_origins=list(settings.allowed_origins),
        ),
        auth=AuthSettings(
            issuer_url=AnyHttpUrl(base),
            resource_server_url=AnyHttpUrl(settings.public_url),
            validate_token_resource=False,  # the verifier checks the audience itself (TokenReview)
        ),
        token_verifier=IdentityTokenVerifier(identities),
    )
    # Ours first: the SDK's own metadata route would name neither the token issuer nor the audiences.
    path = str(build_resource_metadata_url(AnyHttpUrl(settings.public_url))).split("://", 1)[1]
    path = "/" + path.split("/", 1)[1]
    app.router.routes.insert(0, Route(path, ResourceMetadata(settings).handle, methods=["GET"]))
    app.add_middleware(PeerBounds)  # outside the SDK's authentication middleware, inside Starlette's error handler
    return app
