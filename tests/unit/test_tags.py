"""Tags: `aws:` keys are never touched; user tags plus ours fit ECS's 50.

botocore's ECS model, shape Tag/Tags: "Maximum number of tags per resource - 50" and
"Do not use aws:, AWS:, or any upper or lowercase combination of such as a prefix ...
You cannot edit or delete tag keys or values with this prefix. Tags with this prefix do
not count against your tags per resource limit."
"""

from __future__ import annotations

from typing import Any

import pytest

from fargate_operator.codegen.crd_kinds import KINDS, crd
from fargate_operator.models import ownership
from fargate_operator.reconcile import cluster as cluster_logic
from fargate_operator.reconcile import service as service_logic
from fargate_operator.reconcile import task as task_logic
from fargate_operator.reconcile import task_definition as td_logic

OWNER = ownership.Owner("FargateCluster", "ns", "c", "0b3f4e7a-1111-2222-3333-444455556666")
ECS_TAG_LIMIT = 50  # botocore model, shape Tags: "max": 50


def test_tag_sync_never_touches_aws_tags() -> None:
    observed = [
        {"key": "aws:cloudformation:stack-name", "value": "legacy"},
        {"key": "AWS:Custom", "value": "x"},
        {"key": "team", "value": "b"},
        {"key": "old", "value": "1"},
        *OWNER.tags(),
    ]
    calls = cluster_logic.tag_sync_calls("arn:c", [{"key": "team", "value": "a"}], observed)
    assert calls == [
        ("TagResource", {"resourceArn": "arn:c", "tags": [{"key": "team", "value": "a"}]}),
        ("UntagResource", {"resourceArn": "arn:c", "tagKeys": ["old"]}),
    ]


def test_adopted_cloudformation_resource_needs_no_tag_calls() -> None:
    observed = [{"key": "aws:cloudformation:stack-name", "value": "legacy"}, *OWNER.tags()]
    assert cluster_logic.update_calls({}, "arn:c", observed) == []


def _user_tags(n: int) -> list[dict[str, str]]:
    return [{"key": f"user-{i}", "value": str(i)} for i in range(n)]


def _tags_schema(kind: str) -> dict[str, Any]:
    k = next(k for k in KINDS if k.kind == kind)
    schema: dict[str, Any] = crd(k)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    tags: dict[str, Any] = schema["properties"]["spec"]["properties"]["tags"]
    return tags


def _request_tags(kind: str, user: list[dict[str, str]]) -> list[dict[str, str]]:
    owner = ownership.Owner(kind, "ns", "n", OWNER.uid)
    if kind == "FargateCluster":
        return list(cluster_logic.create_request({"tags": user}, "c", owner)["tags"])
    if kind == "FargateService":
        return list(service_logic.create_request({"serviceName": "s", "tags": user}, owner, "c", "td:1")["tags"])
    if kind == "FargateTask":
        return list(task_logic.run_request({"tags": user}, owner, "c", "td:1")["tags"])
    request, _ = td_logic.register_request({"family": "f", "tags": user}, owner)
    return list(request["tags"])


@pytest.mark.parametrize("kind", [k.kind for k in KINDS])
def test_most_user_tags_the_crd_allows_fit_with_ours_in_ecs_limit(kind: str) -> None:
    schema = _tags_schema(kind)
    most = schema["maxItems"]
    assert len(_request_tags(kind, _user_tags(most))) <= ECS_TAG_LIMIT
    # ...and the limit is not stricter than it must be: one more user tag would not fit.
    assert len(_request_tags(kind, _user_tags(most + 1))) > ECS_TAG_LIMIT
    assert most == ownership.user_tag_limit(kind)


@pytest.mark.parametrize("kind", [k.kind for k in KINDS])
def test_tag_limit_is_explained(kind: str) -> None:
    """The API server's maxItems answer names the field and the number; the description says why."""
    limit = ownership.user_tag_limit(kind)
    description = _tags_schema(kind)["description"]
    assert f"At most {limit}: ECS allows 50 tags per resource" in description
    assert all(key in description for key in ownership.operator_tag_keys(kind))
