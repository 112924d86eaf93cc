"""The MCP endpoint (Streamable HTTP, `/mcp`): the 16 ECS operations as tools, the resources as MCP resources.

Built on the official SDK's low-level server so each tool carries the exact ECS
shapes: input and output schemas are generated from botocore's ECS model (the
same source as the CRDs), arguments are checked with botocore's validator (as
the REST adapter does), and every call goes through the same service layer.

Auth: bearer tokens from the same labelled Secrets as the REST adapter (`token`,
`namespace`, and `readOnly: "true"` or `scope: read` for read scope). Read-only
mode hides the write tools and refuses them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mcp import types
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.lowlevel import Server
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl
from starlette.applications import Starlette

from fargate_operator.codegen.botocore_schema import doc_text, ecs_model, shape_schema
from fargate_operator.models.kinds import CLUSTER, PLURALS, SERVICE, TASK, TASK_DEFINITION
from fargate_operator.service.api import WRITE_OPERATIONS, EcsApi
from fargate_operator.service.errors import ApiError
from fargate_operator.web.auth import Principal
from fargate_operator.web.rest import validate

READ_SCOPE, WRITE_SCOPE = "ecs:read", "ecs:write"
DESTRUCTIVE = frozenset({"StopTask", "DeleteService", "DeregisterTaskDefinition"})
# Repeating the call with the same arguments leaves the same state behind.
IDEMPOTENT = frozenset(
    {
        "CreateCluster",
        "RegisterTaskDefinition",
        "UpdateService",
        "DeleteService",
        "StopTask",
        "DeregisterTaskDefinition",
    }
)
KINDS = (CLUSTER, TASK_DEFINITION, SERVICE, TASK)
GUIDANCE = {
    "RunTask": " Runs once per call; pass clientToken to make retries safe. Creates a FargateTask resource.",
    "RegisterTaskDefinition": " Identical content returns the current revision. Creates or updates a "
    "FargateTaskDefinition resource.",
    "CreateService": " Creates a FargateService resource.",
    "UpdateService": " Updates the FargateService resource; omitted members keep their values.",
    "DeleteService": " Refused while desiredCount > 0 unless force is true.",
    "ExecuteCommand": " Needs a task started with enableExecuteCommand; returns an SSM session.",
}


def tool_name(operation: str) -> str:
    return operation.lower()


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


def tool_for(operation: str) -> types.Tool:
    op = ecs_model()["operations"][operation]
    read = operation not in WRITE_OPERATIONS
    input_schema = for_json_schema(shape_schema(op["input"]["shape"]))
    output_schema = for_json_schema(shape_schema(op["output"]["shape"]))
    description = doc_text(op.get("documentation"), limit=600) + GUIDANCE.get(operation, "")
    return types.Tool(
        name=tool_name(operation),
        title=operation,
        description=description,
        input_schema=input_schema,
        output_schema=output_schema,
        annotations=types.ToolAnnotations(
            title=operation,
            read_only_hint=read,
            destructive_hint=operation in DESTRUCTIVE,
            idempotent_hint=read or operation in IDEMPOTENT,
            open_world_hint=not read,  # writes reach AWS through the operator; reads answer from Kubernetes
        ),
    )


@dataclass
class McpSettings:
    read_only: bool = True
    allowed_hosts: tuple[str, ...] = ("127.0.0.1:*", "localhost:*")
    allowed_origins: tuple[str, ...] = ("http://127.0.0.1:*", "http://localhost:*")
    public_url: str = "http://127.0.0.1:9090/mcp"


class SecretTokenVerifier:
    """Bearer tokens from the credential Secrets; scope from readOnly / scope."""

    def __init__(self, credentials: Any) -> None:
        self.credentials = credentials

    async def verify_token(self, token: str) -> AccessToken | None:
        cred = await self.credentials.by_token(token)
        if cred is None:
            return None
        scopes = [READ_SCOPE] if cred.read_only else [READ_SCOPE, WRITE_SCOPE]
        return AccessToken(token=token, client_id=cred.name, scopes=scopes, claims={"namespace": cred.namespace})


def _principal() -> Principal:
    token = get_access_token()
    if token is None or not token.claims:
        raise ApiError("AccessDeniedException", "no credential", 403)
    return Principal(token.client_id, str(token.claims["namespace"]), WRITE_SCOPE not in token.scopes)


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)


def build_server(api: EcsApi, settings: McpSettings) -> Server[Any]:
    operations = {tool_name(op): op for op in api.operations}
    if settings.read_only:
        operations = {name: op for name, op in operations.items() if op not in WRITE_OPERATIONS}
    tools = [tool_for(op) for op in operations.values()]

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        operation = operations.get(params.name)
        if operation is None:
            hidden = " (write tools are off: the endpoint is read-only)" if settings.read_only else ""
            return _error(f"unknown tool {params.name!r}{hidden}")
        arguments = dict(params.arguments or {})
        try:
            principal = _principal()
            if operation in WRITE_OPERATIONS and principal.read_only:
                raise ApiError("AccessDeniedException", f"{params.name} needs the {WRITE_SCOPE} scope", 403)
            validate(operation, arguments)
            result = await api.call(operation, arguments, principal)
        except ApiError as err:
            return _error(f"{err.code}: {err.message}")
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(result, default=str))],
            structured_content=result,
        )

    async def list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
        ns = _principal().namespace
        resources = [
            types.Resource(
                uri=f"fargate://{ns}/{PLURALS[kind]}", name=f"{PLURALS[kind]} in {ns}", mime_type="application/json"
            )
            for kind in KINDS
        ]
        for kind in KINDS:
            for obj in api.rt.registry.in_namespace(kind, ns):
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
        ns = _principal().namespace
        uri = str(params.uri)
        parts = uri.removeprefix("fargate://").split("/")
        kinds = {PLURALS[k]: k for k in KINDS}
        if len(parts) not in (2, 3) or parts[0] != ns or parts[1] not in kinds:
            raise ValueError(f"no resource {uri} in namespace {ns}; URIs look like fargate://{ns}/<plural>[/<name>]")
        kind = kinds[parts[1]]
        if len(parts) == 2:
            body: Any = [
                {"name": o["metadata"]["name"], "spec": o.get("spec", {}), "status": o.get("status", {})}
                for o in api.rt.registry.in_namespace(kind, ns)
            ]
        else:
            obj = api.rt.registry.get(kind, ns, parts[2])
            if obj is None:
                raise ValueError(f"no {kind} {ns}/{parts[2]}")
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


def build_mcp_app(api: EcsApi, credentials: Any, settings: McpSettings) -> Starlette:
    server = build_server(api, settings)
    base = settings.public_url.rsplit("/mcp", 1)[0]
    return server.streamable_http_app(
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
            required_scopes=[READ_SCOPE],
        ),
        token_verifier=SecretTokenVerifier(credentials),
    )
