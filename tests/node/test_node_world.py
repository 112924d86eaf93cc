"""The node itself: pinned binaries, pods that reach the API server through the `kubernetes` Service
by cluster DNS, and DNS that answers only for the cluster (no query leaves the node)."""

from __future__ import annotations

import json
import subprocess
import uuid

from fargate_devenv import versions
from fargate_devenv.node import NodeWorld
from fargate_devenv.node_config import DNS_SERVICE_IP, KUBERNETES_SERVICE_IP
from support.node import NodeImages, run_pod

PROBE = """
import json, socket, ssl, urllib.request
sa = "/var/run/secrets/kubernetes.io/serviceaccount"
out = {"kubernetes": socket.gethostbyname("kubernetes.default.svc.cluster.local"),
       "dns": socket.gethostbyname("kube-dns.kube-system")}
try:
    socket.gethostbyname("pypi.org")
    out["external"] = "resolved"
except OSError:
    out["external"] = "unresolved"
ctx = ssl.create_default_context(cafile=sa + "/ca.crt")
req = urllib.request.Request("https://kubernetes.default.svc/version",
                             headers={"Authorization": "Bearer " + open(sa + "/token").read()})
out["version"] = json.load(urllib.request.urlopen(req, context=ctx, timeout=10))["gitVersion"]
print(json.dumps(out))
"""


def test_node_components_are_the_pinned_version(node: NodeWorld) -> None:
    assert node.node_assets is not None
    for binary in (node.node_assets.kubelet, node.node_assets.kube_proxy, node.node_assets.kube_scheduler):
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True).stdout
        assert versions.KUBERNETES_VERSION in out, out
    nodes = json.loads(node.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert [n["status"]["nodeInfo"]["kubeletVersion"] for n in nodes] == [versions.KUBERNETES_VERSION]


def test_pod_reaches_the_api_server_by_cluster_dns_and_nothing_outside(
    node: NodeWorld, node_images: NodeImages
) -> None:
    ns = f"probe-{uuid.uuid4().hex[:6]}"
    node.kubectl("create", "namespace", ns)
    phase, logs = run_pod(node, ns, "probe", node_images.clients.ref, ["python", "-c", PROBE])
    assert phase == "Succeeded", logs
    out = json.loads(logs.strip().splitlines()[-1])
    assert out == {
        "kubernetes": KUBERNETES_SERVICE_IP,
        "dns": DNS_SERVICE_IP,
        "external": "unresolved",
        "version": versions.KUBERNETES_VERSION,
    }
