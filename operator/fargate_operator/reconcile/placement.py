"""Where ECS places a task or service when the spec does not say: on Fargate.

ECS's own rule (RunTaskRequest.launchType / CreateServiceRequest.launchType in botocore's
model): with neither `launchType` nor `capacityProviderStrategy`, the cluster's default
capacity provider strategy is used, and without one the launch type is EC2. This operator
runs Fargate only (the CRDs refuse EC2 and EXTERNAL), so an EC2 placement could never start a
task. The operator therefore says FARGATE itself in exactly that case, and leaves a cluster's
default strategy (e.g. FARGATE + FARGATE_SPOT) to ECS when the cluster has one.
"""

from __future__ import annotations

from typing import Any

FARGATE = "FARGATE"


def launch_default(spec: dict[str, Any], cluster_has_default_strategy: bool) -> dict[str, str]:
    """The members to add to a RunTask / CreateService request: {"launchType": "FARGATE"} or nothing."""
    if spec.get("launchType") or spec.get("capacityProviderStrategy") or cluster_has_default_strategy:
        return {}
    return {"launchType": FARGATE}
