"""A FargateAccount's spec as the operator uses it, and the sts:AssumeRole request it makes.

Shared by the gateways (ecs/: the assumed-role sessions), the account resolution
(reconcile/accounts.py), the watch cache (store/accounts.py) and codegen (the session tag).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ROLE_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/[\w+=,.@/-]+$")
# sts:AssumeRole RoleSessionName: [\w+=,.@-]*, 2 to 64 characters.
_SESSION_NAME_CHARS = re.compile(r"[^\w+=,.@-]")
SESSION_NAME_PREFIX = "fargate-operator."
# Session tags the operator adds to every session (the admin's sessionTags come on top).
ACCOUNT_TAG = "fargate-operator/account"
STS_TAG_LIMIT = 50  # sts:AssumeRole Tags: "You can pass up to 50 session tags"


@dataclass(frozen=True)
class Requirement:
    """One matchExpressions entry of a label selector."""

    key: str
    operator: str  # In, NotIn, Exists, DoesNotExist
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "In":
            return labels.get(self.key) in self.values
        if self.operator == "NotIn":
            return labels.get(self.key) not in self.values
        if self.operator == "Exists":
            return self.key in labels
        return self.key not in labels  # DoesNotExist


@dataclass(frozen=True)
class Selector:
    """A metav1.LabelSelector: every matchLabels pair and every expression must hold."""

    match_labels: tuple[tuple[str, str], ...] = ()
    expressions: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match_labels) and all(
            r.matches(labels) for r in self.expressions
        )


@dataclass(frozen=True)
class AccountMapping:
    """A FargateAccount's spec, as the operator uses it."""

    name: str
    region: str
    role_arn: str | None = None  # None: the operator's own identity
    external_id: str | None = None
    session_tags: tuple[tuple[str, str], ...] = ()
    transitive_tag_keys: tuple[str, ...] = ()
    session_duration: int = 3600
    source_identity: str | None = None
    allowed_regions: tuple[str, ...] = ()
    endpoint: str | None = None
    names: tuple[str, ...] = ()
    selector: Selector | None = None
    generation: int = 0
    # spec.eventQueues: (region, queue URL) of the SQS queues ECS's events of this account reach.
    event_queues: tuple[tuple[str, str], ...] = ()

    @property
    def account_id(self) -> str | None:
        """The account of the role (None for the operator's own identity: not known without asking STS)."""
        match = ROLE_ARN.match(self.role_arn or "")
        return match.group(2) if match else None

    def regions(self) -> tuple[str, ...]:
        """Every region objects served by this mapping may use: its own first."""
        return (self.region, *(r for r in self.allowed_regions if r != self.region))

    def serves(self, namespace: str, labels: Mapping[str, str] | None) -> bool:
        if namespace in self.names:
            return True
        return self.selector is not None and labels is not None and self.selector.matches(labels)

    def describe(self) -> str:
        who = f"role {self.role_arn}" if self.role_arn else "the operator's own identity"
        return f"FargateAccount {self.name} ({who})"


def session_name(mapping: AccountMapping) -> str:
    """RoleSessionName: CloudTrail's `assumed-role/<role>/<session>` names the FargateAccount."""
    return _SESSION_NAME_CHARS.sub("-", f"{SESSION_NAME_PREFIX}{mapping.name}")[:64]


def assume_role_params(mapping: AccountMapping) -> dict[str, Any]:
    """sts:AssumeRole's request for a mapping (its role must be set)."""
    assert mapping.role_arn is not None
    tags = [(ACCOUNT_TAG, mapping.name), *((k, v) for k, v in mapping.session_tags if k != ACCOUNT_TAG)]
    params: dict[str, Any] = {
        "RoleArn": mapping.role_arn,
        "RoleSessionName": session_name(mapping),
        "DurationSeconds": mapping.session_duration,
        "Tags": [{"Key": k, "Value": v} for k, v in tags[:STS_TAG_LIMIT]],
    }
    if mapping.external_id:
        params["ExternalId"] = mapping.external_id
    if mapping.transitive_tag_keys:
        params["TransitiveTagKeys"] = list(mapping.transitive_tag_keys)
    if mapping.source_identity:
        params["SourceIdentity"] = mapping.source_identity
    return params
