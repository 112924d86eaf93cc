"""Which object (or caller) an ECS call is made for, e.g. "FargateTask/team-a/nightly".

Set by the handlers (handlers/slots.py), the status loop and the service layer; the gateway carries it to
the calling thread and adds it to the request's User-Agent, which CloudTrail keeps in each event's
userAgent. A call made for many objects at once (a batched read) sets None.
"""

from __future__ import annotations

import contextvars
from typing import Any

ACTING_FOR: contextvars.ContextVar[str | None] = contextvars.ContextVar("fargate_acting_for", default=None)


def acting_for(obj: Any) -> None:
    """ECS calls made from here on, in this task, name the Kubernetes object `obj`."""
    meta = obj["metadata"]
    ACTING_FOR.set(f"{obj['kind']}/{meta['namespace']}/{meta['name']}")
