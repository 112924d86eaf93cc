"""An object deleted while the operator's watch was away must leave the watch cache after the relist.

The operator is paused (SIGSTOP); meanwhile the API server and etcd restart, and then an
object is deleted (its finalizer removed by hand, as `kubectl patch` users do), so no
DELETED event will ever reach the operator. Resumed, Kopf finds its watch's resourceVersion too old (410
Gone) and lists again: list events, no DELETED. The REST adapter, which answers from the
watch cache, must stop showing the deleted cluster.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import urllib.request
import uuid
from typing import Any

import yaml

from fargate_devenv.control_plane import ADMIN_USER
from fargate_devenv.world import World
from fargate_operator.web.auth import CREDENTIAL_LABEL
from support.operator_process import Kube, OperatorProcess, condition, manifest, wait_for

TARGET = "AmazonEC2ContainerServiceV20141113."


def _describe_clusters(op: OperatorProcess, token: str, names: list[str]) -> dict[str, Any]:
    request = urllib.request.Request(
        op.rest_endpoint + "/",
        data=json.dumps({"clusters": names}).encode(),
        headers={
            "X-Amz-Target": TARGET + "DescribeClusters",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": f"Bearer {token}",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        answer: dict[str, Any] = json.loads(resp.read())
    return answer


def _ready(kube: Kube, name: str) -> bool:
    return condition(kube.status("fargatecluster", name), "Ready").get("status") == "True"


def test_relist_drops_objects_deleted_while_the_watch_was_away(world: World, tmp_path: Any) -> None:
    ns = f"relist-{uuid.uuid4().hex[:8]}"
    cp = world.control_plane
    cp.kubectl("create", "namespace", ns)
    token = uuid.uuid4().hex
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "cred", "labels": {CREDENTIAL_LABEL: "true"}},
        "data": {
            k: base64.b64encode(v.encode()).decode()
            # The world's admin: what this test reads is the watch cache, not anybody's permissions.
            for k, v in {"token": token, "namespace": ns, "user": ADMIN_USER, "groups": "system:masters"}.items()
        },
    }
    cp.kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump(secret))
    kube = Kube(cp, ns)
    op = OperatorProcess(
        cp, world.ecs.endpoint, ns, tmp_path / "operator.log", extra_args=("--verbose", "--credentials-namespace", ns)
    ).start()
    ghost, kept = f"ghost-{ns}", f"kept-{ns}"
    try:
        op.wait_ready()
        kube.apply(manifest("FargateCluster", "ghost", {"clusterName": ghost}))
        kube.apply(manifest("FargateCluster", "kept", {"clusterName": kept}))
        wait_for("both clusters Ready", lambda: _ready(kube, "ghost") and _ready(kube, "kept"))
        assert [c["clusterName"] for c in _describe_clusters(op, token, [ghost])["clusters"]] == [ghost]

        assert op.proc is not None
        os.kill(op.proc.pid, signal.SIGSTOP)
        try:
            # Restart first, so the operator's watch connections are gone before the deletion:
            # its DELETED event cannot be waiting in a socket buffer when the operator resumes.
            cp.restart(downtime=1)
            cp.kubectl(
                "patch", "fargatecluster", "ghost", "-n", ns, "--type=merge", "-p", '{"metadata":{"finalizers":null}}'
            )
            kube.delete("fargatecluster", "ghost", wait=True)
        finally:
            os.kill(op.proc.pid, signal.SIGCONT)

        wait_for(
            "Kopf's relist after 410 Gone",
            lambda: "Restarting the watch-stream for fargateclusters" in op.log_text(),
            timeout=120,
            interval=1,
        )
        kube.apply(manifest("FargateCluster", "after", {"clusterName": f"after-{ns}"}))
        wait_for("the operator works after the relist", lambda: _ready(kube, "after"), timeout=90)
        wait_for(
            "the deleted cluster gone from the adapter's answers",
            lambda: not _describe_clusters(op, token, [ghost])["clusters"],
            timeout=30,
            interval=1,
        )
        answer = _describe_clusters(op, token, [ghost, kept])
        assert [c["clusterName"] for c in answer["clusters"]] == [kept]
        assert answer["failures"] == [{"arn": ghost, "reason": "MISSING"}]
    finally:
        for name in ("kept", "after"):
            kube.delete("fargatecluster", name, wait=True)
        op.stop()
        world.ecs.client().delete_cluster(cluster=ghost)  # its finalizer was removed by hand
