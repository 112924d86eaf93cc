"""The status of each ECS kind as its CRD defines it (crds/*.yaml), for the members the code reads.

Types only: objects still arrive as plain dicts (the watch cache, Kopf's bodies); annotating a status
with one of these lets mypy catch a misspelt member or a wrong type where status is read most.
Every member is optional (total=False): a new object has no status, and each writer sets a part.
Array items stay plain dicts: they are handed on to functions that take dict[str, Any].
"""

from __future__ import annotations

from typing import Any, TypedDict


class CommonStatus(TypedDict, total=False):
    """What every kind's status carries: conditions, the applied spec's digest, where it was placed."""

    observedGeneration: int
    conditions: list[dict[str, Any]]  # type, status, reason, message, observedGeneration, lastTransitionTime
    specHash: str
    accountId: str
    region: str
    fargateAccount: str


class DriftingStatus(CommonStatus, total=False):
    """The kinds whose drift is detected (not FargateTask): the record reconcile/drift/policy.py reads."""

    drift: dict[str, Any]


class ClusterStatus(DriftingStatus, total=False):
    clusterArn: str
    clusterName: str
    status: str  # ECS's: ACTIVE, PROVISIONING, ... (MISSING, OwnedElsewhere when observed)
    runningTasksCount: int
    pendingTasksCount: int
    activeServicesCount: int
    capacityProviders: list[str]
    freshness: str  # Events or Polling: what keeps this status fresh (handlers/refresh.py)


class ServiceStatus(DriftingStatus, total=False):
    serviceArn: str
    clusterArn: str
    status: str  # ECS's: ACTIVE, DRAINING, INACTIVE (MISSING, OwnedElsewhere when observed)
    taskDefinition: str
    desiredTaskDefinition: str
    desiredCount: int
    runningCount: int
    pendingCount: int
    rolloutState: str
    deployments: list[dict[str, Any]]
    events: list[dict[str, Any]]
    freshness: str  # Events or Polling: what keeps this status fresh (handlers/refresh.py)


class TaskStatus(CommonStatus, total=False):
    phase: str
    essentialContainers: list[str]
    clusterArn: str
    taskDefinitionArn: str
    startedBy: str
    tasks: list[dict[str, Any]]  # taskArn, lastStatus, desiredStatus, stopCode, stoppedReason, ...
    failures: list[dict[str, str]]  # arn, reason, detail
    lastStatus: str
    desiredStatus: str
    stoppedReason: str
    startedAt: str
    stoppedAt: str
    freshness: str  # Events or Polling: what keeps this status fresh (handlers/refresh.py)


class TaskDefinitionStatus(DriftingStatus, total=False):
    family: str
    revision: int
    taskDefinitionArn: str
    retainedRevisions: list[dict[str, Any]]  # revision, taskDefinitionArn, status
