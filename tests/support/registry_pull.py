"""What the node tests of the release path share: the node's images, forgetting one so the kubelet must
pull it from the registry again, the kubelet's pull as the pod's events tell it, and the kustomization
that points rendered manifests (deploy/, install.yaml) at the emulator."""

from __future__ import annotations

import json
from typing import Any

import yaml

from fargate_devenv.ecs_emulator import REGION
from fargate_devenv.host_packages import which
from fargate_devenv.node import NodeWorld
from fargate_devenv.tenancy import world_sharing

OPERATOR = "fargate-operator"  # the Deployment's and the release's name in the rendered manifests


def _ctr(node: NodeWorld, *args: str) -> str:
    assert node.ns is not None
    sock = node.run_dir / "containerd" / "containerd.sock"
    return node.ns.run(str(which("ctr")), f"--address={sock}", "-n", "k8s.io", "images", *args)


def node_images(node: NodeWorld) -> str:
    """What the node's containerd holds where the kubelet looks (k8s.io): names and manifest digests."""
    return _ctr(node, "ls")


def forget_image(node: NodeWorld, digest: str) -> None:
    """Remove every name that points at the manifest `digest` (an earlier module may have pulled it)."""
    names = [line.split()[0] for line in node_images(node).splitlines()[1:] if digest in line]
    if names:
        _ctr(node, "rm", "--sync", *names)


def pull_messages(node: NodeWorld, namespace: str, pods: list[dict[str, Any]]) -> list[str]:
    """The events' messages about the given pods (the kubelet's "Pulling image …", "Successfully pulled …")."""
    messages = []
    for pod in pods:
        selector = f"involvedObject.name={pod['metadata']['name']}"
        out = node.kubectl("get", "events", "-n", namespace, "--field-selector", selector, "-o", "json")
        messages += [e["message"] for e in json.loads(out.stdout)["items"]]
    return messages


def pulled(messages: list[str], ref: str) -> bool:
    return f'Pulling image "{ref}"' in messages and any(
        m.startswith(f'Successfully pulled image "{ref}"') for m in messages
    )


def emulator_kustomization(
    resource: str,
    ecs_endpoint: str,
    images: list[dict[str, str]] | None = None,
    pull_policy: str | None = None,
) -> dict[str, Any]:
    """A kustomization over `resource` that only points the operator at the emulator: its endpoint and
    region, its keys (Secret ``ecs-credentials``, envFrom), and the tenancy config allowing its networks
    (docs/tenancy.md). `images` (kustomize's) and `pull_policy` change the image; by default it stays."""
    container = "/spec/template/spec/containers/0"
    ops: list[dict[str, Any]] = []
    if pull_policy:
        ops.append({"op": "replace", "path": f"{container}/imagePullPolicy", "value": pull_policy})
    ops += [
        {"op": "add", "path": f"{container}/args/-", "value": f"--ecs-endpoint={ecs_endpoint}"},
        {"op": "add", "path": f"{container}/args/-", "value": f"--region={REGION}"},
        {"op": "add", "path": f"{container}/envFrom", "value": [{"secretRef": {"name": "ecs-credentials"}}]},
    ]
    tenancy_ops = [{"op": "replace", "path": "/data/tenancy.yaml", "value": yaml.safe_dump(world_sharing())}]
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [resource],
        **({"images": images} if images else {}),
        "patches": [
            {"target": {"kind": "Deployment", "name": OPERATOR}, "patch": yaml.safe_dump(ops)},
            {"target": {"kind": "ConfigMap", "name": f"{OPERATOR}-tenancy"}, "patch": yaml.safe_dump(tenancy_ops)},
        ],
    }
