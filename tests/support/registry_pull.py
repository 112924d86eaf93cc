"""What the node tests of the release path share: the node's images, forgetting one so the kubelet must
pull it from the registry again, and the kubelet's pull as the pod's events tell it."""

from __future__ import annotations

import json
from typing import Any

from fargate_devenv.host_packages import which
from fargate_devenv.node import NodeWorld


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
