"""The operator as a process, watching one namespace per test module, behind a counting ECS proxy."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from fargate_devenv.ecs_proxy import EcsProxy
from fargate_devenv.world import World
from support.leftovers import tagged_leftovers
from support.operator_process import Kube, OperatorProcess


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
