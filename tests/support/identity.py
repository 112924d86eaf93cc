"""Callers as Kubernetes identities in the test world: ServiceAccounts, RoleBindings, TokenRequest tokens, audit events.

The roles are the chart's example ClusterRoles as shipped (taken from the rendered
deploy/fargate-operator.yaml), plus one test role with every verb (exec included) for the
modules that exercise every operation.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any, Protocol

import yaml

from fargate_devenv.control_plane import ControlPlane


class Cluster(Protocol):
    """The test world's control plane or the node tier's cluster: anything with kubectl."""

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> CompletedProcess[str]: ...


REPO = Path(__file__).resolve().parents[2]
AUDIENCE = "fargate-operator"
READ_ONLY = "fargate-operator-agent-read-only"
RUN_TASKS = "fargate-operator-agent-run-tasks"
DEPLOY_SERVICES = "fargate-operator-ci-deploy-services"
FULL = "fargate-operator-test-full-access"  # tests only: every verb on the four kinds, fargatetasks/exec and /log
_FULL_ROLE = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "ClusterRole",
    "metadata": {"name": FULL},
    "rules": [
        {
            "apiGroups": ["ecs.fargate.dev"],
            "resources": ["fargateclusters", "fargatetaskdefinitions", "fargateservices", "fargatetasks"],
            "verbs": ["get", "list", "watch", "create", "patch", "delete"],
        },
        {"apiGroups": ["ecs.fargate.dev"], "resources": ["fargatetasks/exec"], "verbs": ["create"]},
        {"apiGroups": ["ecs.fargate.dev"], "resources": ["fargatetasks/log"], "verbs": ["get"]},
    ],
}


def example_roles() -> list[dict[str, Any]]:
    """The chart's example ClusterRoles for callers, as `kubectl apply -f deploy/fargate-operator.yaml` installs them."""
    docs = yaml.safe_load_all((REPO / "deploy" / "fargate-operator.yaml").read_text())
    names = {READ_ONLY, RUN_TASKS, DEPLOY_SERVICES}
    return [d for d in docs if d and d["kind"] == "ClusterRole" and d["metadata"]["name"] in names]


def install_roles(cp: Cluster, examples: bool = True) -> None:
    """The full-access test role, and the chart's example roles unless a Helm release installed them."""
    cp.kubectl("apply", "-f", "-", input=yaml.safe_dump_all([*(example_roles() if examples else []), _FULL_ROLE]))


def service_account(cp: Cluster, namespace: str, name: str, clusterrole: str | None = None) -> str:
    """A ServiceAccount bound (if `clusterrole`) in its own namespace; returns its user name."""
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}}
    ]
    if clusterrole:
        docs.append(rolebinding(namespace, name, clusterrole, namespace))
    cp.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs))
    return f"system:serviceaccount:{namespace}:{name}"


def rolebinding(namespace: str, sa: str, clusterrole: str, sa_namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": f"{sa_namespace}.{sa}.{clusterrole}"[:63].rstrip(".-"), "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": clusterrole},
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": sa_namespace}],
    }


def token(cp: Cluster, namespace: str, name: str, audience: str = AUDIENCE, duration: str = "1h") -> str:
    """A token from the TokenRequest API (what a projected ServiceAccount token volume holds)."""
    return cp.kubectl(
        "create", "token", name, "-n", namespace, f"--audience={audience}", f"--duration={duration}"
    ).stdout.strip()


def audit_events(cp: ControlPlane, since: float = 0.0) -> list[dict[str, Any]]:
    """The API server's audit events (the test world logs writes of the four kinds and the reviews)."""
    events = []
    for line in cp.audit_log.read_text().splitlines():
        event = json.loads(line)
        stamp = event.get("stageTimestamp", "")
        if since and stamp and _epoch(stamp) < since:
            continue
        events.append(event)
    return events


def _epoch(stamp: str) -> float:
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def resigned(cp: ControlPlane, token: str, **claims: Any) -> str:
    """`token` with some claims changed, signed again with the test world's ServiceAccount signing key.

    The API server then sees a token it issued in every respect but those claims (e.g. an `exp` in the
    past: an expired token, which TokenRequest cannot make -- it refuses durations under 10 minutes).
    """
    import jwt

    assert cp.workdir is not None
    header = jwt.get_unverified_header(token)
    payload = {**jwt.decode(token, options={"verify_signature": False}), **claims}
    key = (cp.workdir / "pki" / "sa.key").read_bytes()
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": header["kid"]})
