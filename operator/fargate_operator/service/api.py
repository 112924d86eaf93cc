"""The 20 ECS operations (and MCP's own tools) over the custom resources, as the caller, in the namespace addressed.

Every call is first authorized for the caller (access.py: the operation's verb on its kind, asked
of the API server and kept briefly). Reads then answer from the watch cache (no further Kubernetes
or ECS call). Writes create, patch or delete custom resources as the caller (acting.py:
impersonation) and then wait, bounded, for the operator's reconciled result, answering as ECS
would; an error ECS reported comes back as that ECS error. Exceptions, each documented in the README:
- a task definition revision's content is asked of ECS once per ARN and remembered
  (revisions are immutable), so answers show what ECS registered, never the spec;
- ExecuteCommand is an action forwarded to ECS and recorded as a Kubernetes Event;
- Continue/StopServiceDeployment write a request annotation and answer at once (deployments.py).

The operations live per resource (clusters.py, task_definitions.py, tasks.py,
ecs_services.py) over one Store (lookups.py); operations.py is their table; this
module is the authorization check and the dispatch.
"""

from __future__ import annotations

from typing import Any

from fargate_operator.ecs.gateway import ACTING_FOR
from fargate_operator.runtime import Runtime
from fargate_operator.service.access import Access, Caller
from fargate_operator.service.errors import ApiError, client
from fargate_operator.service.identity import Principal
from fargate_operator.service.lookups import Store
from fargate_operator.service.operations import OPERATIONS, Handler, Implementations


class EcsApi:
    def __init__(self, rt: Runtime, wait_timeout: float = 30.0, access: Access | None = None) -> None:
        self.rt = rt
        self.access = access or Access()
        self.store = Store(rt, wait_timeout)
        implementations = Implementations.over(self.store)
        self._handlers: dict[str, Handler] = {op.name: op.implementation(implementations) for op in OPERATIONS.values()}

    @property
    def operations(self) -> list[str]:
        """The ECS operations served (what REST answers); MCP adds the tools of its own (operations.py)."""
        return sorted(op.name for op in OPERATIONS.values() if op.ecs)

    def caller(self, principal: Principal, signature: str | None = None) -> Caller:
        """The caller bound to the namespace it addresses; ClientException when it names none."""
        if not principal.namespace:
            raise client(
                f"user {principal.user} is not a ServiceAccount and its credential names no namespace: "
                "name one with the X-Fargate-Namespace header"
            )
        return Caller(principal, principal.namespace, self.access, signature)

    async def call(
        self, operation: str, params: dict[str, Any], principal: Principal, *, signature: str | None = None
    ) -> dict[str, Any]:
        """Any operation of the table, MCP's own tools included (REST serves only the ECS ones).

        `signature`: the SigV4 signature of the request, when signed; handed on to the operations that
        refuse its replay (RunTask).
        """
        op = OPERATIONS.get(operation)
        if op is None:
            raise ApiError("UnknownOperationException", f"{operation} is not an operation of this endpoint")
        caller = self.caller(principal, signature if op.replay_sensitive else None)
        # Before anything is looked up: a caller who may not do this learns nothing else.
        await self.access.require(principal, caller.ns, *op.permissions)
        ACTING_FOR.set(f"caller/{caller.ns}/{principal.user}")  # the few ECS calls made here name the caller
        return await self._handlers[operation](caller, params)
