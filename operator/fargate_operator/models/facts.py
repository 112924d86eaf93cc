"""What ECS says about a cluster or a task definition revision a spec names: the owner tags (and task
roles) the tenancy checks read, fetched by the gateways (ecs/owners.py) and judged in reconcile/tenancy.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ClusterFacts:
    """What ECS says about a live cluster (DescribeClusters with TAGS)."""

    name: str
    arn: str
    tags: Mapping[str, str]


@dataclass(frozen=True)
class TaskDefinitionFacts:
    """What ECS says about a revision (DescribeTaskDefinition with TAGS); revisions are immutable, tags not."""

    arn: str
    family: str
    tags: Mapping[str, str]
    roles: tuple[tuple[str, str], ...]  # (member, role): taskRoleArn, executionRoleArn
