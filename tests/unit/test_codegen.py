"""The generator: its output is committed and current, and covers every ECS request member."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fargate_operator.codegen.crd_kinds import KINDS, crd, spec_schema
from fargate_operator.codegen.generate import render_all, stale_files
from fargate_operator.schema import shapes
from fargate_operator.schema.limits import MEMBER_LIMITS, SHAPE_REQUIRED

REPO = Path(__file__).resolve().parents[2]


def test_generated_files_are_up_to_date() -> None:
    stale = stale_files(REPO)
    assert not stale, f"generated files are stale, run `make generate`: {stale}"


def test_stale_check_notices_an_edited_file(tmp_path: Path) -> None:
    lua = "deploy/argocd/health/common.lua"  # an input of the generator, read from the checkout it checks
    (tmp_path / lua).parent.mkdir(parents=True)
    (tmp_path / lua).write_text((REPO / lua).read_text())
    for rel, text in render_all(REPO).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert stale_files(tmp_path) == []
    victim = next(iter(render_all(REPO)))
    (tmp_path / victim).write_text((tmp_path / victim).read_text() + "# hand edit\n")
    (tmp_path / "crds" / "stray.yaml").write_text("kind: Nothing\n")
    assert stale_files(tmp_path) == [victim, "crds/stray.yaml"]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_spec_covers_every_member_of_its_ecs_requests(kind: Any) -> None:
    spec = spec_schema(kind)["properties"]
    for op in kind.operations:
        for member in shapes.request_members(op):
            assert member in spec or member in kind.operator_owned, f"{kind.kind} lacks {op}.{member}"
    for member in kind.operator_owned:
        assert member not in spec


def _walk_structures(shape_name: str, seen: set[str]) -> None:
    shape = shapes.shapes()[shape_name]
    if shape_name in seen:
        return
    seen.add(shape_name)
    if shape["type"] == "structure":
        for ref in shape["members"].values():
            _walk_structures(ref["shape"], seen)
    elif shape["type"] == "list":
        _walk_structures(shape["member"]["shape"], seen)
    elif shape["type"] == "map":
        _walk_structures(shape["value"]["shape"], seen)


def test_nested_shapes_are_complete() -> None:
    spec = spec_schema(next(k for k in KINDS if k.kind == "FargateTaskDefinition"))
    container = spec["properties"]["containerDefinitions"]["items"]["properties"]
    model = shapes.shapes()["ContainerDefinition"]["members"]
    assert set(container) == set(model) and len(container) == 42
    # Deep check: every nested member of a service request is present at its place.
    service = spec_schema(next(k for k in KINDS if k.kind == "FargateService"))
    seen: set[str] = set()
    _walk_structures("CreateServiceRequest", seen)
    assert "DeploymentCircuitBreaker" in seen
    breaker = service["properties"]["deploymentConfiguration"]["properties"]["deploymentCircuitBreaker"]
    assert set(breaker["properties"]) == set(shapes.shapes()["DeploymentCircuitBreaker"]["members"])


def test_enums_and_required_come_from_the_model() -> None:
    spec = spec_schema(next(k for k in KINDS if k.kind == "FargateService"))
    assign = spec["properties"]["networkConfiguration"]["properties"]["awsvpcConfiguration"]["properties"]
    assert assign["assignPublicIp"]["enum"] == shapes.shapes()["AssignPublicIp"]["enum"]
    assert spec["required"] == ["serviceName"]
    awsvpc = spec["properties"]["networkConfiguration"]["properties"]["awsvpcConfiguration"]
    assert awsvpc["required"] == shapes.shapes()["AwsVpcConfiguration"]["required"]


def test_documented_limits_name_real_members() -> None:
    for key in MEMBER_LIMITS:
        shape, member = key.split(".")
        assert member in shapes.shapes()[shape]["members"], key
    for shape, members in SHAPE_REQUIRED.items():
        assert set(members) <= set(shapes.shapes()[shape]["members"])


@pytest.mark.parametrize(
    ("key", "phrase"),
    [
        ("HealthCheck.interval", "between 5 and 300 seconds"),
        ("HealthCheck.timeout", "between 2 and 60 seconds"),
        ("HealthCheck.retries", "between 1 and 10 retries"),
        ("HealthCheck.startPeriod", "between 0 and 300 seconds"),
        ("EphemeralStorage.sizeInGiB", "minimum supported value is 21 GiB and the maximum supported value is 200 GiB"),
        ("RunTaskRequest.count", "up to 10 tasks"),
        ("ContainerDefinition.stopTimeout", "max stop timeout value is 120 seconds"),
        ("CreateServiceRequest.serviceName", "Up to 255 letters"),
        ("RegisterTaskDefinitionRequest.family", "Up to 255 letters"),
    ],
)
def test_documented_limits_are_quoted_from_the_model(key: str, phrase: str) -> None:
    shape, member = key.split(".")
    doc = shapes.shapes()[shape]["members"][member]["documentation"]
    assert phrase in doc.replace("<code>", "").replace("</code>", "")


def test_each_crd_fits_client_side_apply() -> None:
    # kubectl's last-applied annotation holds the whole object; annotations are limited to 256 KiB.
    for kind in KINDS:
        size = len(json.dumps(crd(kind), separators=(",", ":")))
        assert size < 200 * 1024, f"{kind.kind}: {size} bytes"


def test_doc_text_is_plain_and_cut_at_a_sentence() -> None:
    html = "<p>First <code>x</code> sentence &amp; more. " + "Second sentence is long. " * 30 + "</p><p>Next.</p>"
    text = shapes.doc_text(html, limit=60)
    assert text == "First x sentence & more. Second sentence is long."
    assert shapes.doc_text("<p>Short.</p><p>Other.</p>") == "Short."
    assert shapes.doc_text(None) == ""
