"""The ECS emulator as its own process (fast speed), reset before each test, with a network in it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fargate_devenv.ecs_emulator import FAST_STEP_SECONDS, EcsEmulator, Network


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EcsEmulator]:
    emu = EcsEmulator(log=tmp_path_factory.mktemp("ecs-sim") / "ecs-sim.log", step_seconds=FAST_STEP_SECONDS).start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def ecs(emulator: EcsEmulator) -> Any:
    """A boto3 ECS client on an emptied emulator."""
    emulator.reset()
    return emulator.client()


@pytest.fixture
def network(emulator: EcsEmulator, ecs: Any) -> Network:
    """A VPC, subnet and security group (created after the reset that `ecs` does)."""
    return emulator.create_network()


@pytest.fixture
def cluster(ecs: Any) -> str:
    name: str = ecs.create_cluster(clusterName="sim")["cluster"]["clusterName"]
    return name
