"""Tenancy: which ECS clusters, task definitions, IAM roles and network references a namespace may use.

Many namespaces share one AWS account. A namespace may use
- a cluster or task definition it owns: the ECS resource carries NAMESPACE_TAG = that
  namespace (the operator tags what an object of the namespace created or adopted);
- one the admin shares with it in the tenancy config (by cluster name/ARN, by family);
- an IAM role a `roles` rule of the config allows for it. Roles have no owner tags the
  operator could read, so rules decide; the built-in rule allows each namespace the roles
  under the IAM path /fargate/<namespace>/;
- a subnet, security group, load balancer target, Cloud Map service, Service Connect
  namespace or VPC Lattice target a rule of its section allows for it. These carry no owner
  tags ECS shows either, and ECS attaches tasks to them with its own service-linked role (no
  iam:PassRole of ours stands in the way), so rules decide; built in: none, since their ids
  hold no namespace a default pattern could name.

Patterns are globs: `*` matches any run of characters (`/` and `:` included), `?` one
character, anything else itself; `{namespace}` stands for the object's namespace.

Pure logic: handlers/tenancy.py gathers the facts (owner tags and roles from ECS, or
from objects the operator accepted) and asks here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

from botocore.model import Shape

from fargate_operator.models.facts import ClusterFacts, TaskDefinitionFacts
from fargate_operator.models.kinds import SERVICE, TASK_DEFINITION, TENANCY_RECHECK_ANNOTATION
from fargate_operator.models.ownership import KIND_TAG, NAME_TAG, NAMESPACE_TAG
from fargate_operator.reconcile import conditions
from fargate_operator.reconcile.drift.policy import MANAGE, management_policy
from fargate_operator.schema import model

REASON = "TenancyRefused"  # the Degraded reason (and Event reason) of every refusal here
PLACEHOLDER = "{namespace}"
DEFAULT_ROLE_PATTERN = "arn:*:iam::*:role/fargate/" + PLACEHOLDER + "/*"
DEFAULT_CLUSTER = "default"  # RunTask / CreateService without a cluster: "the default cluster is assumed"
_STAMP = re.compile(r" \[tenancy config ([0-9a-f]{12})\]$")
_MESSAGE_ROOM = 1024 - 32  # conditions keep 1024 characters; the stamp must survive

# Network and traffic references: section -> (the key of each rule's patterns, what the values are).
NETWORK_SECTIONS = {
    "subnets": ("ids", "subnet"),
    "securityGroups": ("ids", "security group"),
    "loadBalancers": ("arns", "load balancer target"),
    "serviceRegistries": ("arns", "Cloud Map service"),
    "serviceConnectNamespaces": ("names", "Service Connect namespace"),
    "vpcLattice": ("arns", "VPC Lattice target"),
}
# The config's sections: key -> the key of each rule's patterns.
SECTIONS = {
    "roles": "arns",
    "clusters": "names",
    "taskDefinitions": "families",
    **{section: key for section, (key, _) in NETWORK_SECTIONS.items()},
}
# The ECS requests each kind's spec goes into (what references_in reads).
SERVICE_OPERATIONS = ("CreateService", "UpdateService")
TASK_OPERATIONS = ("RunTask",)
TASK_DEFINITION_OPERATIONS = ("RegisterTaskDefinition",)
# No security group named: ECS uses the VPC's default one (AwsVpcConfiguration.securityGroups in
# botocore's model), shared by everything in the VPC that names none. Rules match it as this value.
DEFAULT_SECURITY_GROUP = "default"


class TenancyConfigError(ValueError):
    """The tenancy config is not valid; the message names the field and what is allowed."""


@dataclass(frozen=True)
class Rule:
    """Namespaces (globs) and the patterns they may use."""

    namespaces: tuple[str, ...]
    patterns: tuple[str, ...]

    def applies_to(self, namespace: str) -> bool:
        return any(glob(n).fullmatch(namespace) for n in self.namespaces)

    def allows(self, namespace: str, value: str) -> bool:
        return self.applies_to(namespace) and any(
            glob(p.replace(PLACEHOLDER, namespace)).fullmatch(value) for p in self.patterns
        )


@dataclass(frozen=True)
class Policy:
    roles: tuple[Rule, ...]
    clusters: tuple[Rule, ...] = ()
    task_definitions: tuple[Rule, ...] = ()
    # (section, rules) for the NETWORK_SECTIONS given a rule; a section missing has none (nothing allowed).
    network: tuple[tuple[str, tuple[Rule, ...]], ...] = ()

    @cached_property
    def digest(self) -> str:
        """Names this policy in refusals, so a changed config re-checks them (12 hex characters)."""
        sections: list[Any] = [
            [[list(r.namespaces), list(r.patterns)] for r in s]
            for s in (self.roles, self.clusters, self.task_definitions)
        ]
        if self.network:  # appended only when set: configs without them keep their digest
            sections.append([[k, [[list(r.namespaces), list(r.patterns)] for r in rs]] for k, rs in self.network])
        canonical = json.dumps(sections)
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def network_rules(self, section: str) -> tuple[Rule, ...]:
        return next((rules for key, rules in self.network if key == section), ())

    def all_rules(self) -> Iterator[Rule]:
        yield from (*self.roles, *self.clusters, *self.task_definitions)
        for _, rules in self.network:
            yield from rules

    def allowed_role_patterns(self, namespace: str) -> list[str]:
        return [p.replace(PLACEHOLDER, namespace) for r in self.roles if r.applies_to(namespace) for p in r.patterns]


DEFAULT_POLICY = Policy(roles=(Rule(("*",), (DEFAULT_ROLE_PATTERN,)),))


@cache
def glob(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


# -- the config file ---------------------------------------------------------------------------


def parse_policy(data: Any) -> Policy:
    """The policy a parsed YAML document describes. Empty: the built-in default.

    A section left out keeps its default (roles: the {namespace} rule; nothing shared);
    a section given replaces it, so `roles: []` allows no role at all.
    """
    if data is None:
        return DEFAULT_POLICY
    if not isinstance(data, Mapping):
        raise TenancyConfigError(f"the tenancy config must be a mapping with keys {', '.join(SECTIONS)}")
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise TenancyConfigError(f"unknown key {unknown[0]!r}; allowed: {', '.join(SECTIONS)}")
    sections = {key: _rules(key, data[key]) for key in SECTIONS if key in data}
    return Policy(
        roles=sections.get("roles", DEFAULT_POLICY.roles),
        clusters=sections.get("clusters", ()),
        task_definitions=sections.get("taskDefinitions", ()),
        network=tuple((k, sections[k]) for k in NETWORK_SECTIONS if sections.get(k)),
    )


def _strings(where: str, value: Any, *, placeholder: bool) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise TenancyConfigError(f"{where} must be a non-empty list of strings")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise TenancyConfigError(f"{where}[{i}] must be a non-empty string, got {item!r}")
        rest = item.replace(PLACEHOLDER, "") if placeholder else item
        if "{" in rest or "}" in rest:
            allowed = f"the only placeholder is {PLACEHOLDER}" if placeholder else "no placeholder is allowed here"
            raise TenancyConfigError(f"{where}[{i}] {item!r}: {allowed}")
    return tuple(value)


def _rules(section: str, value: Any) -> tuple[Rule, ...]:
    key = SECTIONS[section]
    if value is None:
        return ()
    if not isinstance(value, list):
        raise TenancyConfigError(f"{section} must be a list of rules, each with namespaces and {key}")
    rules = []
    for i, raw in enumerate(value):
        where = f"{section}[{i}]"
        if not isinstance(raw, Mapping):
            raise TenancyConfigError(f"{where} must be a mapping with namespaces and {key}")
        unknown = sorted(set(raw) - {"namespaces", key})
        if unknown:
            raise TenancyConfigError(f"{where}: unknown key {unknown[0]!r}; allowed: namespaces, {key}")
        for needed in ("namespaces", key):
            if needed not in raw:
                raise TenancyConfigError(f"{where}.{needed} is required")
        patterns = _strings(f"{where}.{key}", raw[key], placeholder=True)
        if section == "roles":
            for j, p in enumerate(patterns):
                if not p.startswith("arn:"):
                    raise TenancyConfigError(
                        f"{where}.arns[{j}] {p!r} must be an IAM role ARN pattern, e.g. {DEFAULT_ROLE_PATTERN}"
                    )
        rules.append(Rule(_strings(f"{where}.namespaces", raw["namespaces"], placeholder=False), patterns))
    return tuple(rules)


def ambiguous_patterns(policy: Policy) -> list[str]:
    """Patterns where {namespace} runs on into characters a namespace name can hold.

    With `role/{namespace}-*`, namespace `team` may pass `role/team-b-deploy`, a role meant
    for namespace `team-b`. A `/` (or any character outside [a-z0-9-]) on both sides of the
    name avoids it.
    """

    def runs_on(c: str) -> bool:
        return c in "*?-" or c.isalnum()

    found = []
    for rule in policy.all_rules():
        for p in rule.patterns:
            parts = p.split(PLACEHOLDER)
            if any(
                (i > 0 and part and runs_on(part[0])) or (i < len(parts) - 1 and part and runs_on(part[-1]))
                for i, part in enumerate(parts)
            ):
                found.append(p)
    return found


# -- roles -------------------------------------------------------------------------------------

_ROLE_ARN = re.compile(r"arn:[a-z0-9-]+:iam::\d{12}:role/[\w+=,.@/-]+", re.ASCII)
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)


def role_arn(role: str) -> str | None:
    """The ARN to match a role reference against; None when it names no IAM role.

    RegisterTaskDefinition's taskRoleArn also takes "the short name" of a role (botocore's
    ECS model): it lives in the operator's own account, which the config cannot name, so
    partition and account become `*` and only rules that allow any account match it.
    """
    if _ROLE_ARN.fullmatch(role):
        return role
    if _ROLE_NAME.fullmatch(role):
        return f"arn:*:iam::*:role/{role}"
    return None


def role_allowed(policy: Policy, namespace: str, role: str) -> bool:
    arn = role_arn(role)
    return arn is not None and any(rule.allows(namespace, arn) for rule in policy.roles)


@cache
def _owner_regex(pattern: str) -> re.Pattern[str]:
    """`pattern` with its first {namespace} captured (later ones must repeat it)."""
    parts = [glob(p).pattern for p in pattern.split(PLACEHOLDER)]
    name = r"(?P<ns>[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)"
    return re.compile(parts[0] + name + "(?P=ns)".join(parts[1:]), re.DOTALL)


def role_owner(policy: Policy, role: str) -> str | None:
    """The namespace a {namespace} rule gives this role to, if one does."""
    arn = role_arn(role)
    for rule in policy.roles if arn else ():
        for pattern in rule.patterns:
            m = _owner_regex(pattern).fullmatch(arn or "") if PLACEHOLDER in pattern else None
            if m and rule.applies_to(m["ns"]):
                return m["ns"]
    return None


def role_refusals(policy: Policy, namespace: str, roles: Iterable[tuple[str, str]]) -> list[str]:
    """A sentence per role (field path, role) the namespace may not pass."""
    out = []
    for where, role in roles:
        if role_allowed(policy, namespace, role):
            continue
        if role_arn(role) is None:
            out.append(f"{where}: {role!r} is not an IAM role ARN or role name")
            continue
        owner = role_owner(policy, role)
        whose = f"it is a role of namespace {owner}" if owner else "no tenancy rule allows it"
        allowed = ", ".join(policy.allowed_role_patterns(namespace)) or "none"
        out.append(
            f"{where}: IAM role {role} may not be passed from namespace {namespace}: {whose} (allowed: {allowed})"
        )
    return out


def _is_role_member(name: str, shape: Shape) -> bool:
    return shape.type_name == "string" and (name == "role" or name == "roleArn" or name.endswith("RoleArn"))


def _is_network_member(name: str, shape: Shape) -> bool:
    """A member that may name a network or traffic resource, wherever it sits (see _section for where)."""
    if shape.type_name == "list":
        return name in ("subnets", "securityGroups") and shape.member.type_name == "string"
    return shape.type_name == "string" and (
        name in ("namespace", "registryArn", "loadBalancerName")
        or name.lower().endswith("targetgrouparn")
        or name.endswith("ListenerRule")
    )


def _section(top: str, name: str, shape: Shape) -> str | None:
    """The config section a member's values answer to ("roles" or one of NETWORK_SECTIONS); None: not checked.

    By the names botocore's ECS model gives them, so a member ECS adds under the same names (another
    `*TargetGroupArn`, `*ListenerRule`, `*RoleArn`) is checked without a change here. `top` is the
    request member it sits under: it tells a load balancer's target group from a VPC Lattice one.
    """
    if _is_role_member(name, shape):
        return "roles"
    if not _is_network_member(name, shape):
        return None
    if name in ("subnets", "securityGroups"):
        return name
    if name == "namespace":  # ServiceConnectConfiguration.namespace; a container's sysctl namespace is not one
        return "serviceConnectNamespaces" if top == "serviceConnectConfiguration" else None
    if name == "registryArn":
        return "serviceRegistries"
    return "vpcLattice" if top == "vpcLatticeConfigurations" else "loadBalancers"


def _is_reference(name: str, shape: Shape) -> bool:
    return _is_role_member(name, shape) or _is_network_member(name, shape)


_HOLDS_REFERENCE: dict[str, bool] = {}


def _may_hold_reference(shape: Shape) -> bool:
    """Whether a checked member sits anywhere below this shape (memoized by shape name)."""
    if shape.name not in _HOLDS_REFERENCE:
        _HOLDS_REFERENCE[shape.name] = _holds_reference(shape, frozenset())
    return _HOLDS_REFERENCE[shape.name]


def _holds_reference(shape: Shape, seen: frozenset[str]) -> bool:
    if shape.name in seen:
        return False
    seen = seen | {shape.name}
    if shape.type_name == "structure":
        return any(_is_reference(n, m) or _holds_reference(m, seen) for n, m in shape.members.items())
    if shape.type_name == "list":
        return _holds_reference(shape.member, seen)
    return False


@dataclass(frozen=True)
class Reference:
    """One value a spec passes that the tenancy config decides: its section, field path and value."""

    section: str
    where: str
    value: str
    implicit: bool = False  # not in spec: what ECS uses when the member is left out


def references_in(spec: Mapping[str, Any], operations: Iterable[str]) -> list[Reference]:
    """Every role and network or traffic reference a spec passes to these ECS operations, found by the
    model (_section), not by hand; with a left-out securityGroups as DEFAULT_SECURITY_GROUP."""
    found: list[Reference] = []
    seen: set[str] = set()
    for operation in operations:
        shape = model.service_model().operation_model(operation).input_shape
        for name, member in shape.members.items():
            if name in seen or name not in spec:
                continue
            seen.add(name)
            _walk(spec[name], name, name, member, found)
    return found


def _walk(value: Any, top: str, path: str, shape: Shape, out: list[Reference]) -> None:
    section = _section(top, path.rsplit(".", 1)[-1], shape) if not path.endswith("]") else None
    if section is not None:
        items = value if isinstance(value, list) else [value]
        many = isinstance(value, list)
        for i, item in enumerate(items):
            if isinstance(item, str):
                out.append(Reference(section, f"spec.{path}" + (f"[{i}]" if many else ""), item))
    elif shape.type_name == "structure" and isinstance(value, Mapping) and _may_hold_reference(shape):
        for name, member in shape.members.items():
            if name in value:
                _walk(value[name], top, f"{path}.{name}", member, out)
            elif name == "securityGroups" and _section(top, name, member) == name:
                out.append(Reference(name, f"spec.{path}.{name}", DEFAULT_SECURITY_GROUP, implicit=True))
    elif shape.type_name == "list" and isinstance(value, list) and _may_hold_reference(shape):
        for i, item in enumerate(value):
            _walk(item, top, f"{path}[{i}]", shape.member, out)


def roles_in(spec: Mapping[str, Any], operations: Iterable[str]) -> list[tuple[str, str]]:
    """Every IAM role a spec passes, as (field path, role): any member the ECS model names `role`,
    `roleArn` or `*RoleArn` (task and execution roles, RunTask overrides, EBS volume, load balancer,
    Service Connect TLS, VPC Lattice and deployment hook roles) -- found by the model, not by hand.
    """
    return [(r.where, r.value) for r in references_in(spec, operations) if r.section == "roles"]


def network_members(operations: Iterable[str]) -> dict[str, list[str]]:
    """section -> the member paths of these operations it checks (the README's table; a test keeps it true)."""
    out: dict[str, list[str]] = {}

    def visit(shape: Shape, top: str, path: str, seen: frozenset[str]) -> None:
        if shape.name in seen:
            return
        seen = seen | {shape.name}
        if shape.type_name == "list":
            visit(shape.member, top, path + "[]", seen)
        elif shape.type_name == "structure":
            for name, member in shape.members.items():
                section = _section(top or name, name, member)
                where = f"{path}.{name}" if path else name
                if section is not None and section != "roles":
                    if where not in out.setdefault(section, []):
                        out[section].append(where)
                else:
                    visit(member, top or name, where, seen)

    for operation in operations:
        visit(model.service_model().operation_model(operation).input_shape, "", "", frozenset())
    return out


def network_refusals(policy: Policy, namespace: str, references: Iterable[Reference]) -> list[str]:
    """A sentence per network or traffic reference the namespace may not use: member, value, what it may use."""
    out = []
    for ref in references:
        if ref.section not in NETWORK_SECTIONS:
            continue
        rules = policy.network_rules(ref.section)
        if any(rule.allows(namespace, ref.value) for rule in rules):
            continue
        key, noun = NETWORK_SECTIONS[ref.section]
        allowed = [p.replace(PLACEHOLDER, namespace) for r in rules if r.applies_to(namespace) for p in r.patterns]
        may_use = f"it may use {ref.section}.{key}: {', '.join(allowed) or 'none'}"
        if ref.implicit:
            out.append(
                f"{ref.where}: none named, so ECS would use the VPC's default security group (shared by every task "
                f"in the VPC that names none), which namespace {namespace} may not use: no {ref.section} rule "
                f"allows {DEFAULT_SECURITY_GROUP!r} ({may_use})"
            )
            continue
        holders = _given_to(rules, ref.value, namespace)
        whose = f"it is given to namespace {', '.join(holders)}" if holders else f"no {ref.section} rule allows it"
        out.append(f"{ref.where}: {noun} {ref.value} may not be used from namespace {namespace}: {whose} ({may_use})")
    return out


def _given_to(rules: Iterable[Rule], value: str, namespace: str) -> list[str]:
    """Namespaces named outright (not by glob) in rules that allow `value`, other than `namespace`."""
    names: list[str] = []
    for rule in rules:
        for pattern in rule.patterns:
            if PLACEHOLDER in pattern:
                m = _owner_regex(pattern).fullmatch(value)
                candidates = [m["ns"]] if m and rule.applies_to(m["ns"]) else []
            elif glob(pattern).fullmatch(value):
                candidates = [n for n in rule.namespaces if not any(c in n for c in "*?")]
            else:
                candidates = []
            names += [n for n in candidates if n != namespace and n not in names]
    return names


def reference_refusal(policy: Policy, namespace: str, spec: Mapping[str, Any], operations: Iterable[str]) -> str | None:
    """Why a spec may not go to these operations for `namespace` (roles, network and traffic references),
    stamped with the policy; None: it may. The handlers and the front doors give this same message."""
    found = references_in(spec, operations)
    problems = role_refusals(policy, namespace, [(r.where, r.value) for r in found if r.section == "roles"])
    problems += network_refusals(policy, namespace, found)
    return stamp("; ".join(problems), policy) if problems else None


# -- clusters and task definitions -------------------------------------------------------------


def cluster_short_name(ref: str) -> str:
    """'arn:aws:ecs:r:a:cluster/name' -> 'name'; a name stays itself."""
    return ref.rsplit("cluster/", 1)[-1] if ref.startswith("arn:") else ref


def family_of(ref: str) -> str:
    """'family', 'family:3' or a task definition ARN -> 'family'."""
    tail = ref.rsplit("task-definition/", 1)[-1] if ref.startswith("arn:") else ref
    return tail.split(":", 1)[0]


def cluster_shared(policy: Policy, namespace: str, name: str, arn: str | None) -> bool:
    """Whether a `clusters` rule shares it: patterns starting `arn:` match the ARN, others the name."""
    for rule in policy.clusters:
        if not rule.applies_to(namespace):
            continue
        for p in rule.patterns:
            value = arn if p.startswith("arn:") else name
            if value is not None and glob(p.replace(PLACEHOLDER, namespace)).fullmatch(value):
                return True
    return False


def family_shared(policy: Policy, namespace: str, family: str) -> bool:
    return any(rule.allows(namespace, family) for rule in policy.task_definitions)


def _owner(tags: Mapping[str, str]) -> str:
    ns = tags.get(NAMESPACE_TAG)
    if not ns:
        return "no namespace owns it (no ecs.fargate.dev/namespace tag)"
    kind, name = tags.get(KIND_TAG), tags.get(NAME_TAG)
    return f"it is owned by namespace {ns}" + (f" ({kind} {ns}/{name})" if kind and name else "")


def cluster_refusal(
    policy: Policy, namespace: str, ref: str, facts: ClusterFacts | None, *, implicit: bool = False
) -> str | None:
    """Why `namespace` may not use the cluster `ref` (None: it may). `implicit`: spec named none."""
    name = facts.name if facts else cluster_short_name(ref)
    arn = facts.arn if facts else (ref if ref.startswith("arn:") else None)
    if cluster_shared(policy, namespace, name, arn):
        return None
    if facts is not None and facts.tags.get(NAMESPACE_TAG) == namespace:
        return None
    what = f"ECS cluster {ref}"
    if implicit:
        what = f"no cluster is named (spec.cluster, spec.clusterRef), so ECS would use its {ref!r} cluster, but"
        what += " that cluster"
    why = "it does not exist" if facts is None else _owner(facts.tags)
    return (
        f"{what} may not be used from namespace {namespace}: {why}; a namespace uses the clusters it owns "
        "(a FargateCluster, by spec.clusterRef) and those the tenancy config shares with it"
    )


@dataclass(frozen=True)
class ClusterClaim:
    """A FargateCluster of the namespace that manages a cluster of the name asked for (watch cache)."""

    name: str  # the object's
    arn: str | None  # status.clusterArn: set once the operator accepted the ECS cluster as the object's
    pending: bool  # not reconciled yet and not refused: its ARN may come


@dataclass(frozen=True)
class NotYet:
    """No refusal yet: the namespace's own FargateCluster may still create the cluster; ask again later."""

    message: str


def cluster_known_usable(policy: Policy, namespace: str, ref: str, claims: Iterable[ClusterClaim]) -> bool:
    """Whether `namespace` may use the cluster `ref` (name or ARN) on what the operator holds alone: one of its
    FargateClusters was accepted as it, or the policy shares it by name (or by the ARN `ref` is)."""
    arn = ref if ref.startswith("arn:") else None
    if any(c.arn and (arn is None or arn == c.arn) for c in claims):
        return True
    return cluster_shared(policy, namespace, cluster_short_name(ref), arn)


def cluster_decision(
    policy: Policy,
    namespace: str,
    ref: str,
    claims: Iterable[ClusterClaim],
    facts: ClusterFacts | None,
    *,
    implicit: bool = False,
) -> str | NotYet | None:
    """Whether `namespace` may use the cluster `ref`: None (it may), NotYet, or why not (a refusal).

    `claims`: the namespace's FargateClusters managing a cluster of that name; `facts`: what ECS says of
    the cluster (its owner tags), None when ECS knows none -- needed only when cluster_known_usable is False.
    `implicit`: the spec named no cluster, so ECS would use its default one.
    """
    claims = list(claims)
    if cluster_known_usable(policy, namespace, ref, claims):
        return None
    if facts is None and any(c.pending for c in claims):
        return NotYet(f"FargateCluster {namespace}/{claims[0].name} has no ECS cluster yet")
    return cluster_refusal(policy, namespace, ref, facts, implicit=implicit)


def task_definition_refusal(policy: Policy, namespace: str, ref: str, facts: TaskDefinitionFacts | None) -> str | None:
    """Why `namespace` may not run the task definition `ref` (None: it may).

    A shared family is usable with the roles it carries (the admin shared them with it);
    an owned one only when its roles are the namespace's too.
    """
    family = facts.family if facts else family_of(ref)
    if family_shared(policy, namespace, family):
        return None
    if facts is None:
        return (
            f"task definition {ref} may not be used from namespace {namespace}: it does not exist; a namespace "
            "runs its own task definitions and the families the tenancy config shares with it"
        )
    if facts.tags.get(NAMESPACE_TAG) != namespace:
        return (
            f"task definition {facts.arn} may not be used from namespace {namespace}: {_owner(facts.tags)}; "
            "a namespace runs its own task definitions and the families the tenancy config shares with it"
        )
    problems = role_refusals(policy, namespace, [(f"its {member}", role) for member, role in facts.roles])
    if problems:
        return f"task definition {facts.arn} may not be used from namespace {namespace}: " + "; ".join(problems)
    return None


# -- refusals and re-checks --------------------------------------------------------------------


def stamp(message: str, policy: Policy) -> str:
    """The message with the policy it was decided under (kept within a condition's 1024 characters)."""
    if len(message) > _MESSAGE_ROOM:
        message = message[: _MESSAGE_ROOM - 3] + "..."
    return f"{message} [tenancy config {policy.digest}]"


def refused_under(message: str) -> str | None:
    """The policy digest a stamped refusal was decided under."""
    m = _STAMP.search(message)
    return m.group(1) if m else None


def refusal_of(obj: Mapping[str, Any]) -> str | None:
    """The stamped message of an object's current tenancy refusal, if it has one."""
    degraded = conditions.find(obj.get("status", {}).get("conditions"), conditions.DEGRADED)
    if degraded.get("status") == "True" and degraded.get("reason") == REASON:
        return str(degraded.get("message", ""))
    return None


def needs_recheck(obj: Mapping[str, Any], policy: Policy) -> bool:
    """Whether a changed config should make this object's handler run again.

    - refused under another config: sharing may now admit it;
    - a FargateTaskDefinition whose roles this config no longer allows: it shows the refusal;
    - a FargateService in ECS that passes roles or network references this config no longer allows:
      it shows the refusal and is not updated (its tasks keep running, as when iam:PassRole is revoked).
    Never twice for one config (the annotation records that it was asked).
    """
    meta = obj["metadata"]
    if (
        meta.get("deletionTimestamp")
        or (meta.get("annotations") or {}).get(TENANCY_RECHECK_ANNOTATION) == policy.digest
    ):
        return False
    refusal = refusal_of(obj)
    if refusal is not None:
        return refused_under(refusal) != policy.digest
    if obj.get("kind") == TASK_DEFINITION and obj.get("status", {}).get("taskDefinitionArn"):
        roles = roles_in(obj.get("spec") or {}, ["RegisterTaskDefinition"])
        return bool(role_refusals(policy, meta["namespace"], roles))
    spec = obj.get("spec") or {}
    if obj.get("kind") == SERVICE and obj.get("status", {}).get("serviceArn") and management_policy(spec) == MANAGE:
        return reference_refusal(policy, meta["namespace"], spec, SERVICE_OPERATIONS) is not None
    return False


def observed_elsewhere(namespace: str, tags: Iterable[Mapping[str, str]] | None) -> str | None:
    """The namespace that owns an ECS resource an observe-only object of `namespace` mirrors, if another.

    Observing is reading: a cluster shared by the tenancy config does not make the other namespaces'
    services in it readable (their tasks, deployments and events would reach this namespace through
    the object's status and the front doors). Untagged resources (made outside the operator) and the
    namespace's own may be observed.
    """
    owner = next((t.get("value") for t in tags or () if t.get("key") == NAMESPACE_TAG), None)
    return owner if owner and owner != namespace else None
