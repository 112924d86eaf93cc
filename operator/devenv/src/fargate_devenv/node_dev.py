"""``fargate-devenv node``: the node tier for people, with the operator installed by Helm.

Starts the one-node cluster (node.py), builds the operator image from the
Dockerfile (cached), imports it, and installs helm/fargate-operator the way
tests/node/test_helm_on_node.py does, against the ECS emulator inside the node.
Writes ``<run-dir>/node/kubeconfig`` and ``<run-dir>/node-env``; Ctrl-C stops it all.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import yaml

from fargate_devenv import run_env, tenancy
from fargate_devenv.ecs_emulator import ACCESS_KEY, REGION, SECRET_KEY
from fargate_devenv.image import ensure_operator_image
from fargate_devenv.node import NodeWorld
from fargate_devenv.release_local import REGISTRY_VARIABLE

RELEASE = "fargate-operator"
NAMESPACE = "fargate-system"


def helm_install_args(image_ref: str, ecs_endpoint: str, chart: Path, namespace: str = NAMESPACE) -> list[str]:
    """The install the node tier's tests run (docs/install.md: on the node)."""
    repository, tag = image_ref.rsplit(":", 1)
    sets = {
        "image.repository": repository,
        "image.tag": tag,
        "image.pullPolicy": "Never",
        "aws.region": REGION,
        "aws.ecsEndpoint": ecs_endpoint,
        "aws.logsEndpoint": ecs_endpoint,  # the emulator serves CloudWatch Logs too
        "envFrom[0].secretRef.name": "ecs-credentials",
        "mcp.readOnly": "false",
    }
    args = ["install", RELEASE, str(chart), "-n", namespace, "--create-namespace"]
    for key, value in sets.items():
        args += ["--set", f"{key}={value}"]
    # Network references are the tenancy config's to allow: what examples/ and the node tests name.
    args += tenancy.helm_sets(tenancy.world_sharing())
    return [*args, "--wait", "--timeout=5m"]


def run(run_dir: Path, repo: Path) -> int:
    node = NodeWorld(run_dir / "node")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    node.start()
    try:
        image = ensure_operator_image(repo)
        node.load_image(image.archive)
        assert node.ecs is not None and node.assets is not None
        node.kubectl("create", "namespace", NAMESPACE)
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "ecs-credentials", "namespace": NAMESPACE},
            "stringData": {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY},
        }
        node.kubectl("apply", "-f", "-", input=yaml.safe_dump(secret))
        node.helm(*helm_install_args(image.ref, node.ecs_inside_endpoint, repo / "helm" / "fargate-operator"))
        network = node.ecs.create_example_network()  # the ids examples/ names
        env = run_env.variables(node.kubeconfig, node.ecs.endpoint, network)
        assert node.registry is not None
        env[REGISTRY_VARIABLE] = node.registry.host  # `make release-local` pushes there
        run_env.write(run_dir / "node-env", node.assets.bin_dirs, env)
        print(
            f"""
fargate-operator node world is up (one node, {node.timings.get("start", 0):.0f} s to start).
  Kubernetes API   {node.url}  (loopback; inside the node's namespace: {node.inside_url})
  ECS emulator     {node.ecs.endpoint}  (pods: {node.ecs_inside_endpoint})
  OCI registry     {node.registry.host}  (plain HTTP; containerd pulls from it: make release-local)
  operator         helm release {RELEASE} in {NAMESPACE}, image {image.ref}

  source {run_dir / "node-env"}
  kubectl get pods -A
  kubectl apply -f examples/
  kubectl -n {NAMESPACE} port-forward svc/{RELEASE} 8080 9090   # the REST adapter and MCP on loopback

Ctrl-C stops everything.""",
            flush=True,
        )
        stop.wait()
    finally:
        node.stop()
    return 0
