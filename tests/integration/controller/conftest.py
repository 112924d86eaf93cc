"""The operator as a process, watching one namespace per test module, behind a counting ECS proxy."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fargate_devenv.ecs_proxy import EcsProxy
from fargate_devenv.tenancy import world_sharing
from fargate_devenv.world import World
from support.leftovers import tagged_leftovers
from support.operator_process import Kube, OperatorProcess, operator_for_namespaces


def _namespaces(world: World) -> set[str]:
    names = world.control_plane.kubectl("get", "ns", "-o", "jsonpath={.items[*].metadata.name}").stdout.split()
    return {name for name in names if name.startswith(("op-", "op2-"))}


@pytest.fixture(scope="module", autouse=True)
def nothing_left_in_ecs(world: World) -> Iterator[None]:
    """After each module (its operators stopped: this fixture is set up first, so torn down last), nothing
    in ECS carries the owner tag of a namespace the module made. Per module, so it holds on any worker."""
    before = _namespaces(world)
    yield
    made = _namespaces(world) - before
    leftovers = tagged_leftovers(world.ecs.client(), made)
    assert not leftovers, f"left in ECS by this module: {leftovers}"


@pytest.fixture(scope="module")
def namespace(world: World) -> str:
    ns = f"op-{uuid.uuid4().hex[:8]}"
    world.control_plane.kubectl("create", "namespace", ns)
    return ns


@pytest.fixture(scope="module")
def ecs_proxy(world: World) -> Iterator[EcsProxy]:
    proxy = EcsProxy(world.ecs.endpoint).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def operator_process(
    world: World, ecs_proxy: EcsProxy, namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    op = OperatorProcess(
        world.control_plane, ecs_proxy.endpoint, namespace, tmp_path_factory.mktemp("operator") / "operator.log"
    ).start()
    yield op
    op.stop()


@pytest.fixture(scope="module")
def kube(world: World, namespace: str) -> Kube:
    return Kube(world.control_plane, namespace)


@pytest.fixture(scope="module")
def ecs_client(world: World) -> Any:
    return world.ecs.client()


# Tenants: modules where one operator serves two namespaces side by side (test_tenancy, test_owner_gate).


@pytest.fixture(scope="module")
def teams(world: World) -> tuple[str, str]:
    """team-a's and team-b's namespaces, fresh per module."""
    suffix = uuid.uuid4().hex[:6]
    names = (f"op-team-a-{suffix}", f"op-team-b-{suffix}")  # "op-": nothing_left_in_ecs checks them too
    for ns in names:
        world.control_plane.kubectl("create", "namespace", ns)
    return names


@pytest.fixture(scope="module")
def tenancy_config() -> dict[str, Any]:
    """The tenancy config the operator starts with: the test world's networks shared, nothing else.
    A module that needs more overrides this fixture."""
    return world_sharing()


@pytest.fixture(scope="module")
def tenancy_file(tmp_path_factory: pytest.TempPathFactory, tenancy_config: dict[str, Any]) -> Path:
    """The file the operator re-reads; a test rewrites it to share or take back."""
    path = tmp_path_factory.mktemp("tenancy") / "tenancy.yaml"
    path.write_text(yaml.safe_dump(tenancy_config))
    return path


@pytest.fixture(scope="module")
def operator(
    world: World,
    ecs_proxy: EcsProxy,
    teams: tuple[str, str],
    tenancy_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess]:
    """One operator process watching both teams' namespaces under tenancy_file."""
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    op = operator_for_namespaces(world.control_plane, ecs_proxy.endpoint, teams, tenancy_file, log)
    yield op
    op.stop()
