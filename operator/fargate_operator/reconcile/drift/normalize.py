"""The rules that make equal things equal, so that nothing drifts that did not change.

Each rule names the ECS documentation it follows: "model: X.y" is the doc string of member `y`
of shape `X` in botocore's ECS model (botocore/data/ecs/2014-11-13/service-2.json). The closing
table of docs/drift.md lists them all, with the members deliberately not compared.

Paths are dotted member names from the top of a request, `[]` standing for "each item of a
list": `loadBalancers[].containerPort`. Both sides, the spec's and ECS's, go through the same
rules, and a structure is compared only on the members the spec gives (after defaults): members
that only ECS reports (newer API fields, computed ones) never count as drift.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fargate_operator.models.ownership import TAG_PREFIX, reserved
from fargate_operator.reconcile.task_definition import family_revision

Equal = Callable[[Any, Any], bool]


@dataclass(frozen=True)
class Rules:
    """One kind's normalisation: ECS's defaults, lists whose order ECS does not keep, special equalities."""

    # path -> the value ECS uses when the member is left out
    defaults: dict[str, Any] = field(default_factory=dict)
    # path of a list -> the members that identify an item (empty: a list of scalars); sorted by them
    unordered: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # unordered lists compared as "every item the spec gives is there" (ECS adds its own items)
    subset_lists: frozenset[str] = frozenset()
    # path -> equality of the normalised values, where == is not what ECS means
    equal: dict[str, Equal] = field(default_factory=dict)


def is_arn(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("arn:")


def name_or_arn(a: Any, b: Any) -> bool:
    """A name and an ARN cannot be told apart without asking the service that made the ARN (a Cloud
    Map namespace ARN ends in its id, not its name): equal unless both are names or both are ARNs."""
    return a == b or is_arn(a) != is_arn(b)


def same_revision(a: Any, b: Any) -> bool:
    """model: UpdateServiceRequest.taskDefinition: "The family and revision (family:revision) or full ARN"."""
    return isinstance(a, str) and isinstance(b, str) and family_revision(a) == family_revision(b)


LATEST = "LATEST"


def platform_version(desired: Any, observed: Any) -> bool:
    """model: Service.platformVersion: "If one isn't specified, the LATEST platform version is used".

    ECS answers a service's platformVersion as requested ("LATEST"); its deployments carry the
    version LATEST resolved to ("1.4.0"). A service-level answer is compared as it is; only when
    ECS gave none (observed taken from the deployment, see compare.service_observed) does a
    resolved version stand for LATEST.
    """
    if desired == observed:
        return True
    if isinstance(observed, dict):  # {"resolved": "1.4.0"}: the deployment's version, no service-level one
        return desired in (LATEST, observed.get("resolved"))
    return False


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def normalize(value: Any, path: str, rules: Rules) -> Any:
    """`value` (at `path`) with ECS's defaults filled in and unordered lists sorted, recursively."""
    if isinstance(value, dict):
        out = {k: normalize(v, _join(path, k), rules) for k, v in value.items() if v is not None}
        prefix = f"{path}." if path else ""
        for default_path, default in rules.defaults.items():
            if default_path.startswith(prefix) and "." not in default_path[len(prefix) :]:
                out.setdefault(default_path[len(prefix) :], normalize(default, default_path, rules))
        return out
    if isinstance(value, list):
        items = [normalize(v, f"{path}[]", rules) for v in value]
        if path in rules.unordered:
            keys = rules.unordered[path]
            return sorted(items, key=lambda item: _sort_key(item, keys))
        return items
    return value


def _sort_key(item: Any, keys: tuple[str, ...]) -> str:
    if keys and isinstance(item, dict):
        return json.dumps([item.get(k) for k in keys], sort_keys=True, default=str)
    return json.dumps(item, sort_keys=True, default=str)


def matches(desired: Any, observed: Any, path: str, rules: Rules) -> bool:
    """Whether ECS's normalised value satisfies the spec's: structures on the spec's members only."""
    if path in rules.equal:
        return rules.equal[path](desired, observed)
    if isinstance(desired, dict):
        if not isinstance(observed, dict):
            return not desired and observed is None
        return all(matches(v, observed.get(k), _join(path, k), rules) for k, v in desired.items())
    if isinstance(desired, list):
        if not isinstance(observed, list):
            return not desired and observed is None
        if path in rules.subset_lists:
            keys = rules.unordered.get(path, ())
            have = {_sort_key(o, keys): o for o in observed}
            return all(
                _sort_key(d, keys) in have and matches(d, have[_sort_key(d, keys)], f"{path}[]", rules) for d in desired
            )
        return len(desired) == len(observed) and all(
            matches(d, o, f"{path}[]", rules) for d, o in zip(desired, observed, strict=True)
        )
    return bool(desired == observed)


def user_tags(tags: list[dict[str, str]] | None) -> dict[str, str]:
    """The tags that are the user's to keep in sync: not aws: (ECS forbids changing them; AWS and
    CloudFormation add them — model: Tag, "You cannot edit or delete tag keys or values with this
    prefix"), not the operator's own ecs.fargate.dev/ keys. Order never matters (a tag map)."""
    return {
        t["key"]: t.get("value", "")
        for t in tags or []
        if not reserved(t["key"]) and not t["key"].startswith(TAG_PREFIX)
    }


# Secrets never reach status, conditions, Events or logs: these members are shown (and so
# compared, for the message) as a hash of their value.
SECRET_PATHS = (
    "environment[].value",
    "secrets[].valueFrom",
    "repositoryCredentials.credentialsParameter",
    "environmentFiles[].value",
)


def digest(value: Any) -> str:
    return "sha256:" + hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:12]


def redact(value: Any, path: str = "") -> Any:
    """`value` with every secret member (a path ending in one of SECRET_PATHS) replaced by its hash."""
    if path.endswith(SECRET_PATHS):
        return digest(value)
    if isinstance(value, dict):
        return {k: redact(v, _join(path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, f"{path}[]") for v in value]
    return value


# --- FargateService -----------------------------------------------------------------------------

SERVICE_RULES = Rules(
    defaults={
        # model: AwsVpcConfiguration.assignPublicIp: "When you use create-service or update-service, the
        # default is DISABLED."
        "networkConfiguration.awsvpcConfiguration.assignPublicIp": "DISABLED",
        # model: CapacityProviderStrategyItem.base / .weight: "The default value is 0 if not specified"
        "capacityProviderStrategy[].base": 0,
        "capacityProviderStrategy[].weight": 0,
        # model: DeploymentConfiguration.maximumPercent: "The default maximumPercent value for a service
        # using the REPLICA service scheduler is 200%"; .minimumHealthyPercent: "the default value ... is 100%"
        # (Fargate services are REPLICA: model: CreateServiceRequest.schedulingStrategy, "Fargate tasks
        # don't support the DAEMON scheduling strategy").
        "deploymentConfiguration.maximumPercent": 200,
        "deploymentConfiguration.minimumHealthyPercent": 100,
        # model: DeploymentCircuitBreaker: off unless enabled; ECS answers {"enable": false, "rollback": false}.
        "deploymentConfiguration.deploymentCircuitBreaker": {},
        "deploymentConfiguration.deploymentCircuitBreaker.enable": False,
        "deploymentConfiguration.deploymentCircuitBreaker.rollback": False,
        # model: DeploymentAlarms (off unless enabled), DeploymentConfiguration.strategy (ROLLING by default)
        "deploymentConfiguration.alarms": {},
        "deploymentConfiguration.alarms.enable": False,
        "deploymentConfiguration.alarms.rollback": False,
        "deploymentConfiguration.alarms.alarmNames": [],
        # model: CreateServiceRequest.propagateTags: "The default is NONE."; enableECSManagedTags and
        # enableExecuteCommand are booleans ECS answers false when unset.
        "propagateTags": "NONE",
        "enableECSManagedTags": False,
        "enableExecuteCommand": False,
        # model: DeploymentController.type: "ECS" unless given (the rolling update)
        "deploymentController.type": "ECS",
    },
    unordered={
        # model: AwsVpcConfiguration.subnets / .securityGroups: sets of ids ("All specified subnets must be
        # from the same VPC"); ECS does not keep the order given.
        "networkConfiguration.awsvpcConfiguration.subnets": (),
        "networkConfiguration.awsvpcConfiguration.securityGroups": (),
        # model: CreateServiceRequest.loadBalancers, serviceRegistries: one item per target group / registry
        "loadBalancers": ("targetGroupArn", "loadBalancerName", "containerName", "containerPort"),
        "serviceRegistries": ("registryArn", "containerName", "containerPort", "port"),
        # model: CapacityProviderStrategyItem: one item per capacity provider (base, then weights)
        "capacityProviderStrategy": ("capacityProvider",),
        # model: PlacementConstraint: all must hold, so their order means nothing (placementStrategy's
        # order does: "evaluated in order" — not listed here)
        "placementConstraints": ("type", "expression"),
        "deploymentConfiguration.alarms.alarmNames": (),
        "serviceConnectConfiguration.services": ("portName",),
        "serviceConnectConfiguration.services[].clientAliases": ("port", "dnsName"),
        "volumeConfigurations": ("name",),
    },
    equal={
        "taskDefinition": same_revision,
        "platformVersion": platform_version,
        # model: ServiceConnectConfiguration.namespace: "The namespace name or full Amazon Resource Name (ARN)"
        "serviceConnectConfiguration.namespace": name_or_arn,
    },
)

# --- FargateCluster -----------------------------------------------------------------------------

CLUSTER_RULES = Rules(
    defaults={
        "defaultCapacityProviderStrategy[].base": 0,
        "defaultCapacityProviderStrategy[].weight": 0,
    },
    unordered={
        # model: Cluster.settings: one setting per name; ECS reports containerInsights even when unset,
        # so only the names the spec gives are compared (subset_lists).
        "settings": ("name",),
        # model: PutClusterCapacityProvidersRequest.capacityProviders: a set of provider names
        "capacityProviders": (),
        "defaultCapacityProviderStrategy": ("capacityProvider",),
    },
    subset_lists=frozenset({"settings"}),
    equal={
        # model: ClusterServiceConnectDefaultsRequest.namespace: "The namespace name or full ... ARN"
        "serviceConnectDefaults.namespace": name_or_arn,
    },
)
