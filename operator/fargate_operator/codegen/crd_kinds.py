"""The four kinds: which ECS request each spec mirrors, what we add, and their CRDs.

A spec is the ECS request shape itself (every member, nested shapes included,
named as ECS names them), minus the few members the operator owns, plus
Kubernetes-native references and lifecycle policies.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from fargate_operator.codegen import cel_rules
from fargate_operator.codegen.shared_schema import AGE_COL, CONDITIONS, OBJECT_REGION, READY_COL, TIME, column
from fargate_operator.models.kinds import GROUP, VERSION
from fargate_operator.models.ownership import ECS_TAG_LIMIT, operator_tag_keys, user_tag_limit
from fargate_operator.schema.shapes import JSONSchema, request_members, required_members, shape_schema

CATEGORY = "fargate"


@dataclass(frozen=True)
class Kind:
    kind: str
    plural: str
    short_names: list[str]
    operations: list[str]  # ECS requests whose members make up the spec, first one wins
    # member -> why the operator owns it instead of the user
    operator_owned: dict[str, str]
    extra_properties: dict[str, JSONSchema]
    rules: list[cel_rules.Rule]
    status: JSONSchema
    printer_columns: list[dict[str, Any]]
    description: str
    defaults: dict[str, Any] = field(default_factory=dict)
    not_required: list[str] = field(default_factory=list)  # required in ECS, but a reference may stand in
    extra_required: list[str] = field(default_factory=list)


def _ref(what: str) -> JSONSchema:
    return {
        "type": "object",
        "description": f"A {what} in the same namespace, by its Kubernetes name; "
        "the operator resolves it into status, never into spec.",
        "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 253, "description": "metadata.name"}},
        "required": ["name"],
        "x-kubernetes-map-type": "atomic",
    }


DELETION_POLICY: JSONSchema = {
    "type": "string",
    "enum": ["Delete", "Retain"],
    "default": "Delete",
    "description": "What happens to the ECS resource when this object is deleted: Delete removes it, "
    "Retain leaves it in ECS (untagged as ours).",
}
ADOPTION_POLICY: JSONSchema = {
    "type": "string",
    "enum": ["CreateOnly", "Adopt", "AdoptOrCreate"],
    "default": "CreateOnly",
    "description": "Whether an existing ECS resource of the same name that no other object owns may be taken "
    "over: CreateOnly never adopts (a clear condition names the conflict), Adopt requires it to exist, "
    "AdoptOrCreate adopts it or creates it.",
}
MANAGEMENT_POLICY: JSONSchema = {
    "type": "string",
    "enum": ["Manage", "Observe"],
    "default": "Manage",
    "description": "Manage creates, updates, corrects and deletes the ECS resource. Observe only mirrors an "
    "existing one into status and never writes to ECS (not on create, spec change or deletion): the way to "
    "bring an account's resources into view before managing them (then Manage with adoptionPolicy Adopt).",
}
DRIFT_POLICY: JSONSchema = {
    "type": "string",
    "enum": ["Correct", "Report"],
    "default": "Correct",
    "description": "What to do when ECS no longer matches the spec because of a change made outside the "
    "operator: Correct sets it back (at most 5 corrections in 10 minutes, backing off between them, then "
    "report only), Report only says so (condition Drifted, an Event, a metric); see docs/drift.md.",
}

_FREE_OBJECT: JSONSchema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
_FREE_LIST: JSONSchema = {"type": "array", "items": _FREE_OBJECT}
_STR: JSONSchema = {"type": "string"}
_NULLABLE_TIME: JSONSchema = {"type": "string", "format": "date-time", "nullable": True}
DRIFT_STATUS: JSONSchema = {
    "type": "object",
    "description": "Drift: what in ECS differs from the spec (values rendered, secrets hashed), since when, and "
    "the corrections made in the current window (docs/drift.md).",
    "properties": {
        "policy": _STR,
        "reason": _STR,
        "since": _NULLABLE_TIME,
        "fields": {
            "type": "array",
            "items": {"type": "object", "properties": {"field": _STR, "desired": _STR, "actual": _STR}},
        },
        "corrections": {"type": "integer"},
        "windowStart": _NULLABLE_TIME,
        "lastCorrection": _NULLABLE_TIME,
        "generation": {"type": "integer", "format": "int64", "nullable": True},
        "lastCorrected": {
            "type": "object",
            "properties": {"at": _STR, "fields": {"type": "array", "items": _STR}},
        },
    },
}
DRIFTED_COL_PATH = '.status.conditions[?(@.type=="Drifted")].status'


def _status(properties: dict[str, JSONSchema], drift: bool = True) -> JSONSchema:
    schema: JSONSchema = {
        "type": "object",
        "description": "What ECS reports, written only by the operator.",
        "properties": {
            "observedGeneration": {"type": "integer", "format": "int64"},
            "conditions": CONDITIONS,
            "specHash": {"type": "string", "description": "Hash of the ECS request last applied from spec."},
            "drift": DRIFT_STATUS,
            "kopf": {
                **_FREE_OBJECT,
                "description": "The operator framework's bookkeeping: last handled spec and handler progress.",
            },
            "accountId": {"type": "string", "description": "The AWS account of the ECS resource (from its ARN)."},
            "region": {"type": "string", "description": "The AWS region of the ECS resource (from its ARN)."},
            "fargateAccount": {
                "type": "string",
                "description": "The FargateAccount the ECS resource was made through (absent: the operator's own "
                "identity). The object keeps acting there: a namespace moved to another account refuses it.",
            },
            **properties,
        },
    }
    if not drift:  # a FargateTask runs once: nothing to drift from
        del schema["properties"]["drift"]
    return schema


_SERVICE_DEPLOYMENT_MEMBERS: dict[str, JSONSchema] = {
    "serviceDeploymentArn": {"type": "string"},
    "strategy": {"type": "string", "description": "deploymentConfiguration.strategy (ROLLING when unset)."},
    "status": {"type": "string", "description": "ECS's ServiceDeployment.status (IN_PROGRESS, SUCCESSFUL, ...)."},
    "statusReason": {"type": "string"},
    "lifecycleStage": {"type": "string", "description": "Blue/green, linear, canary: the stage ECS is at."},
    "startedAt": {"type": "string"},
    "updatedAt": {"type": "string"},
    "finishedAt": {"type": "string"},
    "stoppedAt": {"type": "string"},
    "targetServiceRevisionArn": {"type": "string"},
    "sourceServiceRevisionArns": {"type": "array", "items": {"type": "string"}},
    "trafficWeights": {
        "type": "object",
        "description": "The new revision's requested share of production and test traffic, in percent.",
        "properties": {"production": {"type": "number"}, "test": {"type": "number"}},
    },
    "hook": {
        "type": "object",
        "description": "The lifecycle hook at work, waiting (a PAUSE hook: AWAITING_ACTION) or that failed.",
        "properties": {
            "hookId": {"type": "string"},
            "hookTargetArn": {"type": "string"},
            "targetType": {"type": "string"},
            "lifecycleStage": {"type": "string"},
            "status": {"type": "string"},
        },
    },
    "rollback": {
        "type": "object",
        "properties": {
            "reason": {"type": "string"},
            "startedAt": {"type": "string"},
            "serviceRevisionArn": {"type": "string"},
        },
    },
}
DEPLOYMENT_STATUS: JSONSchema = {
    "type": "object",
    "description": "ECS's service deployments (DescribeServiceDeployments), see docs/deployments.md.",
    "properties": {
        "current": {
            "type": "object",
            "description": "The service deployment in flight (absent when none).",
            "properties": _SERVICE_DEPLOYMENT_MEMBERS,
        },
        "last": {
            "type": "object",
            "description": "The last service deployment that finished.",
            "properties": _SERVICE_DEPLOYMENT_MEMBERS,
        },
    },
}
DRIFTED_COL = column("Drifted", DRIFTED_COL_PATH, description="True while ECS differs from the spec (see status.drift)")
POLICY_COL = column("Management", ".spec.managementPolicy", priority=1)

S = {"type": "string"}
I = {"type": "integer"}  # noqa: E741

KINDS: list[Kind] = [
    Kind(
        kind="FargateCluster",
        plural="fargateclusters",
        short_names=["fcl", "fcluster"],
        operations=["CreateCluster"],
        operator_owned={},
        extra_properties={
            "deletionPolicy": DELETION_POLICY,
            "adoptionPolicy": ADOPTION_POLICY,
            "managementPolicy": MANAGEMENT_POLICY,
            "driftPolicy": DRIFT_POLICY,
        },
        rules=[cel_rules.immutable("clusterName", "it is the ECS identity of this cluster")],
        status=_status(
            {
                "clusterArn": S,
                "clusterName": S,
                "status": S,
                "runningTasksCount": I,
                "pendingTasksCount": I,
                "activeServicesCount": I,
                "capacityProviders": {"type": "array", "items": S},
            }
        ),
        printer_columns=[
            column("ECS-Name", ".status.clusterName"),
            column("Status", ".status.status"),
            column("Running", ".status.runningTasksCount", "integer"),
            column("Services", ".status.activeServicesCount", "integer"),
            READY_COL,
            DRIFTED_COL,
            POLICY_COL,
            column("ARN", ".status.clusterArn", priority=1),
            AGE_COL,
        ],
        description="An ECS cluster (CreateCluster). spec.clusterName defaults to metadata.name.",
    ),
    Kind(
        kind="FargateTaskDefinition",
        plural="fargatetaskdefinitions",
        short_names=["ftd", "ftaskdef"],
        operations=["RegisterTaskDefinition"],
        operator_owned={},
        extra_properties={
            "revisionHistoryLimit": {
                "type": "integer",
                "minimum": 0,
                "maximum": 1000,
                "default": 10,
                "description": "How many superseded revisions stay ACTIVE; older ones are deregistered, "
                "never one a FargateService still uses.",
            },
            "deleteDeregisteredRevisions": {
                "type": "boolean",
                "default": False,
                "description": "Also delete (DeleteTaskDefinitions) the revisions that revisionHistoryLimit "
                "deregisters.",
            },
            "deletionPolicy": DELETION_POLICY,
            "adoptionPolicy": ADOPTION_POLICY,
            "driftPolicy": DRIFT_POLICY,
        },
        rules=cel_rules.task_definition_rules(),
        defaults={"networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"]},
        status=_status(
            {
                "family": S,
                "revision": I,
                "taskDefinitionArn": S,
                "retainedRevisions": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"revision": I, "taskDefinitionArn": S, "status": S},
                    },
                },
            }
        ),
        printer_columns=[
            column("Family", ".spec.family"),
            column("Revision", ".status.revision", "integer"),
            READY_COL,
            DRIFTED_COL,
            column("ARN", ".status.taskDefinitionArn", priority=1),
            AGE_COL,
        ],
        description="An ECS task definition family (RegisterTaskDefinition); each change of spec registers "
        "a new revision.",
    ),
    Kind(
        kind="FargateService",
        plural="fargateservices",
        short_names=["fsvc", "fservice"],
        operations=["CreateService", "UpdateService"],
        operator_owned={
            "clientToken": "the operator derives CreateService's idempotency token from the object's UID",
            "service": "UpdateService's name for spec.serviceName",
            "forceNewDeployment": "an action, not a state: the operator starts a new deployment when the "
            "resolved task definition changes",
        },
        extra_properties={
            "clusterRef": _ref("FargateCluster"),
            "taskDefinitionRef": _ref("FargateTaskDefinition, whose current revision the service runs"),
            "deletionPolicy": DELETION_POLICY,
            "adoptionPolicy": ADOPTION_POLICY,
            "managementPolicy": MANAGEMENT_POLICY,
            "driftPolicy": DRIFT_POLICY,
        },
        rules=[
            cel_rules.immutable("serviceName", "it is the ECS identity of this service"),
            cel_rules.immutable("cluster", "a service cannot move between clusters"),
            cel_rules.immutable("clusterRef", "a service cannot move between clusters"),
            cel_rules.at_most_one("cluster", "clusterRef"),
            cel_rules.at_most_one("taskDefinition", "taskDefinitionRef"),
            *cel_rules.fargate_launch(observable=True),
        ],
        status=_status(
            {
                "serviceArn": S,
                "clusterArn": S,
                "status": S,
                "taskDefinition": {"type": "string", "description": "The task definition ARN the service runs."},
                "desiredTaskDefinition": {
                    "type": "string",
                    "description": "The revision this object last deployed (CreateService / UpdateService, as "
                    "ECS resolved it). While ECS runs another one, e.g. after a deployment circuit breaker "
                    "rolled back, the service is Degraded (reason RolledBack) until a spec change deploys again.",
                },
                "desiredCount": I,
                "runningCount": I,
                "pendingCount": I,
                "rolloutState": S,
                "deployments": _FREE_LIST,
                "events": _FREE_LIST,
                "deployment": DEPLOYMENT_STATUS,
            }
        ),
        printer_columns=[
            column("Status", ".status.status"),
            column("Running", ".status.runningCount", "integer"),
            column("Desired", ".status.desiredCount", "integer"),
            column("Rollout", ".status.rolloutState"),
            column("Strategy", ".spec.deploymentConfiguration.strategy"),
            column("Stage", ".status.deployment.current.lifecycleStage"),
            READY_COL,
            DRIFTED_COL,
            POLICY_COL,
            column("ARN", ".status.serviceArn", priority=1),
            AGE_COL,
        ],
        description="An ECS service (CreateService / UpdateService).",
    ),
    Kind(
        kind="FargateTask",
        plural="fargatetasks",
        short_names=["ftask"],
        operations=["RunTask"],
        operator_owned={
            "clientToken": "the operator derives RunTask's idempotency token from the object's UID",
            "startedBy": "the operator sets it from the object's UID to find its tasks again after a restart",
        },
        extra_properties={
            "clusterRef": _ref("FargateCluster"),
            "taskDefinitionRef": _ref("FargateTaskDefinition, whose current revision is run"),
            "ttlSecondsAfterFinished": {
                "type": "integer",
                "minimum": 0,
                "description": "Delete this object that many seconds after its tasks stopped.",
            },
        },
        not_required=["taskDefinition"],
        rules=[
            cel_rules.rule("self == oldSelf", "spec is immutable: a FargateTask runs once; create a new one"),
            cel_rules.rule(
                "has(self.taskDefinition) != has(self.taskDefinitionRef)",
                "exactly one of spec.taskDefinition and spec.taskDefinitionRef is required",
                "taskDefinition",
            ),
            cel_rules.at_most_one("cluster", "clusterRef"),
            *cel_rules.fargate_launch(),
        ],
        status=_status(
            {
                "phase": {
                    "type": "string",
                    "enum": ["Pending", "Running", "Succeeded", "Failed", "Stopped"],
                    "description": "Pending until a task runs; Running until every task is STOPPED (stopping "
                    "included); then Succeeded (ended on its own, essential containers exited 0), Failed "
                    "(non-zero essential exit, failed to start, or stopped by AWS, e.g. SpotInterruption) or "
                    "Stopped (StopTask, or the object was deleted). The README has the whole table.",
                },
                "essentialContainers": {
                    "type": "array",
                    "items": S,
                    "description": "The essential containers of the revision run, read from its "
                    "FargateTaskDefinition at RunTask: only their exit codes decide Succeeded or Failed. Absent "
                    "when no FargateTaskDefinition of this namespace registered the revision; then a container "
                    "stopped by ECS with SIGTERM/SIGKILL (143/137) after another exited does not decide.",
                },
                "clusterArn": S,
                "taskDefinitionArn": S,
                "startedBy": S,
                "tasks": {
                    "type": "array",
                    "description": "The ECS tasks started for this object (RunTask count).",
                    "items": {
                        "type": "object",
                        "properties": {
                            "taskArn": S,
                            "lastStatus": S,
                            "desiredStatus": S,
                            "stopCode": S,
                            "stoppedReason": S,
                            "createdAt": TIME,
                            "startedAt": TIME,
                            "stoppedAt": TIME,
                            "containers": _FREE_LIST,
                        },
                    },
                },
                "failures": {
                    **shape_schema("Failures"),
                    "description": "RunTask's failures (ECS Failure: arn, reason, detail) from the last RunTask "
                    "answer: tasks ECS did not start. While they are retryable (no capacity now) the object "
                    "stays Pending and RunTask is retried with the same clientToken.",
                },
                "lastStatus": S,
                "desiredStatus": S,
                "stoppedReason": S,
                "startedAt": TIME,
                "stoppedAt": TIME,
            },
            drift=False,
        ),
        printer_columns=[
            column("Phase", ".status.phase"),
            column("Last-Status", ".status.lastStatus"),
            READY_COL,
            column("Task-ARN", ".status.tasks[0].taskArn", priority=1),
            AGE_COL,
        ],
        description="A one-off ECS task run (RunTask). Immutable: to run again, create a new object.",
    ),
]


def spec_schema(kind: Kind) -> JSONSchema:
    properties: dict[str, JSONSchema] = {}
    required: list[str] = []
    for op in kind.operations:
        for name, schema in request_members(op).items():
            if name not in properties and name not in kind.operator_owned:
                properties[name] = schema
        required += [r for r in required_members(op) if r in properties and r not in required]
    required = [r for r in required if r not in kind.not_required] + kind.extra_required
    for name, default in kind.defaults.items():
        properties[name] = {**properties[name], "default": copy.deepcopy(default)}
    properties.update(copy.deepcopy(kind.extra_properties))
    properties["region"] = copy.deepcopy(OBJECT_REGION)  # every kind: where it lives (FargateAccount)
    _mark_list_keys(properties)
    _attach_tag_rules(properties, kind.kind)
    spec: JSONSchema = {"type": "object", "description": kind.description, "properties": properties}
    if required:
        spec["required"] = required
    spec["x-kubernetes-validations"] = [
        *kind.rules,
        cel_rules.immutable("region", "ECS resources do not move between regions; create a new object"),
    ]
    return spec


def _mark_list_keys(properties: dict[str, JSONSchema]) -> None:
    """Containers merge by name (server-side apply, kubectl diff, Argo CD)."""
    containers = properties.get("containerDefinitions")
    if containers:
        containers["x-kubernetes-list-type"] = "map"
        containers["x-kubernetes-list-map-keys"] = ["name"]


def _attach_tag_rules(properties: dict[str, JSONSchema], kind: str) -> None:
    """No aws: keys; and at most ECS's 50 minus the tags the operator adds to what it creates.

    The limit is maxItems, so the API server's answer names it ("spec.tags: Too many: 47: must
    have at most 46 items"; CEL rules are not even evaluated once maxItems fails), and the
    description says why (kubectl explain, docs/crd-reference.md).
    """
    tags = properties.get("tags")
    if tags and tags.get("type") == "array":
        limit, ours = user_tag_limit(kind), operator_tag_keys(kind)
        tags["maxItems"] = limit
        tags["description"] = (
            f"{tags.get('description', '')} At most {limit}: ECS allows {ECS_TAG_LIMIT} tags per resource and "
            f"the operator adds {len(ours)} of its own ({', '.join(ours)}). Keys beginning with aws: are AWS's."
        ).strip()
        tags["x-kubernetes-validations"] = cel_rules.tag_rules()


# The kinds whose status the status loop keeps fresh, by events or by polling (handlers/refresh.py).
FRESHNESS_KINDS = frozenset({"FargateCluster", "FargateService", "FargateTask"})
FRESHNESS: JSONSchema = {
    "type": "string",
    "enum": ["Events", "Polling"],
    "description": "What keeps this status fresh: Events (ECS's events from the SQS queue of its account and "
    "region, plus a full resync every FARGATE_OPERATOR_RESYNC_INTERVAL) or Polling (a describe every "
    "FARGATE_OPERATOR_STATUS_INTERVAL: no queue, or its queue does not answer).",
}
FRESHNESS_COL = column("Freshness", ".status.freshness", priority=1)


def _with_placement(columns: list[dict[str, Any]], freshness: bool = False) -> list[dict[str, Any]]:
    """Account and Region (kubectl get -o wide), and Freshness where the kind has it, before Age."""
    placement = [column("Account", ".status.accountId", priority=1), column("Region", ".status.region", priority=1)]
    placement += [FRESHNESS_COL] if freshness else []
    return [*columns[:-1], *placement, columns[-1]] if columns and columns[-1] is AGE_COL else [*columns, *placement]


def _status_of(kind: Kind) -> JSONSchema:
    if kind.kind not in FRESHNESS_KINDS:
        return kind.status
    return {**kind.status, "properties": {**kind.status["properties"], "freshness": FRESHNESS}}


def crd(kind: Kind) -> dict[str, Any]:
    schema = {
        "type": "object",
        "description": kind.description,
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec_schema(kind),
            "status": _status_of(kind),
        },
        "required": ["spec"],
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{kind.plural}.{GROUP}",
            "labels": {"app.kubernetes.io/name": "fargate-operator", "app.kubernetes.io/part-of": "fargate-operator"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind.kind,
                "listKind": f"{kind.kind}List",
                "plural": kind.plural,
                "singular": kind.kind.lower(),
                "shortNames": kind.short_names,
                "categories": [CATEGORY],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": _with_placement(kind.printer_columns, kind.kind in FRESHNESS_KINDS),
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }
