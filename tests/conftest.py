"""Session-wide test world: a real kube-apiserver + etcd with our CRDs, and moto's ECS server.

Binaries come from KUBEBUILDER_ASSETS when set, otherwise they are provisioned
into a per-version cache outside the repo (fargate_devenv.assets).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fargate_devenv.control_plane import ControlPlane
from fargate_devenv.ecs_emulator import EcsEmulator, Network
from fargate_devenv.image import ensure_clients_image, ensure_operator_image
from fargate_devenv.node import NodeWorld
from fargate_devenv.world import World
from support.node import NodeImages

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World.start(REPO / "crds", workdir=tmp_path_factory.mktemp("world"))
    try:
        yield w
    finally:
        w.stop()


@pytest.fixture(scope="session")
def control_plane(world: World) -> ControlPlane:
    return world.control_plane


@pytest.fixture
def ecs(world: World) -> EcsEmulator:
    """moto's ECS server, emptied before each test."""
    world.ecs.reset()
    return world.ecs


@pytest.fixture(scope="session")
def network(world: World) -> Network:
    """A VPC, subnet and security group in the emulator, for awsvpc tasks and services."""
    return world.ecs.create_network()


@pytest.fixture(scope="session")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeWorld]:
    """The node tier: one real node (kubelet, containerd, kube-proxy, CoreDNS) in a network namespace.

    Started once (~12 s) for the session; its teardown checks that nothing was left outside its run
    directory. Host packages, node binaries and images are provisioned on first use and cached.
    """
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


@pytest.fixture
def unique() -> str:
    """A fresh name suffix: the control plane never finishes deleting namespaces, so tests share them."""
    return uuid.uuid4().hex[:8]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    from support.e2e import E2E_MODE

    mode = config.stash.get(E2E_MODE, None)
    terminalreporter.write_sep("-", "end-to-end cluster")
    terminalreporter.write_line(f"e2e tests ran against: {mode}" if mode else "e2e tests: not run in this session")


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests on the node tier (and the e2e tests, which may run on it) go last, in their own order:
    the node then starts once, after the timing-sensitive suites, instead of idling beside them."""
    late_fixtures = {"node", "e2e_cluster"}
    late = [item for item in items if late_fixtures & set(getattr(item, "fixturenames", ()))]
    late_ids = {id(item) for item in late}
    items[:] = [item for item in items if id(item) not in late_ids] + late
