"""CEL validation rules (``x-kubernetes-validations``) that the API server enforces.

Each rule carries a message naming the field and what is allowed. Rules are
written against the spec object, with ``fieldPath`` pointing at the member so
the API server reports ``spec.<member>``.
"""

from __future__ import annotations

from typing import Any

from fargate_operator.models.fargate_sizes import FARGATE_SIZES, WINDOWS_MIN_CPU, describe_sizes

Rule = dict[str, Any]

# CEL expressions turning the string forms ECS accepts into numbers. The
# schema's `pattern` has already restricted them to digits or "<n> vCPU"/"<n> GB".
CPU_UNITS = (
    "(self.cpu.lowerAscii().endsWith('vcpu') ? "
    "int(double(self.cpu.lowerAscii().replace('vcpu', '').trim()) * 1024.0) : int(self.cpu))"
)
MEMORY_MIB = (
    "(self.memory.lowerAscii().endsWith('gb') ? "
    "int(double(self.memory.lowerAscii().replace('gb', '').trim()) * 1024.0) : int(self.memory))"
)


def rule(expr: str, message: str, field: str | None = None, *, message_expression: str | None = None) -> Rule:
    result: Rule = {"rule": expr, "message": message}
    if message_expression:
        result["messageExpression"] = message_expression
    if field:
        result["fieldPath"] = f".{field}"
        result["reason"] = "FieldValueInvalid"
    return result


def immutable(field: str, why: str) -> Rule:
    """A field that may be neither added, removed nor changed after creation."""
    return rule(
        f"has(self.{field}) == has(oldSelf.{field}) && (!has(self.{field}) || self.{field} == oldSelf.{field})",
        f"spec.{field} is immutable: {why}",
        field,
    )


def at_most_one(a: str, b: str) -> Rule:
    return rule(f"!(has(self.{a}) && has(self.{b}))", f"spec.{a} and spec.{b} are mutually exclusive: set one", a)


def fargate_launch(observable: bool = False) -> list[Rule]:
    """RunTask / CreateService: Fargate only, and awsvpc needs a network configuration.

    `observable`: the kind has spec.managementPolicy, and an observe-only object (which creates
    nothing) need not say how to place what it only mirrors.
    """
    network = "has(self.networkConfiguration) && has(self.networkConfiguration.awsvpcConfiguration)"
    if observable:
        network = f"self.managementPolicy == 'Observe' || ({network})"
    return [
        rule(
            "!has(self.launchType) || self.launchType == 'FARGATE'",
            "spec.launchType must be FARGATE (or omitted, with a FARGATE/FARGATE_SPOT capacityProviderStrategy)",
            "launchType",
        ),
        at_most_one("launchType", "capacityProviderStrategy"),
        rule(
            "!has(self.capacityProviderStrategy) || "
            "self.capacityProviderStrategy.all(p, p.capacityProvider in ['FARGATE', 'FARGATE_SPOT'])",
            "spec.capacityProviderStrategy[].capacityProvider must be FARGATE or FARGATE_SPOT",
            "capacityProviderStrategy",
        ),
        rule(
            network,
            "spec.networkConfiguration.awsvpcConfiguration is required: Fargate tasks use the awsvpc network mode "
            "and need subnets (and securityGroups)",
            "networkConfiguration",
        ),
    ]


def task_definition_rules() -> list[Rule]:
    cpu_list = ", ".join(str(c) for c in FARGATE_SIZES)
    # A CEL map literal from cpu units to the memory (MiB) allowed with it.
    matrix = "{" + ", ".join(f"{cpu}: [{', '.join(map(str, mems))}]" for cpu, mems in FARGATE_SIZES.items()) + "}"
    return [
        rule(
            "has(self.cpu) && has(self.memory)",
            "spec.cpu and spec.memory are required: Fargate needs a task-level size, "
            f"for example cpu '256' with memory '512' (allowed cpu -> memory MiB: {describe_sizes()})",
            "cpu",
        ),
        rule(
            f"!has(self.cpu) || {CPU_UNITS} in [{cpu_list}]",
            f"spec.cpu must be one of {cpu_list} cpu units (or the same as '0.25 vCPU' .. '16 vCPU')",
            "cpu",
        ),
        rule(
            f"!has(self.cpu) || !has(self.memory) || !({CPU_UNITS} in [{cpu_list}]) || "
            f"{MEMORY_MIB} in {matrix}[{CPU_UNITS}]",
            f"spec.memory is not allowed with spec.cpu on Fargate; allowed cpu -> memory MiB: {describe_sizes()}",
            "memory",
            message_expression=(
                "'spec.memory ' + self.memory + ' is not allowed with spec.cpu ' + self.cpu + "
                f"' on Fargate; allowed cpu -> memory MiB: {describe_sizes()}'"
            ),
        ),
        rule(
            "!has(self.networkMode) || self.networkMode == 'awsvpc'",
            "spec.networkMode must be awsvpc: Fargate supports no other network mode",
            "networkMode",
            message_expression="'spec.networkMode must be awsvpc (Fargate supports no other), not ' + self.networkMode",
        ),
        rule(
            "!has(self.requiresCompatibilities) || 'FARGATE' in self.requiresCompatibilities",
            "spec.requiresCompatibilities must include FARGATE",
            "requiresCompatibilities",
        ),
        rule(
            "self.containerDefinitions.all(c, self.containerDefinitions.exists_one(d, d.name == c.name))",
            "spec.containerDefinitions[].name must be unique within a task definition",
            "containerDefinitions",
        ),
        rule(
            "self.containerDefinitions.exists(c, !has(c.essential) || c.essential)",
            "spec.containerDefinitions needs at least one essential container "
            "(essential: true, which is the default when omitted)",
            "containerDefinitions",
        ),
        rule(
            "!has(self.cpu) || !has(self.runtimePlatform) || !has(self.runtimePlatform.operatingSystemFamily) || "
            f"!self.runtimePlatform.operatingSystemFamily.startsWith('WINDOWS') || {CPU_UNITS} >= {WINDOWS_MIN_CPU}",
            f"spec.cpu must be at least {WINDOWS_MIN_CPU} units for Windows containers on Fargate",
            "cpu",
        ),
        immutable("family", "it is the ECS identity of this task definition; create a new resource for a new family"),
    ]


def tag_rules() -> list[Rule]:
    return [
        rule(
            "self.all(t, !has(t.key) || !t.key.lowerAscii().startsWith('aws:'))",
            "tags[].key must not begin with 'aws:', which AWS reserves",
        )
    ]
