"""The CRDs as the real API server enforces them: install, explain, category, and the examples."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from fargate_devenv.control_plane import ControlPlane
from support.kubetools import apply, delete, get

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))

# Members the CRD schema fills in when omitted (defaults), per kind.
SCHEMA_DEFAULTS = {
    "FargateCluster": {"deletionPolicy", "adoptionPolicy", "managementPolicy", "driftPolicy"},
    "FargateTaskDefinition": {
        "networkMode",
        "requiresCompatibilities",
        "revisionHistoryLimit",
        "deleteDeregisteredRevisions",
        "deletionPolicy",
        "adoptionPolicy",
        "driftPolicy",
    },
    "FargateService": {"deletionPolicy", "adoptionPolicy", "managementPolicy", "driftPolicy"},
    "FargateTask": set(),
}


def test_kubectl_apply_of_crds_is_clean_and_idempotent(control_plane: ControlPlane) -> None:
    # The session fixture applied them once already; a second client-side apply must also
    # succeed (it stores the whole CRD in the last-applied annotation, limited to 256 KiB).
    out = control_plane.kubectl("apply", "-f", str(REPO / "crds")).stdout
    assert out.count("customresourcedefinition.apiextensions.k8s.io/") == 5, out  # the four kinds and FargateAccount


def test_kubectl_explain_shows_ecs_documentation(control_plane: ControlPlane) -> None:
    out = control_plane.kubectl("explain", "fargatetaskdefinition.spec.containerDefinitions").stdout
    assert "A list of container definitions in JSON format" in out
    # Nested members carry their own ECS documentation too.
    assert "The number of cpu units reserved for the container" in out
    hc = control_plane.kubectl("explain", "fargatetaskdefinition.spec.containerDefinitions.healthCheck.interval").stdout
    assert "between 5 and 300 seconds" in hc


def test_get_fargate_category_lists_all_four_kinds(control_plane: ControlPlane, unique: str) -> None:
    for example in EXAMPLES:
        doc = yaml.safe_load(example.read_text())
        doc["metadata"]["name"] = f"{doc['metadata']['name']}-cat-{unique}"
        res = apply(control_plane, doc)
        assert res.returncode == 0, res.stderr
    out = control_plane.kubectl("get", "fargate", "-o", "name").stdout
    for kind in ("fargatecluster", "fargatetaskdefinition", "fargateservice", "fargatetask"):
        assert f"{kind}.ecs.fargate.dev/" in out and f"-cat-{unique}" in out, out
    wide = control_plane.kubectl("get", "fargateservices", "-o", "wide").stdout
    assert {"STATUS", "RUNNING", "DESIRED", "ROLLOUT", "READY", "ARN", "AGE"} <= set(wide.split("\n")[0].split())


def _assert_preserved(sent: Any, stored: Any, path: str = "spec") -> None:
    """Everything sent comes back exactly (values, types, order of lists)."""
    if isinstance(sent, dict):
        assert isinstance(stored, dict), path
        for key, value in sent.items():
            assert key in stored, f"{path}.{key} was dropped"
            _assert_preserved(value, stored[key], f"{path}.{key}")
    elif isinstance(sent, list):
        assert isinstance(stored, list) and len(stored) == len(sent), path
        for i, (a, b) in enumerate(zip(sent, stored, strict=True)):
            _assert_preserved(a, b, f"{path}[{i}]")
    else:
        assert sent == stored and type(sent) is type(stored), f"{path}: sent {sent!r}, stored {stored!r}"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_realistic_examples_are_accepted_and_read_back_unchanged(
    control_plane: ControlPlane, unique: str, example: Path
) -> None:
    doc = yaml.safe_load(example.read_text())
    doc["metadata"]["name"] = f"{doc['metadata']['name']}-{unique}"
    sent = copy.deepcopy(doc["spec"])
    res = apply(control_plane, doc)
    assert res.returncode == 0, res.stderr
    stored = get(control_plane, doc["kind"].lower(), doc["metadata"]["name"])["spec"]
    _assert_preserved(sent, stored)
    added = set(stored) - set(sent)
    assert added <= SCHEMA_DEFAULTS[doc["kind"]], f"unexpected members added: {added - SCHEMA_DEFAULTS[doc['kind']]}"
    delete(control_plane, doc["kind"].lower(), doc["metadata"]["name"])


def test_defaults_fill_fargate_network_mode_and_compatibilities(control_plane: ControlPlane, unique: str) -> None:
    doc = {
        "apiVersion": "ecs.fargate.dev/v1alpha1",
        "kind": "FargateTaskDefinition",
        "metadata": {"name": f"minimal-{unique}"},
        "spec": {
            "family": f"minimal-{unique}",
            "cpu": "0.25 vCPU",
            "memory": "0.5 GB",
            "containerDefinitions": [{"name": "app", "image": "busybox"}],
        },
    }
    res = apply(control_plane, doc)
    assert res.returncode == 0, res.stderr
    spec = get(control_plane, "fargatetaskdefinition", f"minimal-{unique}")["spec"]
    assert spec["networkMode"] == "awsvpc"
    assert spec["requiresCompatibilities"] == ["FARGATE"]
    assert spec["cpu"] == "0.25 vCPU"  # kept as written; the operator normalizes when it registers
