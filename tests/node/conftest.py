"""The node tier: one real node (kubelet + containerd + kube-proxy + CoreDNS) in a network namespace.

Session-scoped: the node starts once (~12 s) for every module here, and its teardown
checks that nothing was left outside its run directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fargate_operator.devenv.image import ensure_clients_image, ensure_operator_image
from fargate_operator.devenv.node import NodeWorld
from node_support import NodeImages

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeWorld]:
    world = NodeWorld(tmp_path_factory.mktemp("node")).start()
    try:
        yield world
    finally:
        world.stop()
    leftovers = world.leftovers()
    assert not leftovers, f"the node left these outside its run directory: {leftovers}"


@pytest.fixture(scope="session")
def node_images(node: NodeWorld) -> NodeImages:
    """The operator image from the project's Dockerfile and the clients image, imported into the node."""
    images = NodeImages(operator=ensure_operator_image(REPO), clients=ensure_clients_image(REPO))
    for built in (images.operator, images.clients):
        node.load_image(built.archive)
    return images
