"""What the node tier's tests share: pods to run, images to load, and waiting on them."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import yaml

from fargate_devenv.ecs_emulator import ACCESS_KEY, SECRET_KEY
from fargate_devenv.image import BuiltImage
from fargate_devenv.node import NodeWorld
from support import operator_process as operator_support


@dataclass(frozen=True)
class NodeImages:
    operator: BuiltImage
    clients: BuiltImage


def apply(node: NodeWorld, *docs: dict[str, Any], namespace: str | None = None) -> None:
    args = ["apply", "-f", "-"] + (["-n", namespace] if namespace else [])
    res = node.kubectl(*args, input="\n---\n".join(yaml.safe_dump(d) for d in docs), check=False)
    assert res.returncode == 0, res.stderr


def apply_ecs_credentials(node: NodeWorld, namespace: str) -> None:
    """How the operator reaches the emulator when not with IRSA / Pod Identity: AWS keys in the Secret
    `ecs-credentials`, which the chart and the plain manifests take as envFrom (docs/install.md)."""
    keys = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "ecs-credentials"}, "stringData": keys}
    apply(node, secret, namespace=namespace)


def get(node: NodeWorld, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
    res = node.kubectl("get", kind, name, "-n", namespace, "-o", "json", check=False)
    return json.loads(res.stdout) if res.returncode == 0 else None


TOKEN_PATH = "/var/run/secrets/fargate-operator/token"  # where run_pod projects a caller's token


def run_pod(
    node: NodeWorld,
    namespace: str,
    name: str,
    image: str,
    command: list[str],
    env: dict[str, str] | None = None,
    config: dict[str, str] | None = None,
    secret_env: dict[str, str] | None = None,
    timeout: float = 180,
    service_account: str | None = None,
    token_audience: str | None = None,
) -> tuple[str, str]:
    """Run a one-shot pod to completion; returns (phase, logs).

    `config` files appear under /config; `secret_env` comes from a Secret of the pod's namespace (envFrom),
    as a client's credential would; /tmp is the only writable path (HOME). With `token_audience`, the pod
    (as `service_account`) gets a projected ServiceAccount token for that audience at TOKEN_PATH, and no
    token for the API server."""
    docs: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {}}]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
    identity: dict[str, Any] = {}
    if service_account:
        identity["serviceAccountName"] = service_account
    if token_audience:
        identity["automountServiceAccountToken"] = False
        source = {"serviceAccountToken": {"audience": token_audience, "expirationSeconds": 3600, "path": "token"}}
        volumes.append({"name": "caller-token", "projected": {"sources": [source]}})
        mounts.append({"name": "caller-token", "mountPath": TOKEN_PATH.rsplit("/", 1)[0], "readOnly": True})
    env_from: list[dict[str, Any]] = []
    if config:
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": namespace},
                "data": config,
            }
        )
        volumes.append({"name": "config", "configMap": {"name": name}})
        mounts.append({"name": "config", "mountPath": "/config"})
    if secret_env:
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": namespace},
                "stringData": secret_env,
            }
        )
        env_from.append({"secretRef": {"name": name}})
    docs.append(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "restartPolicy": "Never",
                **identity,
                "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [
                    {
                        "name": "main",
                        "image": image,
                        "imagePullPolicy": "Never",
                        "command": command,
                        "env": [{"name": k, "value": v} for k, v in {"HOME": "/tmp", **(env or {})}.items()],
                        "envFrom": env_from,
                        "volumeMounts": mounts,
                        "securityContext": {
                            "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]},
                        },
                    }
                ],
                "volumes": volumes,
            },
        }
    )
    apply(node, *docs)
    deadline = time.monotonic() + timeout
    phase = ""
    while time.monotonic() < deadline:
        pod = get(node, "pod", name, namespace) or {}
        phase = pod.get("status", {}).get("phase", "")
        if phase in ("Succeeded", "Failed"):
            break
        time.sleep(1)
    logs = node.kubectl("logs", "-n", namespace, name, check=False)
    return phase, logs.stdout + logs.stderr


def wait_for(what: str, probe: Any, timeout: float = 120, interval: float = 1.0) -> Any:
    return operator_support.wait_for(what, probe, timeout, interval)
