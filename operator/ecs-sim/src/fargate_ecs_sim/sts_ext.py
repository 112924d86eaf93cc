"""STS as AWS documents it, where moto's differs and FargateAccounts depend on it.

- Expired session credentials are refused: an ECS request signed with the access key of an assumed-role
  session past its Expiration gets ExpiredTokenException ("The security token included in the request
  is expired"), as every AWS service answers it. moto accepts them forever, which would hide an operator
  that never refreshes.
- A role's trust policy that requires an External ID (Condition StringEquals sts:ExternalId) refuses
  AssumeRole without it, or with another one: AccessDenied ("... is not authorized to perform:
  sts:AssumeRole on resource: <role>"). Only roles that exist in the emulator's IAM are checked (moto
  lets anyone assume a role that does not exist, and that stays so: tests need no IAM setup). Nothing
  else of trust policies is evaluated (principals, session tags, source identity): see the README.
- Session lifetime can be compressed for tests, like the lifecycle step (`--sts-session-seconds`, env
  FARGATE_ECS_SIM_STS_SESSION_SECONDS): AssumeRole grants at most that many seconds (real STS: at least
  900). AssumeRoleWithWebIdentity is left as asked.
"""

from __future__ import annotations

import datetime
import json
import urllib.parse
from typing import Any

import moto.sts.models
from moto.iam.models import iam_backends
from moto.sts.exceptions import STSClientError
from moto.sts.models import STSBackend, sts_backends

EXPIRED = (
    400,
    {"Content-Type": "application/x-amz-json-1.1"},
    json.dumps({"__type": "ExpiredTokenException", "message": "The security token included in the request is expired"}),
)


class Settings:
    session_seconds: int = 0  # 0: as asked


SETTINGS = Settings()


def _required_external_id(policy_document: str) -> set[str] | None:
    """The External IDs an Allow of sts:AssumeRole requires (None: the policy requires none)."""
    try:
        doc = json.loads(urllib.parse.unquote(policy_document))
    except ValueError:
        return None
    required: set[str] = set()
    statements = doc.get("Statement") or []
    for st in statements if isinstance(statements, list) else [statements]:
        actions = st.get("Action") or []
        actions = actions if isinstance(actions, list) else [actions]
        if st.get("Effect") != "Allow" or not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            continue
        equals = (st.get("Condition") or {}).get("StringEquals") or {}
        value = equals.get("sts:ExternalId")
        if value is None:
            return None  # an Allow without the condition: no External ID needed
        required.update(value if isinstance(value, list) else [value])
    return required or None


def _check_trust(role_arn: str, external_id: str | None, caller_account: str) -> None:
    parts = role_arn.split(":")
    if len(parts) < 6:
        return
    account, partition = parts[4], parts[1]
    try:
        role = iam_backends[account][partition].get_role_by_arn(role_arn)
    except Exception:
        return  # moto: any role may be assumed when it does not exist
    required = _required_external_id(role.assume_role_policy_document)
    if required is not None and external_id not in required:
        raise STSClientError(
            "AccessDenied",
            f"User: arn:{partition}:sts::{caller_account}:assumed-role/caller is not authorized to perform: "
            f"sts:AssumeRole on resource: {role_arn}",
        )


def install() -> None:
    original = STSBackend.assume_role
    if getattr(original, "__sim__", False):
        return

    def assume_role(self: STSBackend, **kwargs: Any) -> Any:
        _check_trust(kwargs["role_arn"], kwargs.get("external_id"), self.account_id)
        if SETTINGS.session_seconds:
            kwargs["duration"] = min(int(kwargs.get("duration") or 3600), SETTINGS.session_seconds)
        return original(self, **kwargs)

    def assume_role_with_web_identity(self: STSBackend, **kwargs: Any) -> Any:
        return original(self, **kwargs)  # neither capped nor trust-checked (moto checks no token either)

    assume_role.__sim__ = True  # type: ignore[attr-defined]
    moto.sts.models.STSBackend.assume_role = assume_role  # type: ignore[method-assign,assignment]
    moto.sts.models.STSBackend.assume_role_with_web_identity = assume_role_with_web_identity  # type: ignore[method-assign]


def expired_answer(headers: Any) -> tuple[int, dict[str, str], str] | None:
    """ExpiredTokenException for an ECS (JSON protocol) request signed by an expired session, else None."""
    if not str(headers.get("X-Amz-Target", "")).startswith("AmazonEC2ContainerServiceV20141113."):
        return None
    auth = str(headers.get("Authorization", ""))
    marker = "Credential="
    if marker not in auth:
        return None
    key = auth.split(marker, 1)[1].split("/", 1)[0]
    now = datetime.datetime.now(datetime.UTC)
    for _, _, backend in sts_backends.iter_backends():
        for role in getattr(backend, "assumed_roles", []):
            if role.access_key_id == key:
                expires = role.expiration
                if expires.tzinfo is None:
                    expires = expires.replace(tzinfo=datetime.UTC)
                return EXPIRED if expires <= now else None
    return None


__all__ = ["SETTINGS", "expired_answer", "install"]
