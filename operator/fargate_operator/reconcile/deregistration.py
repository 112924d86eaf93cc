"""Which revisions of a FargateTaskDefinition to deregister: the `ecs.fargate.dev/deregister-requested` annotation.

DeregisterTaskDefinition acts on one revision ("Deregisters the specified task definition by
family and revision", botocore model), while a FargateTaskDefinition is the whole family:
deleting the object would deregister every revision. So the ECS API adapter appends the
revision's ARN to this annotation (a JSON list), and the operator deregisters the revisions
newly listed -- only the object's own (its current or a retained revision) -- records them
INACTIVE in status.retainedRevisions and keeps the object. When the current revision was
deregistered, the object is Degraded (reason Deregistered) until its spec changes.
"""

from __future__ import annotations

import json
from typing import Any

INACTIVE = "INACTIVE"
REASON = "Deregistered"


def requested(value: str | None) -> list[str]:
    """The ARNs the annotation lists (anything else in it is ignored)."""
    try:
        parsed: Any = json.loads(value) if value else []
    except ValueError:
        return []
    return [a for a in parsed if isinstance(a, str)] if isinstance(parsed, list) else []


def adding(value: str | None, arn: str) -> str:
    return json.dumps(list(dict.fromkeys([*requested(value), arn])))


def own_revisions(status: dict[str, Any]) -> dict[str, str]:
    """ARN -> ACTIVE/INACTIVE for the object's current and retained revisions."""
    revisions = {r["taskDefinitionArn"]: r.get("status", "ACTIVE") for r in status.get("retainedRevisions", [])}
    if status.get("taskDefinitionArn"):
        revisions.setdefault(status["taskDefinitionArn"], "ACTIVE")
    return revisions


def to_deregister(old: str | None, new: str | None, status: dict[str, Any]) -> list[str]:
    """Revisions newly asked for, that are the object's own and still ACTIVE."""
    before, own = set(requested(old)), own_revisions(status)
    return [a for a in requested(new) if a not in before and own.get(a) == "ACTIVE"]


def recorded(status: dict[str, Any], deregistered: list[str]) -> list[dict[str, Any]]:
    """status.retainedRevisions with `deregistered` marked INACTIVE (the current revision kept listed)."""
    retained = [dict(r) for r in status.get("retainedRevisions", [])]
    listed = {r["taskDefinitionArn"] for r in retained}
    current = status.get("taskDefinitionArn")
    if current in deregistered and current not in listed:
        retained.insert(0, {"revision": status.get("revision"), "taskDefinitionArn": current})
    for r in retained:
        if r["taskDefinitionArn"] in deregistered:
            r["status"] = INACTIVE
    return retained


def status_of(status: dict[str, Any], arn: str) -> str | None:
    return own_revisions(status).get(arn)
