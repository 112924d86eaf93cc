"""End-to-end clusters: pytest-kind's kind cluster where a Docker engine runs, else the local control plane.

The tests are written once against `E2ECluster`; the pytest summary says which ran.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e_support import E2E_MODE, E2ECluster, docker_engine
from fargate_operator.devenv.world import World, install_crds

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def e2e_cluster(request: pytest.FixtureRequest) -> Iterator[E2ECluster]:
    has_docker, why = docker_engine()
    if has_docker:
        from pytest_kind import KindCluster

        world: World = request.getfixturevalue("world")
        kind = KindCluster("fargate-operator-e2e", kubectl_path=world.assets.kubectl)
        kind.create()
        request.config.stash[E2E_MODE] = f"kind cluster via pytest-kind ({why})"
        cluster = E2ECluster("kind", kind.kubeconfig_path, world.assets.kubectl)
        try:
            install_crds(cluster.kubectl, REPO / "crds")
            yield cluster
        finally:
            kind.delete()
        return
    world = request.getfixturevalue("world")
    cp = world.control_plane
    request.config.stash[E2E_MODE] = (
        f"local control plane: kube-apiserver + etcd processes, no nodes ({why}; pytest-kind needs Docker)"
    )
    cluster = E2ECluster("local", cp.kubeconfig, world.assets.kubectl)
    install_crds(cluster.kubectl, REPO / "crds")
    yield cluster
