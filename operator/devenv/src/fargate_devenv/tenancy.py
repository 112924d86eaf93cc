"""The tenancy config of the development worlds: the network references their tasks and services name.

A namespace may use only the subnets, security groups, load balancer targets and Service Connect
namespaces a rule of the tenancy config allows (docs/tenancy.md; none built in). These rules give
every namespace what the worlds use, so `make run`, `make run-node` and the test world run
examples/ and the tests as before. Tests of network tenancy itself write their own config.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fargate_devenv.ecs_emulator import EXAMPLE_SECURITY_GROUP, EXAMPLE_SUBNET

# What examples/service.yaml names besides the example network (the emulator does not check either).
EXAMPLE_TARGET_GROUP = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef"
EXAMPLE_SERVICE_CONNECT_NAMESPACE = "demo.local"

Sharing = dict[str, list[dict[str, list[str]]]]


def _everyone(key: str, *patterns: str) -> list[dict[str, list[str]]]:
    return [{"namespaces": ["*"], key: list(patterns)}]


def example_sharing() -> Sharing:
    """`make run` and `make run-node`: exactly what examples/ and the README's commands name."""
    return {
        "subnets": _everyone("ids", EXAMPLE_SUBNET),
        "securityGroups": _everyone("ids", EXAMPLE_SECURITY_GROUP),
        "loadBalancers": _everyone("arns", EXAMPLE_TARGET_GROUP),
        "serviceConnectNamespaces": _everyone("names", EXAMPLE_SERVICE_CONNECT_NAMESPACE),
    }


def world_sharing() -> Sharing:
    """The test world: every subnet and security group its emulator makes (moto makes the ids up), the
    VPC's default group (specs that name none) and any target group (the emulator looks none up)."""
    return {
        **example_sharing(),
        "subnets": _everyone("ids", "subnet-*"),
        "securityGroups": _everyone("ids", "sg-*", "default"),
        "loadBalancers": _everyone("arns", "arn:aws:elasticloadbalancing:*:*:targetgroup/*"),
    }


def with_sharing(config: Mapping[str, Any] | None, sharing: Sharing) -> dict[str, Any]:
    """`config` with the sections it leaves out taken from `sharing` (its own sections win)."""
    return {**sharing, **(config or {})}


def helm_sets(sharing: Sharing) -> list[str]:
    """`helm install` arguments that put the sharing into the chart's `tenancy` value."""
    return [a for key, rules in sharing.items() for a in ("--set-json", f"tenancy.{key}={json.dumps(rules)}")]
