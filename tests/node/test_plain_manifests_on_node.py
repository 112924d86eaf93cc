"""deploy/fargate-operator.yaml for real: `kubectl apply --server-side` of a kustomization over it (the
local image, the emulator as ECS, its credentials from a Secret), the pod Ready through its probes,
and one FargateTask reconciled end to end. Runs after test_helm_on_node.py (file order): that
release is gone and its CRDs stay, so the apply takes them over from Helm (--force-conflicts), and
the Fargate objects that release left behind are picked up by this operator."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import yaml

from fargate_devenv.node import NodeWorld
from support.node import NodeImages, apply, apply_ecs_credentials, get, wait_for
from support.operator_process import awsvpc, condition, manifest, task_definition_spec, task_manifest
from support.registry_pull import emulator_kustomization

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "fargate-system"
NAME = "fargate-operator"


def test_plain_manifests_run_the_operator_on_the_node(node: NodeWorld, node_images: NodeImages, tmp_path: Path) -> None:
    assert node.ecs is not None
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    shutil.copy(REPO / "deploy" / "fargate-operator.yaml", overlay / "fargate-operator.yaml")
    repository, tag = node_images.operator.ref.rsplit(":", 1)
    images = [{"name": "ghcr.io/fargate-operator/fargate-operator", "newName": repository, "newTag": tag}]
    kustomization = emulator_kustomization(
        "fargate-operator.yaml", node.ecs_inside_endpoint, images=images, pull_policy="Never"
    )
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    # The CRDs are Helm's (the release before this left them, as uninstall does): taking them over from
    # Helm's field manager is what --force-conflicts is for (docs/install.md).
    res = node.kubectl("apply", "--server-side", "--force-conflicts", "-k", str(overlay), check=False)
    assert res.returncode == 0, res.stderr
    apply_ecs_credentials(node, NAMESPACE)
    try:
        rollout = node.kubectl(
            "rollout", "status", "-n", NAMESPACE, f"deployment/{NAME}", "--timeout=300s", check=False
        )
        assert rollout.returncode == 0, (
            rollout.stderr + node.kubectl("describe", "pods", "-n", NAMESPACE).stdout[-3000:]
        )

        team = f"plain-{uuid.uuid4().hex[:6]}"
        node.kubectl("create", "namespace", team)
        network = node.ecs.create_network()
        net = awsvpc(network.subnet_id, network.security_group_id)
        suffix = uuid.uuid4().hex[:6]
        apply(
            node,
            manifest("FargateCluster", "c", {"clusterName": f"plain-{suffix}"}),
            manifest("FargateTaskDefinition", "td", task_definition_spec(f"plain-{suffix}")),
            task_manifest("job", net),
            namespace=team,
        )
        tasks = wait_for(
            "task started", lambda: (get(node, "fargatetask", "job", team) or {}).get("status", {}).get("tasks")
        )
        assert node.ecs.client().describe_tasks(cluster=f"plain-{suffix}", tasks=[tasks[0]["taskArn"]])["tasks"]
        td = get(node, "fargatetaskdefinition", "td", team) or {}
        assert condition(td.get("status", {}), "Ready").get("status") == "True"
        for kind in ("fargatetask", "fargatetaskdefinition", "fargatecluster"):
            node.kubectl("delete", kind, "--all", "-n", team, "--timeout=120s")
        pods = json.loads(node.kubectl("get", "pods", "-n", NAMESPACE, "-o", "json").stdout)["items"]
        assert len(pods) == 2, "the chart's two replicas"
        for pod in pods:
            log = node.kubectl("logs", "-n", NAMESPACE, pod["metadata"]["name"]).stdout
            assert "Traceback" not in log, log[-3000:]
    finally:
        # Everything the manifests made but the CRDs (other objects may still use them).
        node.kubectl(
            "delete",
            "-n",
            NAMESPACE,
            "deployment,service,serviceaccount,role,rolebinding,lease,poddisruptionbudget,configmap",
            "-l",
            "app.kubernetes.io/instance=fargate-operator",
            "--ignore-not-found",
            "--wait",
            check=False,
        )
        node.kubectl(
            "delete",
            "clusterrole,clusterrolebinding",
            "-l",
            "app.kubernetes.io/instance=fargate-operator",
            "--ignore-not-found",
            check=False,
        )
        # The region policy carries no instance label; left behind, it stops a later `helm install`.
        node.kubectl(
            "delete",
            "validatingadmissionpolicy,validatingadmissionpolicybinding",
            "regions.fargateaccounts.ecs.fargate.dev",
            "--ignore-not-found",
            check=False,
        )
