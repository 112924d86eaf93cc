"""Small helpers the integration and e2e tests share."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import yaml

from fargate_devenv.control_plane import ControlPlane


def apply(cp: ControlPlane, manifest: dict[str, Any], namespace: str = "default") -> subprocess.CompletedProcess[str]:
    """`kubectl apply` of one object; the result carries the API server's answer."""
    return cp.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(manifest), check=False)


def get(cp: ControlPlane, kind: str, name: str, namespace: str = "default") -> dict[str, Any]:
    out = cp.kubectl("get", kind, name, "-n", namespace, "-o", "json").stdout
    obj: dict[str, Any] = json.loads(out)
    return obj


def delete(cp: ControlPlane, kind: str, name: str, namespace: str = "default") -> None:
    cp.kubectl("delete", kind, name, "-n", namespace, "--wait=false", "--ignore-not-found")
