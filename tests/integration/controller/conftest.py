"""The operator as a process, watching one namespace per test module, behind a counting ECS proxy."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from fargate_devenv.ecs_proxy import EcsProxy
from fargate_devenv.world import World
from support.operator_process import Kube, OperatorProcess


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
