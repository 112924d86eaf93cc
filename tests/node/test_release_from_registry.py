"""The release path, as users meet it: `make release-local` pushes the image and the chart at the
checkout's version to the node's OCI registry, and the chart is installed from there exactly as
docs/install.md says — `helm install … oci://<registry>/charts/fargate-operator --version <v>`, the
image pinned by digest and pulled by the kubelet (no side-loaded image, no `pullPolicy: Never`) —
then `helm test` passes. ECS is the emulator inside the node's namespace, as in test_helm_on_node.py.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fargate_devenv.ecs_emulator import REGION
from fargate_devenv.node import NodeWorld
from fargate_devenv.release_local import LocalRelease, release_local
from fargate_devenv.release_version import source_version
from support.node import apply_ecs_credentials, get
from support.registry_pull import forget_image, node_images, pull_messages, pulled

REPO = Path(__file__).resolve().parents[2]
RELEASE = "fargate-operator"


def _pods(node: NodeWorld, namespace: str) -> list[dict[str, Any]]:
    out = node.kubectl("get", "pods", "-n", namespace, "-l", f"app.kubernetes.io/instance={RELEASE}", "-o", "json")
    return [p for p in json.loads(out.stdout)["items"] if p["metadata"].get("ownerReferences")]


@pytest.fixture(scope="module")
def pushed(node: NodeWorld) -> tuple[LocalRelease, float]:
    """`make release-local` against the node's registry; with how long it took."""
    assert node.registry is not None
    t0 = time.monotonic()
    release = release_local(REPO, node.registry.host)
    return release, time.monotonic() - t0


@pytest.fixture(scope="module")
def installed(node: NodeWorld, pushed: tuple[LocalRelease, float]) -> Iterator[str]:
    """docs/install.md from the registry into a fresh namespace; yields the namespace."""
    release, _ = pushed
    forget_image(node, release.image.digest)  # another module may have pulled it: the kubelet must pull it now
    assert release.image.digest not in node_images(node)
    ns = f"fo-registry-{uuid.uuid4().hex[:6]}"
    node.kubectl("create", "namespace", ns)
    apply_ecs_credentials(node, ns)
    assert node.ecs is not None
    args = release.helm_install(RELEASE, ns)
    if node.kubectl("get", "crd", "fargatetasks.ecs.fargate.dev", check=False).returncode == 0:
        args.append("--skip-crds")  # an earlier module installed them; Helm never deletes CRDs
    for key, value in {
        "aws.region": REGION,
        "aws.ecsEndpoint": node.ecs_inside_endpoint,
        "aws.logsEndpoint": node.ecs_inside_endpoint,
        "envFrom[0].secretRef.name": "ecs-credentials",
    }.items():
        args += ["--set", f"{key}={value}"]
    node.helm(*args, "--wait", "--timeout=5m")
    yield ns
    node.helm("uninstall", RELEASE, "-n", ns, "--wait", check=False)


def test_release_local_pushes_the_chart_and_image_at_the_checkouts_version(
    node: NodeWorld, pushed: tuple[LocalRelease, float]
) -> None:
    release, seconds = pushed
    version = source_version(REPO)
    assert release.version == version
    assert node.registry is not None
    assert release.chart == f"oci://{node.registry.host}/charts/fargate-operator"
    assert release.image.repository == f"{node.registry.host}/fargate-operator" and release.image.tag == version
    shown = node.helm("show", "chart", release.chart, "--version", version, "--plain-http").stdout
    assert f"version: {version}" in shown and f"appVersion: {version}" in shown, shown
    print(f"release-local: {seconds:.1f} s")


def test_the_kubelet_pulls_the_image_by_digest_from_the_registry(
    node: NodeWorld, pushed: tuple[LocalRelease, float], installed: str
) -> None:
    release, _ = pushed
    pods = _pods(node, installed)
    assert pods
    for pod in pods:
        container = pod["spec"]["containers"][0]
        assert container["image"] == release.image.ref
        assert container["imagePullPolicy"] == "IfNotPresent"  # the chart's default: nothing forced
        (status,) = pod["status"]["containerStatuses"]
        assert status["ready"] and status["imageID"].endswith(release.image.digest), status
    # The kubelet pulled it (the first pod; the other may find it present): the events say so.
    messages = pull_messages(node, installed, pods)
    assert pulled(messages, release.image.ref), messages
    assert release.image.digest in node_images(node)
    chart = json.loads(node.helm("list", "-n", installed, "-o", "json").stdout)
    assert [(r["name"], r["chart"], r["app_version"]) for r in chart] == [
        (RELEASE, f"fargate-operator-{release.version}", release.version)
    ]


def test_helm_test_passes_on_the_release_from_the_registry(node: NodeWorld, installed: str) -> None:
    res = node.helm("test", RELEASE, "-n", installed, "--timeout=3m", check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Succeeded" in res.stdout, res.stdout
    assert get(node, "pod", f"{RELEASE}-test-endpoints", installed) is None  # hook-succeeded: removed
