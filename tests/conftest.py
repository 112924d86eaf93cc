"""Session-wide test world: a real kube-apiserver + etcd with our CRDs, and moto's ECS server.

Binaries come from KUBEBUILDER_ASSETS when set, otherwise they are provisioned
into a per-version cache outside the repo (fargate_devenv.assets).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


# Tests run on several workers (`make test`: pytest-xdist). A module is the unit of work, so its world
# and operator process start once. Two units are bigger: the node tier with the e2e tests (one root-owned
# world), and the HA and chaos modules, which measure takeovers in seconds and should not compete with
# each other for the two cores; each runs its modules one after another on one worker.
SERIAL_UNITS = {
    "node tier": ("tests/node/", "tests/e2e/"),
    "faults": ("tests/integration/ha/", "tests/integration/chaos/"),
}
SERIAL_DIRS = tuple(d for dirs in SERIAL_UNITS.values() for d in dirs)
LATE_FIXTURES = {"node", "e2e_cluster"}


def unit_of(nodeid: str) -> str:
    """The unit of work a test belongs to: one of the serial units, else its module."""
    return next((unit for unit, dirs in SERIAL_UNITS.items() if nodeid.startswith(dirs)), nodeid.split("::", 1)[0])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's scope scheduling with our units. (Its `--dist loadgroup` marks do not survive pytest 9,
    which keeps node ids in `_id` where xdist 3.8 writes `_nodeid`.) Units go out in collection order."""
    from xdist.scheduler import LoadScopeScheduling

    class ModuleOrSerial(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

    config.option.loadscopereorder = False  # the collection order below, not the number of tests
    return ModuleOrSerial(config, log)


# On workers, the longest units go out first so that none is left running alone at the end: the serial
# unit, then modules that start processes (integration, emulator), then the unit tests (seconds each).
FIRST_ON_WORKERS = (SERIAL_DIRS, ("tests/integration/",), ("tests/emulator/",))


def _rank(item: pytest.Item) -> int:
    return next((i for i, dirs in enumerate(FIRST_ON_WORKERS) if item.nodeid.startswith(dirs)), len(FIRST_ON_WORKERS))


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests on the node tier (and the e2e tests, which may run on it) go last: the node then starts once,
    after the timing-sensitive suites, instead of idling beside them. On workers (`workerinput`), the
    units are also ranked as FIRST_ON_WORKERS says; sorting is stable, so modules stay whole."""
    late = [item for item in items if LATE_FIXTURES & set(getattr(item, "fixturenames", ()))]
    late_ids = {id(item) for item in late}
    items[:] = [item for item in items if id(item) not in late_ids] + late
    if hasattr(config, "workerinput"):
        items.sort(key=_rank)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A worker hands which e2e cluster it used to the controller, which prints the summary."""
    from support.e2e import E2E_MODE

    workeroutput = getattr(session.config, "workeroutput", None)
    mode = session.config.stash.get(E2E_MODE, None)
    if workeroutput is not None and mode:
        workeroutput["e2e_mode"] = mode


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    from support.e2e import E2E_MODE

    mode = getattr(node, "workeroutput", {}).get("e2e_mode")
    if mode:
        node.config.stash[E2E_MODE] = mode


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    from support.e2e import E2E_MODE

    mode = config.stash.get(E2E_MODE, None)
    terminalreporter.write_sep("-", "end-to-end cluster")
    terminalreporter.write_line(f"e2e tests ran against: {mode}" if mode else "e2e tests: not run in this session")
