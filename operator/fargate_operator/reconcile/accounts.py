"""Which AWS account and region a namespace acts in: FargateAccount objects, resolved (pure logic).

A FargateAccount (cluster-scoped, the admin's: tenants hold no RBAC on it, nor on Namespace
objects whose labels its selector reads) names an IAM role to assume, optionally with an
External ID and session tags, a region with the other regions objects may choose, and the
namespaces it serves, by name and/or label selector. Resolution for a namespace:
- served by exactly one FargateAccount: that one;
- served by none: the operator's own identity and region (as before FargateAccounts);
- served by two or more: a conflict -- the namespace's objects wait, naming the accounts, and each
  of those FargateAccounts says so in its conditions;
- its Namespace not known yet (the watch cache has not seen it) while a FargateAccount selects
  namespaces by label: the objects wait for the labels rather than act as "served by none" (a
  Namespace applied together with its objects can reach the cache after them).
An object's region is its spec.region if that FargateAccount allows it, else the FargateAccount's
region; without a FargateAccount only the operator's own region is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fargate_operator.models.accounts import ROLE_ARN, AccountMapping, Requirement, Selector

ARN_ACCOUNT = re.compile(r"^arn:[a-z-]+:[a-z0-9-]*:[a-z0-9-]*:(\d{12}):")


class MappingInvalid(ValueError):
    """A FargateAccount the API server accepted but the operator cannot use (e.g. its schema is older)."""


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value or [])


def parse_mapping(obj: Mapping[str, Any]) -> AccountMapping:
    """A FargateAccount object -> AccountMapping; MappingInvalid names the field when it cannot be used."""
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    name = str(meta.get("name") or "")
    if not spec.get("region"):
        raise MappingInvalid(f"FargateAccount {name}: spec.region is required")
    role = spec.get("roleArn")
    if role is not None and not ROLE_ARN.match(str(role)):
        raise MappingInvalid(f"FargateAccount {name}: spec.roleArn {role!r} is not an IAM role ARN")
    selector = None
    namespaces = spec.get("namespaces") or {}
    if namespaces.get("selector") is not None:
        sel = namespaces["selector"] or {}
        selector = Selector(
            tuple(sorted((str(k), str(v)) for k, v in (sel.get("matchLabels") or {}).items())),
            tuple(
                Requirement(str(e["key"]), str(e["operator"]), _strings(e.get("values")))
                for e in sel.get("matchExpressions") or []
            ),
        )
    return AccountMapping(
        name=name,
        region=str(spec["region"]),
        role_arn=str(role) if role else None,
        external_id=str(spec["externalId"]) if spec.get("externalId") else None,
        session_tags=tuple((str(t["key"]), str(t.get("value", ""))) for t in spec.get("sessionTags") or []),
        transitive_tag_keys=_strings(spec.get("transitiveTagKeys")),
        session_duration=int(spec.get("sessionDurationSeconds") or 3600),
        source_identity=str(spec["sourceIdentity"]) if spec.get("sourceIdentity") else None,
        allowed_regions=_strings(spec.get("allowedRegions")),
        endpoint=str(spec["endpoint"]) if spec.get("endpoint") else None,
        names=_strings(namespaces.get("names")),
        selector=selector,
        generation=int(meta.get("generation") or 0),
        event_queues=tuple((str(q["region"]), str(q["queueUrl"])) for q in spec.get("eventQueues") or []),
    )


@dataclass(frozen=True)
class Resolution:
    """What a namespace acts as: one mapping, none (the operator's own identity), or a conflict."""

    namespace: str
    mapping: AccountMapping | None = None
    conflict: tuple[str, ...] = ()  # names of the FargateAccounts that all claim the namespace
    selecting: tuple[str, ...] = ()  # the Namespace is unknown; these FargateAccounts select by its labels

    @property
    def waiting_message(self) -> str | None:
        if self.selecting:
            names = ", ".join(self.selecting)
            return (
                f"namespace {self.namespace} is not in the operator's watch cache yet, and FargateAccount {names} "
                "selects namespaces by label: which AWS account it acts in is not known until its labels are"
            )
        if not self.conflict:
            return None
        names = " and ".join(self.conflict)
        return (
            f"namespace {self.namespace} is claimed by FargateAccounts {names}: the operator does not guess which "
            "AWS account to act in; an administrator must make exactly one of them serve it"
        )


def resolve(namespace: str, labels: Mapping[str, str] | None, mappings: Iterable[AccountMapping]) -> Resolution:
    """`labels` None: the Namespace is not known (yet)."""
    mappings = list(mappings)
    selecting = tuple(sorted(m.name for m in mappings if m.selector is not None))
    if labels is None and selecting:
        return Resolution(namespace, selecting=selecting)
    serving = sorted((m for m in mappings if m.serves(namespace, labels)), key=lambda m: m.name)
    if len(serving) > 1:
        return Resolution(namespace, conflict=tuple(m.name for m in serving))
    return Resolution(namespace, serving[0] if serving else None)


def region_verdict(
    resolution: Resolution, requested: str | None, own_region: str | None
) -> tuple[str | None, str | None]:
    """(the region an object acts in, None) or (None, why the requested one is refused).

    `own_region` is the operator's region (None: boto3's default, e.g. from the instance).
    """
    mapping = resolution.mapping
    if mapping is None:
        if requested and own_region and requested != own_region:
            return None, (
                f"spec.region {requested} is not allowed in namespace {resolution.namespace}: no FargateAccount "
                f"serves it, so objects there act in the operator's own region {own_region} only"
            )
        return requested or own_region, None
    if requested and requested not in mapping.regions():
        return None, (
            f"spec.region {requested} is not allowed in namespace {resolution.namespace}: {mapping.describe()} "
            f"allows {', '.join(mapping.regions())}"
        )
    return requested or mapping.region, None


def same_place(arn: str, holder_status: Mapping[str, Any], region: str | None, account: str | None) -> bool:
    """Whether another object's resource `arn` is where a gateway acting in `region` and `account` acts.

    `account` None is the operator's own identity, whose account is not asked of STS: of the other
    objects' resources, only those also made through the operator's own identity (their
    status.fargateAccount is empty) are then known to be in the same account. A FargateAccount whose
    role lives in the operator's own account is taken for another account.
    """
    arn_region, arn_account = region_of_arn(arn), account_of_arn(arn)
    if arn_region and region and arn_region != region:
        return False
    if account is None:
        return not holder_status.get("fargateAccount")
    return not arn_account or arn_account == account


def account_of_arn(arn: str | None) -> str | None:
    match = ARN_ACCOUNT.match(arn or "")
    return match.group(1) if match else None


def region_of_arn(arn: str | None) -> str | None:
    parts = (arn or "").split(":")
    return parts[3] if len(parts) > 5 and parts[0] == "arn" and parts[3] else None


@dataclass
class Served:
    """What the status of one FargateAccount says: the namespaces it serves, and those it contends for."""

    namespaces: list[str] = field(default_factory=list)
    conflicts: dict[str, list[str]] = field(default_factory=dict)  # namespace -> the other FargateAccounts


def served_table(mappings: list[AccountMapping], namespaces: Mapping[str, Mapping[str, str]]) -> dict[str, Served]:
    """For every mapping, the namespaces (of those known, with their labels) it serves alone or contends for."""
    table = {m.name: Served() for m in mappings}
    for namespace, labels in sorted(namespaces.items()):
        claimants = sorted(m.name for m in mappings if m.serves(namespace, labels))
        for name in claimants:
            others = [o for o in claimants if o != name]
            if others:
                table[name].conflicts[namespace] = others
            else:
                table[name].namespaces.append(namespace)
    # Named namespaces that do not exist (yet) are served as soon as they do: list them too.
    for m in mappings:
        for namespace in m.names:
            if namespace not in namespaces and namespace not in table[m.name].namespaces:
                others = [o.name for o in mappings if o.name != m.name and namespace in o.names]
                if others:
                    table[m.name].conflicts[namespace] = sorted(others)
                else:
                    table[m.name].namespaces.append(namespace)
    for served in table.values():
        served.namespaces.sort()
    return table


@dataclass(frozen=True)
class Placement:
    """Where one object acts: its FargateAccount (None: the operator's own identity) and region."""

    mapping: AccountMapping | None
    region: str | None


class PlacementRefused(Exception):
    """The object may not act where it asks (or where its ECS resources already are): permanent."""


class PlacementWaiting(Exception):
    """The namespace's account is not decided (two FargateAccounts claim it, or its labels are not known yet):
    wait, it is not a failure."""


class NamespaceUnseen(PlacementWaiting):
    """Waiting for the Namespace's labels: usually a moment, until the watch cache has it."""


def placement(
    resolution: Resolution,
    spec_region: str | None,
    recorded_account: str | None,
    recorded_region: str | None,
    own_region: str | None,
    recorded_mapping: str | None = None,
) -> Placement:
    """Where an object acts, given its namespace's resolution and what its status records.

    An object keeps the account and region its ECS resources were made in (status.accountId,
    status.region): when the namespace's FargateAccount changes to another account, or no longer
    allows that region, the object is refused rather than acting -- creating a second resource, or
    deleting nothing -- somewhere else.
    """
    if resolution.selecting:
        raise NamespaceUnseen(resolution.waiting_message)
    if resolution.conflict:
        raise PlacementWaiting(resolution.waiting_message)
    mapping = resolution.mapping
    account = mapping.account_id if mapping else None
    if recorded_account and recorded_mapping and account is None:
        # Made through an assumed role (status.fargateAccount is recorded for those only), now the operator's own
        # identity -- no FargateAccount, or one without a role -- whose account is not known without asking STS.
        raise PlacementRefused(
            f"this object's ECS resources are in account {recorded_account} (made through FargateAccount "
            f"{recorded_mapping}'s role), but namespace {resolution.namespace} now acts with the operator's own "
            "identity: the operator does not act elsewhere; restore the FargateAccount, or remove the object's "
            "finalizer and clean up in that account by hand"
        )
    if recorded_account and account and recorded_account != account:
        raise PlacementRefused(
            f"this object's ECS resources are in account {recorded_account} (status.accountId), but namespace "
            f"{resolution.namespace} now acts in account {account} ({mapping.describe() if mapping else ''}); the "
            "operator neither recreates nor deletes them elsewhere: restore the FargateAccount, or remove the "
            "object's finalizer and clean up in that account by hand"
        )
    region, why = region_verdict(resolution, spec_region or recorded_region, own_region)
    if why is not None:
        if not spec_region and recorded_region:
            why = (
                f"this object's ECS resources are in region {recorded_region} (status.region), which namespace "
                f"{resolution.namespace} may no longer use: {why.split(': ', 1)[-1]}"
            )
        raise PlacementRefused(why)
    return Placement(mapping, region)
