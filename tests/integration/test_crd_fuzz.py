"""Hostile specs sent to the real API server (server-side dry run): generated from the ECS request shapes, valid and mutated.

Property: the API server accepts or rejects each with a clear message (HTTP
400/422 naming what is wrong); it never fails (5xx), and no CEL rule errors out.
"""

from __future__ import annotations

import json
import os
from typing import Any

import kubernetes
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fargate_devenv.control_plane import ControlPlane
from support.botocore_strategies import MODEL, mutate, shape_strategy

EXAMPLES = int(os.environ.get("FARGATE_FUZZ_EXAMPLES", "1000"))  # `make fuzz`: 10,000
KINDS = {
    "FargateCluster": ("fargateclusters", "CreateCluster"),
    "FargateTaskDefinition": ("fargatetaskdefinitions", "RegisterTaskDefinition"),
    "FargateService": ("fargateservices", "CreateService"),
    "FargateTask": ("fargatetasks", "RunTask"),
}


@st.composite
def specs(draw: st.DrawFn) -> tuple[str, Any, str]:
    kind = draw(st.sampled_from(sorted(KINDS)))
    operation = KINDS[kind][1]
    mutation = draw(st.sampled_from(["none", "none", "wrong-type", "drop-required", "unknown-member", "not-an-object"]))
    spec = draw(shape_strategy(MODEL.operation_model(operation).input_shape))
    spec.pop("clientToken", None)
    spec.pop("startedBy", None)
    spec.pop("service", None)
    spec.pop("forceNewDeployment", None)
    return kind, mutate(draw, spec, mutation), mutation


@pytest.fixture(scope="module")
def custom_api(control_plane: ControlPlane) -> Any:
    config = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=str(control_plane.kubeconfig), client_configuration=config)
    return kubernetes.client.CustomObjectsApi(kubernetes.client.ApiClient(config))


def test_api_server_answers_every_generated_spec_clearly(custom_api: Any) -> None:
    seen: dict[int, int] = {}

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(specs(), st.integers(min_value=0, max_value=10**9))
    def check(case: tuple[str, Any, str], n: int) -> None:
        kind, spec, mutation = case
        body = {"apiVersion": "ecs.fargate.dev/v1alpha1", "kind": kind, "metadata": {"name": f"fuzz-{n}"}, "spec": spec}
        try:
            custom_api.create_namespaced_custom_object(
                "ecs.fargate.dev", "v1alpha1", "default", KINDS[kind][0], body, dry_run="All", field_validation="Strict"
            )
            status = 201
        except kubernetes.client.ApiException as exc:
            status = exc.status
            message = json.loads(exc.body or "{}").get("message", "")
            assert status in (400, 409, 422), (status, kind, mutation, message[:500])
            assert (message and "compilation" not in message and "evaluation error" not in message.lower()) or (
                "type conversion error" in message  # a mistyped value also reported against its schema
            ), (kind, mutation, message[:500])
        seen[status] = seen.get(status, 0) + 1

    check()
    assert sum(seen.values()) >= EXAMPLES and seen.get(201) and seen.get(422), seen
    print(f"CRD fuzz: {sum(seen.values())} specs, by HTTP status: {dict(sorted(seen.items()))}")
