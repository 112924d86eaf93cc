"""The operator's own Kubernetes API client: Kopf's login, urllib3's connection pools, JSON in and out.

The operator only ever sends JSON requests to paths it knows and reads JSON answers (writes, watch
streams, the Lease, TokenReviews, SubjectAccessReviews); the official client's model and API classes
add nothing to that. Kopf imports the official client at start-up when it is installed (to offer its
logins and recognise its models; ~9 MiB of RSS, accepted: no Kopf setting leaves it out), but no
operator call goes through it. So:
- who we are comes from Kopf's own logins -- the in-cluster ServiceAccount (the token re-read every
  minute: projected tokens rotate), else the kubeconfig (`KUBECONFIG`): server, CA, token, client
  certificate -- the same ConnectionInfo Kopf's watches use;
- a kubeconfig whose user runs an exec plugin or an auth provider (e.g. `aws eks get-token`) is left
  to the official client's configuration, imported only then (`needs_official_client`);
- requests go through urllib3 (a pool per client; thread-safe), errors raise ApiError(status, reason).
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import ssl
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import urllib3
import yaml

SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
TOKEN_REREAD_SECONDS = 60.0
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
Headers = list[tuple[str, str]]


class ApiError(Exception):
    """The API server answered with an error status (or could not be asked)."""

    def __init__(self, status: int, reason: str, body: str = "") -> None:
        super().__init__(f"{status} {reason}")
        self.status, self.reason, self.body = status, reason, body


@dataclass(frozen=True)
class Connection:
    """Where the API server is and how to prove who we are (from Kopf's ConnectionInfo)."""

    server: str
    ca_path: str | None = None
    ca_data: bytes | None = None  # PEM
    insecure: bool = False
    token: str | None = None
    token_path: str | None = None  # re-read: a projected ServiceAccount token rotates
    username: str | None = None
    password: str | None = None
    cert_path: str | None = None
    key_path: str | None = None
    official: Any = None  # the official client's Configuration, for exec / auth-provider kubeconfigs


def _kubeconfig_user(path: str) -> dict[str, Any]:
    with open(os.path.expanduser(path.split(os.pathsep)[0]), encoding="utf-8") as f:
        config = yaml.safe_load(f) or {}
    current = config.get("current-context")
    context = next((c.get("context") or {} for c in config.get("contexts", []) if c.get("name") == current), {})
    return next((u.get("user") or {} for u in config.get("users", []) if u.get("name") == context.get("user")), {})


def needs_official_client(kubeconfig: str | None) -> bool:
    """Whether the kubeconfig's user authenticates through a plugin (exec, auth-provider): Kopf's minimal
    kubeconfig login does not run those, the official client does."""
    if kubeconfig is None:
        return False
    try:
        user = _kubeconfig_user(kubeconfig)
    except (OSError, yaml.YAMLError):
        return False  # no readable kubeconfig: the login says so later
    return bool(user.get("exec") or user.get("auth-provider"))


def _write_temp(data: bytes, suffix: str) -> str:
    """A file ssl can load (a kubeconfig's inline client certificate and key), removed when the process exits."""
    fd, path = tempfile.mkstemp(prefix="fargate-operator-", suffix=suffix)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    atexit.register(_remove, path)
    return path


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _pem(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return raw if raw.lstrip().startswith(b"-----") else base64.b64decode(raw)


def connection(kubeconfig: str | None = None) -> Connection:
    """In a pod, the ServiceAccount; else the kubeconfig (argument, else KUBECONFIG / ~/.kube/config)."""
    import kopf

    settings = kopf.OperatorSettings()
    in_cluster = os.path.exists(f"{SERVICE_ACCOUNT}/token") and not kubeconfig
    path = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
    if not in_cluster and needs_official_client(path):
        return _official_connection(path)
    if in_cluster:
        info = kopf.login_with_service_account(settings=settings)
    else:
        saved = os.environ.get("KUBECONFIG")
        os.environ["KUBECONFIG"] = os.path.expanduser(path)  # Kopf's kubeconfig login reads only this
        try:
            info = kopf.login_with_kubeconfig(settings=settings)
        finally:
            if saved is None:
                del os.environ["KUBECONFIG"]
            else:
                os.environ["KUBECONFIG"] = saved
    if info is None:
        raise ApiError(0, "no Kubernetes credentials: not in a pod, and no kubeconfig (KUBECONFIG, ~/.kube/config)")
    token_path, server = (f"{SERVICE_ACCOUNT}/token" if in_cluster else None), info.server
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    if in_cluster and host:  # as the official client: the Service's address, not DNS
        server = f"https://{f'[{host}]' if ':' in host else host}:{os.environ.get('KUBERNETES_SERVICE_PORT', '443')}"
    cert = _write_temp(_pem(info.certificate_data), ".crt") if info.certificate_data else info.certificate_path
    key = _write_temp(_pem(info.private_key_data), ".key") if info.private_key_data else info.private_key_path
    return Connection(
        server=str(server).rstrip("/"),
        ca_path=str(info.ca_path) if info.ca_path else None,
        ca_data=_pem(info.ca_data) if info.ca_data else None,
        insecure=bool(info.insecure),
        token=info.token,
        token_path=token_path,
        username=info.username,
        password=info.password,
        cert_path=str(cert) if cert else None,
        key_path=str(key) if key else None,
    )


def _official_connection(path: str) -> Connection:
    import kubernetes

    cfg = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=os.path.expanduser(path), client_configuration=cfg
    )
    return Connection(
        server=cfg.host.rstrip("/"),
        ca_path=cfg.ssl_ca_cert,
        insecure=not cfg.verify_ssl,
        cert_path=cfg.cert_file,
        key_path=cfg.key_file,
        official=cfg,
    )


def kopf_login(conn: Connection) -> Any:
    """The same identity as a ConnectionInfo for Kopf's own watches and patches."""
    import kopf

    return kopf.ConnectionInfo(
        server=conn.server,
        ca_path=conn.ca_path,
        ca_data=conn.ca_data,
        insecure=conn.insecure,
        username=conn.username,
        password=conn.password,
        token=_Auth(conn).token(),
        certificate_path=conn.cert_path,
        private_key_path=conn.key_path,
    )


class _Auth:
    """The Authorization header, the ServiceAccount token re-read every minute."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        # A ServiceAccount token is read from its file at first use (Kopf's re-login after a 401 must not get
        # the token the process started with), then every TOKEN_REREAD_SECONDS.
        self._token, self._read_at = conn.token, float("-inf") if conn.token_path else time.monotonic()
        self._lock = threading.Lock()

    def token(self) -> str | None:
        conn = self._conn
        if conn.official is not None:
            # get_api_key_with_prefix runs the configuration's refresh hook (an exec plugin's token) itself
            value = str(conn.official.get_api_key_with_prefix("authorization") or "")
            return value.removeprefix("Bearer ") or None
        if conn.token_path and time.monotonic() - self._read_at > TOKEN_REREAD_SECONDS:
            with self._lock, open(conn.token_path, encoding="utf-8") as f:
                self._token, self._read_at = f.read().strip(), time.monotonic()
        return self._token

    def headers(self) -> dict[str, str]:
        token = self.token()
        if token:
            return {"Authorization": f"Bearer {token}"}
        if self._conn.username:
            basic = base64.b64encode(f"{self._conn.username}:{self._conn.password or ''}".encode()).decode()
            return {"Authorization": f"Basic {basic}"}
        return {}


class KubeClient:
    """One connection pool to the API server; thread-safe (urllib3)."""

    def __init__(self, conn: Connection, maxsize: int = 8) -> None:
        self.conn = conn
        self._auth = _Auth(conn)
        if conn.insecure:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            context = ssl.create_default_context(
                cafile=conn.ca_path, cadata=conn.ca_data.decode() if conn.ca_data else None
            )
        if conn.cert_path and conn.key_path:
            context.load_cert_chain(conn.cert_path, conn.key_path)
        self._pool = urllib3.PoolManager(maxsize=maxsize, ssl_context=context, retries=False)

    @property
    def host(self) -> str:
        return self.conn.server

    def new(self) -> KubeClient:
        """A client of the same identity with a pool of its own (a watch stream holds its connection)."""
        return KubeClient(self.conn)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        headers: Headers | None = None,
        content_type: str = JSON,
        timeout: tuple[float, float] | None = (10.0, 60.0),
        stream: bool = False,
    ) -> urllib3.BaseHTTPResponse:
        """One request; the answer unread when `stream` (read or release it), else read. Raises only when
        no answer came (ApiError status 0); error statuses are the caller's to judge."""
        url = self.conn.server + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        all_headers = urllib3.HTTPHeaderDict({"Accept": JSON, **self._auth.headers()})
        data = None
        if body is not None:
            all_headers["Content-Type"] = content_type
            data = json.dumps(body).encode()
        for name, value in headers or []:
            all_headers.add(name, value)
        try:
            return self._pool.request(
                method,
                url,
                body=data,
                headers=all_headers,
                timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]) if timeout else None,
                preload_content=not stream,
                redirect=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise ApiError(0, f"{method} {path}: {exc}") from exc

    def json(
        self,
        method: str,
        path: str,
        *,
        ok: tuple[int, ...] = (),
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The answer as JSON; ApiError for an error status not in `ok` (those answer {})."""
        response = self.request(method, path, **kwargs)
        if response.status >= 400:
            if response.status in ok:
                return {}
            raise error_of(response)
        data = response.data
        answer = json.loads(data) if data else {}
        return answer if isinstance(answer, dict) else {}


def error_of(response: urllib3.BaseHTTPResponse) -> ApiError:
    text = response.data.decode("utf-8", "replace") if response.data else ""
    try:
        reason = str(json.loads(text).get("message") or response.reason)
    except (ValueError, AttributeError):
        reason = str(response.reason)
    return ApiError(response.status, reason, text[:500])


def lines(response: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
    """Newline-separated JSON documents (watch events) from a streamed answer."""
    buffer = b""
    for chunk in response.stream(amt=None, decode_content=False):
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                yield line
