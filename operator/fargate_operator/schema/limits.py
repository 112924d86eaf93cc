"""Limits that the ECS documentation states but botocore's model does not declare.

Keys are ``<ShapeName>.<member>``; values are merged into that member's schema.
Each entry quotes its source: the member's own documentation string in the
model (checked by tests/unit/test_codegen.py) or the ECS service quotas.
"""

from __future__ import annotations

from typing import Any

# An ECS name: "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens".
ECS_NAME: dict[str, Any] = {"minLength": 1, "maxLength": 255, "pattern": "^[a-zA-Z0-9_-]+$"}

MEMBER_LIMITS: dict[str, dict[str, Any]] = {
    "CreateClusterRequest.clusterName": ECS_NAME,
    "CreateServiceRequest.serviceName": ECS_NAME,
    "RegisterTaskDefinitionRequest.family": ECS_NAME,
    # "You may specify between 5 and 300 seconds" and so on.
    "HealthCheck.interval": {"minimum": 5, "maximum": 300},
    "HealthCheck.timeout": {"minimum": 2, "maximum": 60},
    "HealthCheck.retries": {"minimum": 1, "maximum": 10},
    "HealthCheck.startPeriod": {"minimum": 0, "maximum": 300},
    # "The minimum supported value is 21 GiB and the maximum supported value is 200 GiB."
    "EphemeralStorage.sizeInGiB": {"minimum": 21, "maximum": 200},
    # "You can specify up to 10 tasks for each call."
    "RunTaskRequest.count": {"minimum": 1, "maximum": 10},
    # "For tasks that use the Fargate launch type, the max stop timeout value is 120 seconds"
    "ContainerDefinition.stopTimeout": {"minimum": 0, "maximum": 120},
    "CreateServiceRequest.desiredCount": {"minimum": 0},
    "CreateServiceRequest.healthCheckGracePeriodSeconds": {"minimum": 0, "maximum": 2147483647},
    "PortMapping.containerPort": {"minimum": 1, "maximum": 65535},
    "PortMapping.hostPort": {"minimum": 0, "maximum": 65535},
    "DeploymentConfiguration.maximumPercent": {"minimum": 0},
    "DeploymentConfiguration.minimumHealthyPercent": {"minimum": 0, "maximum": 100},
    # Service quota "Containers per task definition": 10. Bounding the list also
    # keeps the cost of the CEL rules over it inside the API server's budget.
    "RegisterTaskDefinitionRequest.containerDefinitions": {"minItems": 1, "maxItems": 10},
    "ContainerDefinition.name": ECS_NAME,
    "ContainerDefinition.image": {"minLength": 1, "maxLength": 4096},
    # Task-level cpu/memory: units/MiB as digits, or ECS's "1 vCPU" / "2 GB" forms.
    "RegisterTaskDefinitionRequest.cpu": {"pattern": r"^([0-9]+|[0-9]*\.?[0-9]+ ?[vV][cC][pP][uU])$", "maxLength": 16},
    "RegisterTaskDefinitionRequest.memory": {"pattern": r"^([0-9]+|[0-9]*\.?[0-9]+ ?[gG][bB])$", "maxLength": 16},
}

# Members ECS rejects when missing even though the model marks none required.
SHAPE_REQUIRED: dict[str, list[str]] = {
    "ContainerDefinition": ["name", "image"],
}
