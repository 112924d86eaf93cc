from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fargate_operator.models.fargate_sizes import FARGATE_SIZES, cpu_units, describe_sizes, is_valid_size, memory_mib


@pytest.mark.parametrize(
    ("text", "units"), [("256", 256), ("1 vCPU", 1024), ("0.25 vcpu", 256), (".5 VCPU", 512), ("16vCPU", 16384)]
)
def test_cpu_units_accepts_ecs_forms(text: str, units: int) -> None:
    assert cpu_units(text) == units


@pytest.mark.parametrize(("text", "mib"), [("512", 512), ("2 GB", 2048), ("0.5 gb", 512), ("120GB", 122880)])
def test_memory_mib_accepts_ecs_forms(text: str, mib: int) -> None:
    assert memory_mib(text) == mib


def test_matrix_matches_the_ecs_table() -> None:
    assert FARGATE_SIZES[256] == (512, 1024, 2048)
    assert FARGATE_SIZES[4096][-1] == 30720 and FARGATE_SIZES[8192][1] - FARGATE_SIZES[8192][0] == 4096
    assert FARGATE_SIZES[16384] == tuple(range(32768, 122880 + 1, 8192))
    assert "512 -> 1024..4096 step 1024" in describe_sizes()


@given(st.sampled_from(sorted(FARGATE_SIZES)), st.integers(min_value=0, max_value=130_000))
def test_is_valid_size_agrees_with_the_table(cpu: int, memory: int) -> None:
    assert is_valid_size(str(cpu), str(memory)) == (memory in FARGATE_SIZES[cpu])
    assert is_valid_size(f"{cpu / 1024} vCPU", str(memory)) == (memory in FARGATE_SIZES[cpu])


def test_invalid_cpu_is_never_valid() -> None:
    assert not is_valid_size("300", "1024")
    assert not is_valid_size("3 vCPU", "8192")
