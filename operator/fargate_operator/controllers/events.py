"""How a controller tells what it did, as it does it: the handler turns each into a Kubernetes Event.

A callback rather than a returned list, so an Event about a step that happened (an adoption) is
posted even when a later step fails -- and controllers stay free of the Kubernetes client.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

Say = Callable[[str, str], Awaitable[None]]  # (reason, message)


async def silent(reason: str, message: str) -> None:
    """For callers (the status loop, tests) that post no Events."""
