"""FargateCluster: CreateCluster, the updates a changed spec needs, and status from DescribeClusters."""

from __future__ import annotations

from typing import Any

from fargate_operator.models.ownership import OWNER_TAG_KEYS, TAG_PREFIX, Owner, merge_tags, reserved
from fargate_operator.reconcile.requests import ecs_members, spec_hash

Call = tuple[str, dict[str, Any]]


def cluster_name(body: Any) -> str:
    name: str = body["spec"].get("clusterName") or body["metadata"]["name"]
    return name


def desired_hash(spec: dict[str, Any]) -> str:
    return spec_hash(ecs_members(spec, "CreateCluster"))


def create_request(spec: dict[str, Any], name: str, owner: Owner) -> dict[str, Any]:
    req = ecs_members(spec, "CreateCluster")
    req["clusterName"] = name
    req["tags"] = merge_tags(spec.get("tags"), owner.tags())
    return req


def update_calls(spec: dict[str, Any], cluster_arn: str, observed_tags: list[dict[str, str]] | None) -> list[Call]:
    """The calls that bring an existing cluster to spec (UpdateCluster also carries settings)."""
    calls: list[Call] = []
    update: dict[str, Any] = {k: spec[k] for k in ("settings", "configuration", "serviceConnectDefaults") if k in spec}
    if update:
        calls.append(("UpdateCluster", {"cluster": cluster_arn, **update}))
    if "capacityProviders" in spec or "defaultCapacityProviderStrategy" in spec:
        calls.append(
            (
                "PutClusterCapacityProviders",
                {
                    "cluster": cluster_arn,
                    "capacityProviders": spec.get("capacityProviders", []),
                    "defaultCapacityProviderStrategy": spec.get("defaultCapacityProviderStrategy", []),
                },
            )
        )
    calls += tag_sync_calls(cluster_arn, spec.get("tags"), observed_tags)
    return calls


def tag_sync_calls(arn: str, desired: list[dict[str, str]] | None, observed: list[dict[str, str]] | None) -> list[Call]:
    """TagResource / UntagResource so the user's tags match spec.

    Left alone: our owner tags, and aws: tags, which ECS refuses to edit or delete (see
    ownership.reserved); asking would fail the whole reconcile for good.
    """
    want = {
        t["key"]: t.get("value", "") for t in desired or [] if t["key"] not in OWNER_TAG_KEYS and not reserved(t["key"])
    }
    have = {
        t["key"]: t.get("value", "")
        for t in observed or []
        if not t["key"].startswith(TAG_PREFIX) and not reserved(t["key"])
    }
    calls: list[Call] = []
    changed = [{"key": k, "value": v} for k, v in want.items() if have.get(k) != v]
    if changed:
        calls.append(("TagResource", {"resourceArn": arn, "tags": changed}))
    stale = [k for k in have if k not in want]
    if stale:
        calls.append(("UntagResource", {"resourceArn": arn, "tagKeys": stale}))
    return calls


def status_from(cluster: dict[str, Any]) -> dict[str, Any]:
    return {
        "clusterArn": cluster.get("clusterArn"),
        "clusterName": cluster.get("clusterName"),
        "status": cluster.get("status"),
        "runningTasksCount": cluster.get("runningTasksCount", 0),
        "pendingTasksCount": cluster.get("pendingTasksCount", 0),
        "activeServicesCount": cluster.get("activeServicesCount", 0),
        "capacityProviders": cluster.get("capacityProviders", []),
    }
