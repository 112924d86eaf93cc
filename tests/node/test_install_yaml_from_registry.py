"""The release's install.yaml, as users apply it: rendered for the image `make release-local` pushed to
the node's registry (pinned by digest, as .github/workflows/release.yml renders it), applied with
`kubectl apply --server-side` under a kustomization that only points the operator at the emulator
(docs/install.md, kubectl). The kubelet pulls the image by digest from the registry; no side-loading,
no `pullPolicy: Never`. Cleans up all but the CRDs, so a later module can install with Helm again.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from fargate_devenv.node import NodeWorld
from fargate_devenv.release_local import release_local, write_install_yaml
from support.node import apply_ecs_credentials
from support.registry_pull import emulator_kustomization, forget_image, node_images, pull_messages, pulled

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "fargate-system"
NAME = "fargate-operator"


def test_install_yaml_runs_the_image_the_kubelet_pulls_by_digest_from_the_registry(
    node: NodeWorld, tmp_path: Path
) -> None:
    assert node.registry is not None and node.ecs is not None
    release = release_local(REPO, node.registry.host)
    overlay = tmp_path / "overlay"
    install = write_install_yaml(REPO, release, overlay / "install.yaml")
    docs = [d for d in yaml.safe_load_all(install.read_text()) if d]
    images = [d["spec"]["template"]["spec"]["containers"][0]["image"] for d in docs if d["kind"] == "Deployment"]
    assert images == [release.image.ref]
    # Only the emulator's endpoint, keys and networks: the image stays as rendered.
    kustomization = emulator_kustomization("install.yaml", node.ecs_inside_endpoint)
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    forget_image(node, release.image.digest)  # another module may have pulled it: the kubelet must pull it now
    assert release.image.digest not in node_images(node)
    # CRDs an earlier Helm release left are taken over from Helm's field manager (docs/install.md).
    res = node.kubectl("apply", "--server-side", "--force-conflicts", "-k", str(overlay), check=False)
    assert res.returncode == 0, res.stderr
    apply_ecs_credentials(node, NAMESPACE)
    try:
        rollout = node.kubectl(
            "rollout", "status", "-n", NAMESPACE, f"deployment/{NAME}", "--timeout=240s", check=False
        )
        assert rollout.returncode == 0, (
            rollout.stderr + node.kubectl("describe", "pods", "-n", NAMESPACE).stdout[-3000:]
        )
        out = node.kubectl("get", "pods", "-n", NAMESPACE, "-l", f"app.kubernetes.io/instance={NAME}", "-o", "json")
        pods = [p for p in json.loads(out.stdout)["items"] if not p["metadata"].get("deletionTimestamp")]
        assert pods
        for pod in pods:
            container = pod["spec"]["containers"][0]
            assert container["image"] == release.image.ref and container["imagePullPolicy"] == "IfNotPresent"
            (status,) = pod["status"]["containerStatuses"]
            assert status["ready"] and status["imageID"].endswith(release.image.digest), status
        messages = pull_messages(node, NAMESPACE, pods)
        assert pulled(messages, release.image.ref), messages
    finally:
        # Everything install.yaml made but the CRDs (other modules' objects use them) and the Namespace.
        kept = {"CustomResourceDefinition", "Namespace"}
        made = [d for d in docs if d["kind"] not in kept]
        node.kubectl("delete", "-f", "-", "--ignore-not-found", "--wait", input=yaml.safe_dump_all(made), check=False)
