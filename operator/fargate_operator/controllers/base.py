"""What every controller shares: the slice of the ECS gateway it may use and the verdict it returns."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from fargate_operator.ecs.owner_gate import Owned
from fargate_operator.models.verdict import Verdict

__all__ = ["Ecs", "Verdict"]  # Verdict lives in models/: status/ (a layer beside controllers/) reads it too


class Ecs(Protocol):
    """The part of `ecs.gateway.EcsGateway` a controller calls; tests pass an in-memory fake."""

    async def call(self, operation: str, **params: Any) -> dict[str, Any]: ...

    async def write(self, operation: str, target: Owned | list[Owned], **params: Any) -> dict[str, Any]: ...

    async def describe_tasks(self, cluster: str, arns: Iterable[str]) -> tuple[list[dict[str, Any]], list[str]]: ...

    async def describe_services(self, cluster: str, names: Iterable[str]) -> list[dict[str, Any]]: ...

    async def describe_clusters(self, names: Iterable[str]) -> list[dict[str, Any]]: ...

    async def list_all(self, operation: str, key: str, **params: Any) -> list[str]: ...
