"""What a FargateService's `continue-deployment` / `stop-deployment` annotation asks (models/kinds.py).

The value names the serviceDeploymentArn the request is meant for, optionally `#<hookId>` after it:
the ECS API adapter writes the hookId its caller named; a bare ARN (kubectl) continues whichever
PAUSE hook awaits action. The suffix also makes a second request for the same deployment a change
the operator sees (a deployment may pause at several stages). Pure: no ECS, no Kubernetes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

CONTINUE: Final = "ContinueServiceDeployment"
STOP: Final = "StopServiceDeployment"
# ServiceDeployment statuses (botocore model, ServiceDeploymentStatus) past which nothing can be steered.
FINISHED: Final = frozenset({"SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"})
STOPPING: Final = frozenset({"STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"})


@dataclass(frozen=True)
class Request:
    """What an annotation asks: `operation` (CONTINUE or STOP) on a deployment, optionally one hook."""

    operation: str
    deployment_arn: str
    hook_id: str | None = None


def service_of(deployment_arn: str) -> str | None:
    """The service ARN a service deployment ARN names: `...:service-deployment/<cluster>/<service>/<id>` ->
    `...:service/<cluster>/<service>`; None for anything else."""
    prefix, mark, path = deployment_arn.partition(":service-deployment/")
    parts = path.split("/")
    if not mark or not prefix.startswith("arn:") or len(parts) != 3 or not all(parts):
        return None
    return f"{prefix}:service/{parts[0]}/{parts[1]}"


def parse(operation: str, value: str | None) -> Request | None:
    """The request an annotation value makes; None for an empty value or one that names no deployment."""
    arn, _, hook = (value or "").strip().partition("#")
    if service_of(arn) is None:
        return None
    return Request(operation, arn, hook.strip() or None)


def annotation_value(arn: str, hook_id: str | None = None) -> str:
    """The value asking for `arn` (and the hook), as the adapters write it."""
    return f"{arn}#{hook_id}" if hook_id else arn
