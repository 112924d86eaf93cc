"""An in-memory stand-in for *our* gateway interface (controllers.base.Ecs), for in-process tests.

Not a fake of boto3: it takes the calls a controller makes through `Ecs`, keeps the owner gate's
rule (a write on an existing resource goes through `write` with an Owned target, as in
ecs/gateway.py), records every call, and answers from per-operation functions a test installs.
An answer function may raise EcsError to play an ECS failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from fargate_operator.ecs.errors import EcsError
from fargate_operator.ecs.owner_gate import Owned, UngatedWrite, gated
from fargate_operator.ecs.owner_gate import request as gated_request

Answer = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class FakeEcs:
    answers: dict[str, Answer] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def on(self, operation: str, answer: Answer) -> FakeEcs:
        """Answer `operation` with `answer(params)` from now on."""
        self.answers[operation] = answer
        return self

    def fail(self, operation: str, code: str, message: str = "", http_status: int = 400) -> FakeEcs:
        """Make `operation` fail as ECS would, with `code`."""

        def raise_(_: dict[str, Any]) -> dict[str, Any]:
            raise EcsError(operation, code, message or code, http_status)

        return self.on(operation, raise_)

    def with_deployments(self, *deployments: dict[str, Any]) -> FakeEcs:
        """DescribeServiceDeployments answers `deployments` by ARN (an unknown ARN: a MISSING failure, as ECS)."""
        by_arn = {d["serviceDeploymentArn"]: d for d in deployments}

        def describe(params: dict[str, Any]) -> dict[str, Any]:
            arns = params["serviceDeploymentArns"]
            return {
                "serviceDeployments": [by_arn[a] for a in arns if a in by_arn],
                "failures": [{"arn": a, "reason": "MISSING"} for a in arns if a not in by_arn],
            }

        return self.on("DescribeServiceDeployments", describe)

    def made(self, operation: str) -> list[dict[str, Any]]:
        """The parameters of every `operation` call so far, in order."""
        return [params for op, params in self.calls if op == operation]

    def _send(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((operation, params))
        answer = self.answers.get(operation)
        if answer is None:
            raise AssertionError(f"the test gave no answer for {operation} (called with {params})")
        return answer(params)

    async def call(self, operation: str, **params: Any) -> dict[str, Any]:
        if gated(operation):
            raise UngatedWrite(f"{operation} changes an existing resource: write with an Owned target")
        return self._send(operation, params)

    async def write(self, operation: str, target: Owned | list[Owned], **params: Any) -> dict[str, Any]:
        return self._send(operation, gated_request(operation, target, params))

    async def describe_tasks(self, cluster: str, arns: Iterable[str]) -> tuple[list[dict[str, Any]], list[str]]:
        wanted = list(dict.fromkeys(arns))
        found = (await self.call("DescribeTasks", cluster=cluster, tasks=wanted, include=["TAGS"])).get("tasks", [])
        known = {t["taskArn"] for t in found}
        return found, [a for a in wanted if a not in known]

    async def describe_services(self, cluster: str, names: Iterable[str]) -> list[dict[str, Any]]:
        answer = await self.call(
            "DescribeServices", cluster=cluster, services=list(dict.fromkeys(names)), include=["TAGS"]
        )
        return list(answer.get("services", []))

    async def describe_clusters(self, names: Iterable[str]) -> list[dict[str, Any]]:
        answer = await self.call("DescribeClusters", clusters=list(dict.fromkeys(names)), include=["TAGS"])
        return list(answer.get("clusters", []))

    async def list_all(self, operation: str, key: str, **params: Any) -> list[str]:
        return list((await self.call(operation, **params)).get(key, []))
