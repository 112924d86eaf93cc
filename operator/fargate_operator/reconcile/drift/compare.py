"""Desired (spec) vs observed (DescribeServices / DescribeClusters) per kind: the members that differ.

A member is compared when the spec sets it (the spec's ECS members, as the operator sends them),
plus the revision the operator last deployed and the user's tags. Both sides are parsed into the
same generated form (forms.py), normalised by the same rules (normalize.py), then compared.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from fargate_operator.reconcile.drift import forms
from fargate_operator.reconcile.drift.normalize import (
    CLUSTER_RULES,
    SERVICE_RULES,
    Rules,
    matches,
    normalize,
    redact,
    user_tags,
)
from fargate_operator.reconcile.requests import ecs_members
from fargate_operator.schema import model

SHOWN_CHARS = 200  # of each value in a condition message


@dataclass(frozen=True)
class Difference:
    field: str  # the spec member (a metric label: bounded, never a value)
    desired: Any  # normalised, secrets hashed
    actual: Any

    def text(self) -> str:
        return f"{self.field}: spec {_shown(self.desired)}, ECS {_shown(self.actual)}"

    def record(self) -> dict[str, str]:
        return {"field": self.field, "desired": _shown(self.desired), "actual": _shown(self.actual)}


def _shown(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


# Resource existence is compared as a member of its own: ECS's status, which must be ACTIVE.
STATUS = "status"
TAGS = "tags"

# --- FargateService -----------------------------------------------------------------------------

# UpdateService members that name the service or are actions, not state.
SERVICE_NOT_STATE = {
    "cluster": "names the service (immutable in the CRD)",
    "service": "names the service (spec.serviceName, immutable in the CRD)",
    "forceNewDeployment": "an action, not a state (the operator owns it)",
}
# UpdateService members that DescribeServices does not report (neither Service nor Deployment has
# them in botocore's model): a change made to them behind the operator's back cannot be seen.
SERVICE_NOT_OBSERVABLE = {
    "monitoring": "not in DescribeServices' answer (botocore model: Service, Deployment)",
    "gatewayConnectors": "not in DescribeServices' answer (botocore model: Service, Deployment)",
}


def _members(shape: str) -> frozenset[str]:
    return frozenset(model.service_model().shape_for(shape).members)


@cache
def service_members() -> tuple[frozenset[str], frozenset[str]]:
    """(members read from the Service, members read from its PRIMARY Deployment) that drift compares.

    Every UpdateService member, less SERVICE_NOT_STATE and SERVICE_NOT_OBSERVABLE. ECS reports some
    only per deployment (model: Deployment.serviceConnectConfiguration, .volumeConfigurations,
    .vpcLatticeConfigurations): those come from the PRIMARY deployment, the one ECS rolls towards.
    """
    update = frozenset(model.service_model().operation_model("UpdateService").input_shape.members)
    compared = update - set(SERVICE_NOT_STATE) - set(SERVICE_NOT_OBSERVABLE)
    on_service = compared & _members("Service")
    on_deployment = (compared - on_service) & _members("Deployment")
    unseen = compared - on_service - on_deployment
    if unseen:
        raise ValueError(f"UpdateService members DescribeServices does not report: {sorted(unseen)}")
    return on_service, on_deployment


def _service_form() -> type[Any]:
    on_service, on_deployment = service_members()
    return forms.request_form("UpdateService", on_service | on_deployment)


def service_desired(spec: dict[str, Any], deployed_revision: str | None) -> dict[str, Any]:
    """The members of the spec drift compares, parsed; the revision is the one the operator deployed
    (status.desiredTaskDefinition, as ECS resolved it), not what a reference points to right now."""
    on_service, on_deployment = service_members()
    wanted = {k: v for k, v in ecs_members(spec, "UpdateService").items() if k in on_service | on_deployment}
    wanted.pop("taskDefinition", None)
    if deployed_revision:
        wanted["taskDefinition"] = deployed_revision
    desired = forms.parse(_service_form(), wanted)
    desired[TAGS] = user_tags(spec.get("tags"))
    return desired


def primary_deployment(service: dict[str, Any]) -> dict[str, Any]:
    deployments: list[dict[str, Any]] = service.get("deployments") or []
    return next((d for d in deployments if d.get("status") == "PRIMARY"), deployments[0] if deployments else {})


def service_observed(service: dict[str, Any]) -> dict[str, Any]:
    on_service, on_deployment = service_members()
    primary = primary_deployment(service)
    raw = {m: service[m] for m in on_service if service.get(m) is not None}
    raw |= {m: primary[m] for m in on_deployment if primary.get(m) is not None}
    observed = forms.parse(_service_form(), raw)
    if "platformVersion" not in observed and primary.get("platformVersion"):
        observed["platformVersion"] = {"resolved": primary["platformVersion"]}  # see normalize.platform_version
    observed[TAGS] = user_tags(service.get("tags"))
    return observed


def differences(desired: dict[str, Any], observed: dict[str, Any], rules: Rules) -> list[Difference]:
    """The members of `desired` that ECS's `observed` does not satisfy, after normalisation.

    ECS's defaults fill both sides, but only members the spec gives are compared (a top-level
    default fills the observed side alone, for when ECS leaves a member out of its answer).
    """
    want = normalize(desired, "", rules)
    have = normalize(observed, "", rules)
    return [
        Difference(member, redact(want[member], member), redact(have.get(member), member))
        for member in sorted(desired)
        if not matches(want[member], have.get(member), member, rules)
    ]


def service_differences(
    spec: dict[str, Any], deployed_revision: str | None, service: dict[str, Any] | None
) -> list[Difference]:
    """What differs between the spec and the ECS service (None: ECS reports it MISSING)."""
    status = service.get("status") if service else "MISSING"
    if status != "ACTIVE" or service is None:
        return [Difference(STATUS, "ACTIVE", status)]
    return differences(service_desired(spec, deployed_revision), service_observed(service), SERVICE_RULES)


# --- FargateCluster -----------------------------------------------------------------------------

CLUSTER_NOT_STATE = {"clusterName": "names the cluster (immutable in the CRD)"}


@cache
def cluster_members() -> frozenset[str]:
    """CreateCluster members drift compares (tags apart): all are in the Cluster shape that
    DescribeClusters answers with include=[SETTINGS, CONFIGURATIONS, TAGS] (ecs/gateway.py)."""
    create = frozenset(model.service_model().operation_model("CreateCluster").input_shape.members)
    compared = create - set(CLUSTER_NOT_STATE) - {TAGS}
    unseen = compared - _members("Cluster")
    if unseen:
        raise ValueError(f"CreateCluster members DescribeClusters does not report: {sorted(unseen)}")
    return compared


def cluster_differences(spec: dict[str, Any], cluster: dict[str, Any] | None) -> list[Difference]:
    """What differs between the spec and the ECS cluster (None: ECS reports it MISSING)."""
    status = cluster.get("status") if cluster else "MISSING"
    if status != "ACTIVE" or cluster is None:
        return [Difference(STATUS, "ACTIVE", status)]
    form = forms.request_form("CreateCluster", cluster_members())
    observed = forms.parse(form, {m: cluster[m] for m in cluster_members() if cluster.get(m) is not None})
    observed[TAGS] = user_tags(cluster.get("tags"))
    return differences(cluster_desired(spec), observed, CLUSTER_RULES)


def cluster_desired(spec: dict[str, Any]) -> dict[str, Any]:
    """The members of a FargateCluster spec drift compares, parsed."""
    form = forms.request_form("CreateCluster", cluster_members())
    wanted = {k: v for k, v in ecs_members(spec, "CreateCluster").items() if k in cluster_members()}
    desired = forms.parse(form, wanted)
    desired[TAGS] = user_tags(spec.get("tags"))
    return desired


def corrective(desired: dict[str, Any], fields: set[str], rules: Rules) -> dict[str, Any]:
    """The drifted members as a request sends them: the spec's values with ECS's defaults spelled out,
    so that a request merging into what ECS has (as UpdateService's deploymentConfiguration may)
    sets back what was changed even where the spec relied on a default."""
    normalised = normalize(desired, "", rules)
    return {k: normalised[k] for k in sorted(fields) if k in desired and k not in (TAGS, STATUS)}
