"""Schema pieces every CRD of the project shares: conditions, timestamps, AWS regions, printer columns."""

from __future__ import annotations

from typing import Any

from fargate_operator.schema.shapes import JSONSchema

TIME: JSONSchema = {"type": "string", "format": "date-time"}
CONDITIONS: JSONSchema = {
    "type": "array",
    "description": "Ready, Progressing and Degraded, each with the generation it was computed for.",
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
    "items": {
        "type": "object",
        "required": ["type", "status"],
        "properties": {
            "type": {"type": "string"},
            "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
            "reason": {"type": "string"},
            "message": {"type": "string"},
            "observedGeneration": {"type": "integer", "format": "int64"},
            "lastTransitionTime": TIME,
        },
    },
}
# AWS region names: us-east-1, eu-central-2, us-gov-west-1, cn-north-1, us-isob-east-1 ...
REGION: JSONSchema = {
    "type": "string",
    "maxLength": 32,
    "pattern": "^[a-z]{2}(-[a-z0-9]+)+-[0-9]{1,2}$",
}
OBJECT_REGION: JSONSchema = {
    **REGION,
    "description": "The AWS region this object's ECS resources live in. Default: the region of the FargateAccount "
    "serving the namespace (without one, the operator's). Allowed: that FargateAccount's spec.region and "
    "spec.allowedRegions, checked at apply time; immutable.",
}


def column(name: str, path: str, type_: str = "string", priority: int = 0, description: str = "") -> dict[str, Any]:
    """One additionalPrinterColumns entry (`kubectl get`; priority 1: only with -o wide)."""
    col: dict[str, Any] = {"name": name, "type": type_, "jsonPath": path}
    if priority:
        col["priority"] = priority
    if description:
        col["description"] = description
    return col


READY_COL = column("Ready", '.status.conditions[?(@.type=="Ready")].status')
AGE_COL = column("Age", ".metadata.creationTimestamp", "date")
