"""The in-memory gateway keeps the owner gate's rule, so in-process controller tests cannot skip it."""

from __future__ import annotations

import asyncio

import pytest

from fargate_operator.controllers.base import Ecs
from fargate_operator.ecs.errors import EcsError
from fargate_operator.ecs.owner_gate import UngatedWrite
from support.fake_ecs import FakeEcs


def test_the_fake_refuses_a_write_on_an_existing_resource_without_an_owned_target() -> None:
    fake: Ecs = FakeEcs().on("DeleteService", lambda p: {"service": {}})
    with pytest.raises(UngatedWrite):
        asyncio.run(fake.call("DeleteService", cluster="c", service="s"))


def test_the_fake_answers_and_records_and_plays_ecs_errors() -> None:
    fake = FakeEcs().on("ListTasks", lambda p: {"taskArns": ["a"]}).fail("RunTask", "ClientException", "no")
    assert asyncio.run(fake.list_all("ListTasks", "taskArns", cluster="c")) == ["a"]
    with pytest.raises(EcsError) as err:
        asyncio.run(fake.call("RunTask", cluster="c"))
    assert err.value.code == "ClientException"
    assert [op for op, _ in fake.calls] == ["ListTasks", "RunTask"]
