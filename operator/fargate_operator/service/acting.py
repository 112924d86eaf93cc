"""Custom-resource writes made as the caller: the operator's client, impersonating the caller's user and groups.

The API server then authorizes the write for the caller (RBAC), runs admission with the caller's
user info, and records the caller in the audit log (`impersonatedUser`, next to the operator as the
authenticated `user`). The operator needs the right to impersonate (the chart grants it for
ServiceAccounts and for the users and groups it is given), not the right to write these objects.
Kubernetes docs, "User impersonation": "the request is authenticated as the impersonating user...
then the user info is switched to the impersonated user ... and the request is authorized as the
impersonated user".
"""

from __future__ import annotations

from typing import Any

from fargate_operator import k8s
from fargate_operator.kubeclient import MERGE_PATCH
from fargate_operator.service.errors import ApiError, access_denied, invalid
from fargate_operator.service.identity import Principal


def answer_error(status: int, answer: dict[str, Any], principal: Principal) -> ApiError:
    """The API server's refusal of a write, as ECS would phrase a client mistake."""
    message = str(answer.get("message") or f"HTTP {status}")
    if status == 403:
        if "cannot impersonate" in message:
            # The operator's own RBAC lacks this user or group: an installation matter, said as such.
            message = (
                f"the operator is not allowed to act as {principal.user} (Helm values identity.impersonateUsers / "
                f"identity.impersonateGroups): {message}"
            )
        return access_denied(message)
    if status in (400, 409, 422):
        return invalid(message)
    if status == 404:
        return invalid(f"not found: {message}")
    return ApiError("ServerException", message, 500)


class Conflict(Exception):
    """409 on a write made conditional on a resourceVersion: the object changed meanwhile."""


class AlreadyExists(Exception):
    """409 AlreadyExists on a create: an object of that name is there (the API server authorized the caller first)."""


async def _call(
    method: str, path: str, principal: Principal, body: dict[str, Any] | None, content_type: str = "application/json"
) -> tuple[int, dict[str, Any]]:
    status, answer = await k8s.request_json(
        method, path, body, headers=principal.impersonation_headers(), content_type=content_type
    )
    if status < 300:
        k8s.K8S_WRITES.labels(method.lower() if method != "POST" else "create").inc()
    return status, answer


async def create(kind: str, namespace: str, body: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """Create as the caller; AlreadyExists when the name is taken."""
    status, answer = await _call("POST", k8s.object_path(kind, namespace), principal, body)
    if status == 409 and answer.get("reason") == "AlreadyExists":
        raise AlreadyExists(str(answer.get("message") or f"{kind} {body['metadata']['name']} already exists"))
    if status >= 300:
        raise answer_error(status, answer, principal)
    return answer


async def patch(
    kind: str,
    namespace: str,
    name: str,
    merge_patch: dict[str, Any],
    principal: Principal,
    *,
    conditional: bool = False,
) -> dict[str, Any]:
    """A JSON merge patch as the caller; with `conditional` (a resourceVersion in it) a 409 raises Conflict."""
    status, answer = await _call("PATCH", k8s.object_path(kind, namespace, name), principal, merge_patch, MERGE_PATCH)
    if status == 409 and conditional:
        raise Conflict(name)
    if status >= 300:
        raise answer_error(status, answer, principal)
    return answer


async def delete(kind: str, namespace: str, name: str, principal: Principal) -> None:
    """Delete as the caller; an object already gone is fine."""
    status, answer = await _call("DELETE", k8s.object_path(kind, namespace, name), principal, None)
    if status >= 300 and status != 404:
        raise answer_error(status, answer, principal)
