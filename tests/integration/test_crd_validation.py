"""Invalid manifests are rejected by the real API server with a message naming the field and what is allowed."""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from fargate_devenv.control_plane import ControlPlane
from support.kubetools import apply

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
Manifest = dict[str, Any]


def example(name: str) -> Manifest:
    doc: Manifest = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    return doc


@dataclass(frozen=True)
class Case:
    id: str
    base: str  # example file
    mutate: Callable[[Manifest], None]
    expect: tuple[str, ...]  # every one must appear in the API server's answer


def _td(mutator: Callable[[Manifest], None]) -> Callable[[Manifest], None]:
    return lambda doc: mutator(doc["spec"])


def _set(path: str, value: Any) -> Callable[[Manifest], None]:
    def mutate(doc: Manifest) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        node[last] = value

    return mutate


def _drop(path: str) -> Callable[[Manifest], None]:
    def mutate(doc: Manifest) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        del node[last]

    return mutate


def _both(*mutators: Callable[[Manifest], None]) -> Callable[[Manifest], None]:
    def mutate(doc: Manifest) -> None:
        for m in mutators:
            m(doc)

    return mutate


CREATE_CASES = [
    Case(
        "cpu256-memory4096",
        "taskdefinition",
        _both(_set("spec.cpu", "256"), _set("spec.memory", "4096")),
        ("spec.memory", "4096 is not allowed with spec.cpu 256", "256 -> 512|1024|2048"),
    ),
    Case(
        "cpu-not-a-fargate-size",
        "taskdefinition",
        _set("spec.cpu", "3 vCPU"),
        ("spec.cpu", "must be one of 256, 512, 1024, 2048, 4096, 8192, 16384"),
    ),
    Case(
        "vcpu-gb-forms-mismatch",
        "taskdefinition",
        _both(_set("spec.cpu", "1 vCPU"), _set("spec.memory", "1 GB")),
        ("spec.memory", "1 GB is not allowed with spec.cpu 1 vCPU", "1024 -> 2048..8192 step 1024"),
    ),
    Case("cpu-garbage", "taskdefinition", _set("spec.cpu", "lots"), ("spec.cpu", "should match")),
    Case(
        "missing-task-size",
        "taskdefinition",
        _drop("spec.memory"),
        ("spec.cpu", "spec.cpu and spec.memory are required"),
    ),
    Case(
        "bridge-network-mode",
        "taskdefinition",
        _set("spec.networkMode", "bridge"),
        ("spec.networkMode", "must be awsvpc", "not bridge"),
    ),
    Case(
        "ec2-only-compatibility",
        "taskdefinition",
        _set("spec.requiresCompatibilities", ["EC2"]),
        ("spec.requiresCompatibilities", "must include FARGATE"),
    ),
    Case(
        "duplicate-container-names",
        "taskdefinition",
        _set("spec.containerDefinitions.1.name", "app"),
        ("spec.containerDefinitions", "Duplicate value", "must be unique within a task definition"),
    ),
    Case(
        "no-essential-container",
        "taskdefinition",
        _set("spec.containerDefinitions.0.essential", False),
        ("spec.containerDefinitions", "at least one essential container"),
    ),
    Case(
        "container-without-image",
        "taskdefinition",
        _drop("spec.containerDefinitions.1.image"),
        ("spec.containerDefinitions[1].image", "Required value"),
    ),
    Case(
        "windows-needs-1024-cpu",
        "taskdefinition",
        _set(
            "spec.runtimePlatform", {"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE", "cpuArchitecture": "X86_64"}
        ),
        ("spec.cpu", "at least 1024 units for Windows"),
    ),
    Case(
        "family-bad-characters",
        "taskdefinition",
        _set("spec.family", "my.family"),
        ("spec.family", "should match", "a-zA-Z0-9_-"),
    ),
    Case(
        "unknown-field",
        "taskdefinition",
        _set("spec.containerDefinitions.0.imagee", "typo"),
        ('unknown field "spec.containerDefinitions[0].imagee"',),
    ),
    Case("wrong-type", "service", _set("spec.desiredCount", "two"), ("spec.desiredCount", "must be of type integer")),
    Case(
        "health-check-interval-out-of-range",
        "taskdefinition",
        _set("spec.containerDefinitions.0.healthCheck.interval", 1),
        ("spec.containerDefinitions[0].healthCheck.interval", "greater than or equal to 5"),
    ),
    Case(
        "ephemeral-storage-too-small",
        "taskdefinition",
        _set("spec.ephemeralStorage.sizeInGiB", 10),
        ("spec.ephemeralStorage.sizeInGiB", "greater than or equal to 21"),
    ),
    Case("run-task-count-over-10", "task", _set("spec.count", 11), ("spec.count", "less than or equal to 10")),
    Case(
        "enum-assign-public-ip",
        "service",
        _set("spec.networkConfiguration.awsvpcConfiguration.assignPublicIp", "YES"),
        ("spec.networkConfiguration.awsvpcConfiguration.assignPublicIp", 'supported values: "ENABLED", "DISABLED"'),
    ),
    Case(
        "enum-log-driver",
        "taskdefinition",
        _set("spec.containerDefinitions.0.logConfiguration.logDriver", "graylog"),
        ("spec.containerDefinitions[0].logConfiguration.logDriver", "supported values", '"awslogs"'),
    ),
    Case("ec2-launch-type", "service", _set("spec.launchType", "EC2"), ("spec.launchType", "must be FARGATE")),
    Case(
        "launch-type-and-capacity-providers",
        "task",
        _set("spec.launchType", "FARGATE"),
        ("spec.launchType", "mutually exclusive"),
    ),
    Case(
        "cluster-and-cluster-ref",
        "service",
        _set("spec.cluster", "demo"),
        ("spec.cluster", "spec.clusterRef", "mutually exclusive"),
    ),
    Case(
        "task-without-task-definition",
        "task",
        _drop("spec.taskDefinitionRef"),
        ("spec.taskDefinition", "exactly one of spec.taskDefinition and spec.taskDefinitionRef"),
    ),
    Case(
        "service-without-network",
        "service",
        _drop("spec.networkConfiguration"),
        ("spec.networkConfiguration", "awsvpcConfiguration is required"),
    ),
    Case(
        "unknown-drift-policy",
        "service",
        _set("spec.driftPolicy", "Ignore"),
        ("spec.driftPolicy", 'supported values: "Correct", "Report"'),
    ),
    Case(
        "unknown-management-policy",
        "cluster",
        _set("spec.managementPolicy", "ReadOnly"),
        ("spec.managementPolicy", 'supported values: "Manage", "Observe"'),
    ),
    Case(
        "reserved-tag-prefix",
        "cluster",
        _set("spec.tags", [{"key": "aws:team", "value": "x"}]),
        ("spec.tags", "must not begin with 'aws:'"),
    ),
    Case(
        "capacity-provider-weight-out-of-range",
        "cluster",
        _set("spec.defaultCapacityProviderStrategy.0.weight", 5000),
        ("spec.defaultCapacityProviderStrategy[0].weight", "less than or equal to 1000"),
    ),
    Case(
        "spot-on-ec2-provider",
        "task",
        _set("spec.capacityProviderStrategy.0.capacityProvider", "my-asg"),
        ("spec.capacityProviderStrategy", "FARGATE or FARGATE_SPOT"),
    ),
]


def test_an_observe_only_service_needs_no_network(control_plane: ControlPlane, unique: str) -> None:
    """managementPolicy Observe creates nothing, so it need not say how to place tasks."""
    doc = _named(example("service"), unique, Case("observe-no-network", "service", _drop("x"), ()))
    del doc["spec"]["networkConfiguration"]
    doc["spec"]["managementPolicy"] = "Observe"
    res = apply(control_plane, doc)
    assert res.returncode == 0, res.stderr


UPDATE_CASES = [
    Case("family-immutable", "taskdefinition", _set("spec.family", "web-renamed"), ("spec.family", "immutable")),
    Case("task-spec-immutable", "task", _set("spec.count", 2), ("spec", "immutable", "FargateTask runs once")),
    Case("service-name-immutable", "service", _set("spec.serviceName", "web2"), ("spec.serviceName", "immutable")),
    Case(
        "service-cluster-immutable",
        "service",
        _set("spec.clusterRef", {"name": "other"}),
        ("spec.clusterRef", "immutable"),
    ),
    Case("cluster-name-immutable", "cluster", _set("spec.clusterName", "demo2"), ("spec.clusterName", "immutable")),
]


def _named(doc: Manifest, unique: str, case: Case) -> Manifest:
    doc = copy.deepcopy(doc)
    doc["metadata"]["name"] = f"{case.id}-{unique}"[:63]
    return doc


def _assert_rejected(answer: str, case: Case) -> None:
    for text in case.expect:
        assert text in answer, f"{case.id}: expected {text!r} in the API server's answer:\n{answer}"


@pytest.mark.parametrize("case", CREATE_CASES, ids=lambda c: c.id)
def test_invalid_manifest_is_rejected_on_create(control_plane: ControlPlane, unique: str, case: Case) -> None:
    doc = _named(example(case.base), unique, case)
    case.mutate(doc)
    res = apply(control_plane, doc)
    assert res.returncode != 0, f"{case.id} was accepted"
    _assert_rejected(res.stderr, case)


@pytest.mark.parametrize("case", UPDATE_CASES, ids=lambda c: c.id)
def test_immutable_field_change_is_rejected_on_update(control_plane: ControlPlane, unique: str, case: Case) -> None:
    doc = _named(example(case.base), unique, case)
    first = apply(control_plane, doc)
    assert first.returncode == 0, first.stderr
    case.mutate(doc)
    res = apply(control_plane, doc)
    assert res.returncode != 0, f"{case.id}: the change was accepted"
    _assert_rejected(res.stderr, case)


def test_every_fargate_size_in_the_matrix_is_accepted(control_plane: ControlPlane, unique: str) -> None:
    """The CEL matrix and the Python table agree: each valid pair passes, its neighbours fail."""
    from fargate_operator.models.fargate_sizes import FARGATE_SIZES

    doc = example("taskdefinition")
    failures = []
    for cpu, mems in FARGATE_SIZES.items():
        for mem in (mems[0], mems[-1], mems[-1] + 1024):
            d = copy.deepcopy(doc)
            d["metadata"]["name"] = f"size-{cpu}-{mem}-{unique}"
            d["spec"]["cpu"], d["spec"]["memory"] = str(cpu), str(mem)
            d["spec"].pop("runtimePlatform")
            res = control_plane.kubectl("apply", "--dry-run=server", "-f", "-", input=yaml.safe_dump(d), check=False)
            accepted = res.returncode == 0
            if accepted != (mem in mems):
                failures.append((cpu, mem, accepted, res.stderr[-300:]))
    assert not failures, failures


# Tags the operator adds to what it creates (models/ownership.py): four owner tags, plus
# the spec hash on task definition revisions. ECS allows 50 tags per resource (botocore
# model, shape Tags: "max": 50), so the user's share is 46, and 45 on task definitions.
USER_TAG_LIMITS = {"cluster": 46, "service": 46, "task": 46, "taskdefinition": 45}


@pytest.mark.parametrize("base", sorted(USER_TAG_LIMITS))
def test_tag_limit_leaves_room_for_the_operators_tags(control_plane: ControlPlane, unique: str, base: str) -> None:
    limit = USER_TAG_LIMITS[base]
    doc = example(base)
    doc["metadata"]["name"] = f"tags-{base}-{unique}"

    def dry_run(n: int) -> subprocess.CompletedProcess[str]:
        d = copy.deepcopy(doc)
        d["spec"]["tags"] = [{"key": f"k{i}", "value": str(i)} for i in range(n)]
        return control_plane.kubectl("apply", "--dry-run=server", "-f", "-", input=yaml.safe_dump(d), check=False)

    at_limit = dry_run(limit)
    assert at_limit.returncode == 0, at_limit.stderr
    over = dry_run(limit + 1)
    assert over.returncode != 0, f"{limit + 1} user tags were accepted on {base}"
    for text in ("spec.tags", f"must have at most {limit} items"):
        assert text in over.stderr, f"expected {text!r} in the API server's answer:\n{over.stderr}"
