"""End-to-end clusters: kind via pytest-kind where it can run, else the local node, else the control plane.

The tests are written once against `E2ECluster`; the pytest summary says which ran and why
(e2e_support.choose_cluster).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fargate_devenv.node import NodeWorld
from fargate_devenv.world import World, install_crds
from support.e2e import E2E_MODE, E2ECluster, choose_cluster, facts

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def e2e_cluster(request: pytest.FixtureRequest) -> Iterator[E2ECluster]:
    found = facts()
    mode, why = choose_cluster(found)
    request.config.stash[E2E_MODE] = f"{mode} ({why})"
    if mode == "kind":
        from pytest_kind import KindCluster

        world: World = request.getfixturevalue("world")
        kind = KindCluster(
            "fargate-operator-e2e",
            image=found.kind_images[0],
            kind_path=Path(found.kind_binary or "kind"),
            kubectl_path=world.assets.kubectl,
        )
        kind.create()
        cluster = E2ECluster("kind", kind.kubeconfig_path, world.assets.kubectl)
        try:
            install_crds(cluster.kubectl, REPO / "crds")
            yield cluster
        finally:
            kind.delete()
        return
    if mode == "node":
        node: NodeWorld = request.getfixturevalue("node")
        assert node.assets is not None
        cluster = E2ECluster("node", node.kubeconfig, node.assets.kubectl)
    else:
        world = request.getfixturevalue("world")
        cluster = E2ECluster("local", world.control_plane.kubeconfig, world.assets.kubectl)
    install_crds(cluster.kubectl, REPO / "crds")
    yield cluster
