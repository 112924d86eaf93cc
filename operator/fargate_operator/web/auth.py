"""Who is calling: a Kubernetes token (tokens.py), or AWS Signature Version 4 or a bearer token from a Secret.

Either way the answer is a Principal: the Kubernetes user and groups the call acts as, which the
service layer authorizes (service/access.py). A key credential is a Secret labelled
`ecs.fargate.dev/credential: "true"` in the operator's credentials namespace, with data keys:
- `accessKeyId` + `secretAccessKey` (SigV4, what the AWS CLI and SDKs send), and/or
- `token` (`Authorization: Bearer <token>`);
- `user`: the Kubernetes user the key acts as (e.g. `system:serviceaccount:team-a:ci`), required;
- `groups`: its groups, comma-separated (default: a ServiceAccount's own groups; none otherwise);
- `namespace`: the namespace calls address unless they name one (default: the ServiceAccount's);
- `readOnly`: "true" to refuse writes whatever RBAC allows the user (a narrowing, never a grant).

SigV4 is verified with botocore's own signer, over exactly the headers the client
listed and a hash of the body as received (VerifyingSigV4). As AWS does, a signature more than
5 minutes from the server's clock is refused. The signature is handed on with the caller
(Authenticated): it names this exact request, so the service layer can refuse a replay of a
write whose repetition would change the outcome (RunTask without clientToken: another task) --
there, through the API server, which every replica shares (service/tasks.py).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

from fargate_operator.service.errors import ApiError
from fargate_operator.service.identity import Principal, effective_groups, service_account, valid_namespace

CREDENTIAL_LABEL = "ecs.fargate.dev/credential"
MAX_SKEW = datetime.timedelta(minutes=5)
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,\s*"
    r"SignedHeaders=(?P<headers>[a-z0-9;\-]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Credential:
    name: str  # the Secret's name
    user: str
    groups: tuple[str, ...]
    namespace: str | None
    read_only: bool
    access_key_id: str | None = None
    secret_access_key: str | None = None
    token: str | None = None

    def principal(self) -> Principal:
        sa = service_account(self.user)
        namespace = self.namespace or (sa[0] if sa else None)
        return Principal(
            self.user, effective_groups(self.user, self.groups), namespace, self.read_only, via=f"key {self.name}"
        )


class CredentialSource(Protocol):
    async def by_access_key(self, key: str) -> Credential | None: ...
    async def by_bearer(self, token: str, client: str = "") -> Principal | None: ...


class InvalidCredential(Exception):
    """A labelled Secret that cannot be a credential; the message names the key, never a value."""


def credential_from_secret(secret: Any) -> Credential:
    """A Credential from a V1Secret-like dict (data base64-encoded); InvalidCredential when unusable.

    An empty `token` is no token (bearer authentication off for this credential): it must never
    match an empty `Authorization: Bearer` value. A key without `user` would act as nobody the API
    server knows: it is refused (docs/acting-as-the-caller.md, migration).
    """
    data: dict[str, str] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            data[key] = base64.b64decode(value).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise InvalidCredential(f"data key {key!r} is not UTF-8 text") from None
    user = data.get("user", "").strip()
    if not user:
        raise InvalidCredential(
            "data key 'user' is missing or empty: a key acts as a Kubernetes user (e.g. "
            "system:serviceaccount:<namespace>:<name>), whose RBAC decides what it may do"
        )
    namespace = data.get("namespace", "").strip() or None
    if namespace is not None and not valid_namespace(namespace):
        raise InvalidCredential("data key 'namespace' is not a namespace name (a DNS-1123 label)")
    token = data.get("token") or None
    if token is None and not (data.get("accessKeyId") and data.get("secretAccessKey")):
        raise InvalidCredential("neither a non-empty 'token' nor both 'accessKeyId' and 'secretAccessKey'")
    return Credential(
        name=secret["metadata"]["name"],
        user=user,
        groups=tuple(g.strip() for g in data.get("groups", "").replace("\n", ",").split(",") if g.strip()),
        namespace=namespace,
        read_only=data.get("readOnly", "false").lower() == "true" or data.get("scope", "write") == "read",
        access_key_id=data.get("accessKeyId"),
        secret_access_key=data.get("secretAccessKey"),
        token=token,
    )


def token_matches(candidates: list[Credential], token: str) -> Credential | None:
    """The credential holding `token`, compared in constant time with every candidate (no early exit)."""
    if not token:
        return None
    given = token.encode("utf-8", "surrogatepass")  # never equal to a valid UTF-8 token
    found = None
    for cred in candidates:
        if cred.token and hmac.compare_digest(cred.token.encode("utf-8"), given) and found is None:
            found = cred
    return found


class VerifyingSigV4(SigV4Auth):  # type: ignore[misc]  # botocore ships no type hints
    """botocore's SigV4 signer, recomputing a received signature over exactly what the client signed.

    Two differences from signing, both from the SigV4 documentation ("Create a canonical request",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html): SignedHeaders is
    "the list of headers that you included in CanonicalHeaders" -- the client's choice, so user-agent
    counts when listed (botocore leaves it and others out of what *it* signs:
    SIGNED_HEADERS_BLACKLIST); and HashedPayload is the hash of the body, computed here from the
    bytes received (the caller refuses an x-amz-content-sha256 header that differs from it).
    """

    def __init__(
        self, credentials: Credentials, service: str, region: str, signed_headers: list[str], body_hash: str
    ) -> None:
        super().__init__(credentials, service, region)
        self._signed_headers = signed_headers
        self._body_hash = body_hash

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        headers = HTTPHeaders()
        for name in self._signed_headers:
            headers[name] = request.headers.get(name, "")
        return headers

    def payload(self, request: AWSRequest) -> str:
        return self._body_hash


NAMESPACE_HEADER = "x-fargate-namespace"


def addressing(principal: Principal, namespace: str | None) -> Principal:
    """The principal addressing the namespace a request names (X-Fargate-Namespace), else its own.

    Naming a namespace grants nothing: the service layer asks RBAC about that namespace.
    """
    if namespace is None:
        return principal
    if not valid_namespace(namespace):
        raise ApiError(
            "InvalidParameterException",
            f"X-Fargate-Namespace must be a namespace name (a DNS-1123 label), got {namespace[:80]!r}",
        )
    return principal.addressing(namespace)


def _denied(code: str, message: str) -> ApiError:
    return ApiError(code, message, 403)


@dataclass(frozen=True)
class Authenticated:
    """Who sent a request, and its SigV4 signature when it was signed (a replay of it carries the same)."""

    principal: Principal
    signature: str | None = None


async def authenticate(
    source: CredentialSource,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    client: str = "",
    must_sign: tuple[str, ...] = (),
    now: datetime.datetime | None = None,
) -> Authenticated:
    """The caller behind a request, or an ApiError with ECS's code and HTTP 403.

    `client`: the address the request came from, which bounds the token reviews it may cost (tokens.py).

    `must_sign`: headers (lower case) that, when a SigV4 request carries them, it must have signed
    -- they change what the call does (the namespace it addresses), so they must not be replaceable.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    auth = lower.get("authorization", "")
    if auth.startswith("Bearer "):
        # RFC 6750 tokens hold no whitespace: strip only HTTP's own (space, tab); an empty token matches nothing.
        token = auth[len("Bearer ") :].strip(" \t")
        principal = await source.by_bearer(token, client) if token else None
        if principal is None:
            raise _denied("UnrecognizedClientException", "The security token included in the request is invalid.")
        return Authenticated(principal)
    if not auth:
        raise _denied("MissingAuthenticationTokenException", "Missing Authentication Token")
    m = _AUTH.match(auth)
    if not m:
        raise _denied("IncompleteSignatureException", "Authorization header is not a valid AWS Signature Version 4")
    if m["service"] != "ecs":
        raise _denied(
            "InvalidSignatureException", f"Credential should be scoped to correct service: 'ecs', not '{m['service']}'."
        )
    amz_date = lower.get("x-amz-date", "")
    try:
        signed_at = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        raise _denied("IncompleteSignatureException", "X-Amz-Date header is missing or malformed") from None
    now = now or datetime.datetime.now(datetime.UTC)
    if abs(now - signed_at) > MAX_SKEW:
        raise _denied(
            "InvalidSignatureException",
            f"Signature expired: {amz_date} is now earlier or later than {(now - MAX_SKEW):%Y%m%dT%H%M%SZ} .. "
            f"{(now + MAX_SKEW):%Y%m%dT%H%M%SZ}",
        )
    if m["date"] != amz_date[:8]:
        raise _denied("InvalidSignatureException", "Credential date does not match X-Amz-Date")
    cred = await source.by_access_key(m["key"])
    if cred is None or not cred.secret_access_key:
        raise _denied("UnrecognizedClientException", "The security token included in the request is invalid.")
    signed = m["headers"].split(";")
    if "host" not in signed:
        raise _denied("InvalidSignatureException", "The Host header must be signed")
    if unsigned := [h for h in must_sign if h in lower and h not in signed]:
        raise _denied("InvalidSignatureException", f"The {', '.join(unsigned)} header must be signed")
    body_hash = hashlib.sha256(body).hexdigest()
    if lower.get("x-amz-content-sha256", body_hash) != body_hash:
        # botocore would take this header's word for the body's hash: check it against the body.
        raise _denied("InvalidSignatureException", "x-amz-content-sha256 does not match the request body")
    request = AWSRequest(method=method, url=url, data=body, headers={h: lower.get(h, "") for h in signed})
    request.context["timestamp"] = amz_date
    signer = VerifyingSigV4(Credentials(m["key"], cred.secret_access_key), "ecs", m["region"], signed, body_hash)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, m["signature"]):
        raise _denied(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        )
    return Authenticated(cred.principal(), m["signature"])
