"""FargateAccount (cluster-scoped: the admin's namespace -> AWS account and region mapping) and the
admission policy that refuses, at `kubectl apply`, a spec.region its namespace's FargateAccount does
not allow. Not an ECS request shape, so written here rather than derived from botocore's model.
"""

from __future__ import annotations

from typing import Any

from fargate_operator.codegen.cel_rules import rule
from fargate_operator.codegen.shared_schema import AGE_COL, CONDITIONS, READY_COL, REGION, column
from fargate_operator.models.accounts import ACCOUNT_TAG, STS_TAG_LIMIT
from fargate_operator.models.kinds import ACCOUNT, ACCOUNT_PLURAL, GROUP, PLURALS, VERSION
from fargate_operator.schema.shapes import JSONSchema

_LABEL = {"type": "string", "maxLength": 63, "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}
_SELECTOR: JSONSchema = {
    "type": "object",
    "description": "A label selector over Namespace objects (whose labels tenants cannot change).",
    "properties": {
        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "matchExpressions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "operator"],
                "properties": {
                    "key": {"type": "string"},
                    "operator": {"type": "string", "enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                    "values": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
    "x-kubernetes-map-type": "atomic",
}
SPEC: JSONSchema = {
    "type": "object",
    "description": "Which namespaces act in which AWS account and region, and how the operator gets there.",
    "required": ["region", "namespaces"],
    "properties": {
        "roleArn": {
            "type": "string",
            "maxLength": 2048,
            "pattern": r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$",
            "description": "The IAM role (usually in another account) the operator assumes with sts:AssumeRole, "
            "starting from its own identity (IRSA, EKS Pod Identity, environment). Omitted: the operator's own "
            "identity, for namespaces that only need a region of their own.",
        },
        "externalId": {
            "type": "string",
            "minLength": 2,
            "maxLength": 1224,
            "pattern": r"^[\w+=,.@:/-]*$",
            "description": "sts:AssumeRole's ExternalId: the role's trust policy should require it "
            "(Condition StringEquals sts:ExternalId), so no one else's operator can assume the role.",
        },
        "sessionTags": {
            "type": "array",
            "maxItems": STS_TAG_LIMIT - 1,
            "description": f"Session tags added to the assumed role's session (the operator adds {ACCOUNT_TAG}: "
            "<this object's name>); the role's policies can read them as aws:PrincipalTag/<key>. Needs "
            "sts:TagSession in the trust policy.",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["key"],
            "items": {
                "type": "object",
                "required": ["key", "value"],
                "properties": {
                    "key": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": r"^[\w .:/=+@-]+$"},
                    "value": {"type": "string", "maxLength": 256, "pattern": r"^[\w .:/=+@-]*$"},
                },
            },
        },
        "transitiveTagKeys": {
            "type": "array",
            "maxItems": STS_TAG_LIMIT - 1,
            "x-kubernetes-list-type": "set",
            "items": {"type": "string", "maxLength": 128},
            "description": "Session tag keys that persist through role chaining (each must be a sessionTags key).",
        },
        "sessionDurationSeconds": {
            "type": "integer",
            "minimum": 900,
            "maximum": 43200,
            "default": 3600,
            "description": "DurationSeconds of each session; botocore refreshes the credentials before they "
            "expire. STS allows at most 1 hour when the operator's own identity is itself an assumed role.",
        },
        "sourceIdentity": {
            "type": "string",
            "minLength": 2,
            "maxLength": 64,
            "pattern": r"^[\w+=,.@-]*$",
            "description": "sts:AssumeRole's SourceIdentity (needs sts:SetSourceIdentity in the trust policy); "
            "CloudTrail keeps it across role chaining.",
        },
        "region": {**REGION, "description": "The region the namespaces act in unless an object asks for another."},
        "allowedRegions": {
            "type": "array",
            "maxItems": 40,
            "x-kubernetes-list-type": "set",
            "items": REGION,
            "description": "Other regions objects of these namespaces may choose with spec.region.",
        },
        "endpoint": {
            "type": "string",
            "maxLength": 2048,
            "pattern": "^https?://",
            "description": "The ECS endpoint URL for this account (a VPC endpoint, FIPS); default: boto3's.",
        },
        "eventQueues": {
            "type": "array",
            "maxItems": 40,
            "description": "SQS queues that ECS's events of this account reach (an EventBridge rule on its default "
            "bus, source aws.ecs, targets the queue), one per region. With one, the status of this account's "
            "objects in that region is refreshed on events (and fully every FARGATE_OPERATOR_RESYNC_INTERVAL) "
            "instead of polled; the queue is read with this account's credentials (sqs:ReceiveMessage, "
            "sqs:DeleteMessage, sqs:GetQueueAttributes).",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["region"],
            "items": {
                "type": "object",
                "required": ["region", "queueUrl"],
                "properties": {
                    "region": REGION,
                    "queueUrl": {"type": "string", "maxLength": 2048, "pattern": "^https?://"},
                },
            },
        },
        "namespaces": {
            "type": "object",
            "description": "The namespaces this account serves: by name, and/or by label selector. A namespace "
            "claimed by two FargateAccounts is served by neither: its objects wait, and both say so.",
            "properties": {
                "names": {"type": "array", "x-kubernetes-list-type": "set", "items": _LABEL},
                "selector": _SELECTOR,
            },
            "x-kubernetes-validations": [
                rule("has(self.names) || has(self.selector)", "spec.namespaces needs names or a selector")
            ],
        },
    },
    "x-kubernetes-validations": [
        rule("!has(self.externalId) || has(self.roleArn)", "spec.externalId needs spec.roleArn", "externalId"),
        rule("!has(self.sessionTags) || has(self.roleArn)", "spec.sessionTags needs spec.roleArn", "sessionTags"),
        rule(
            "!has(self.sourceIdentity) || has(self.roleArn)", "spec.sourceIdentity needs spec.roleArn", "sourceIdentity"
        ),
        rule(
            "!has(self.transitiveTagKeys) || self.transitiveTagKeys.all(k, has(self.sessionTags) && "
            "self.sessionTags.exists(t, t.key == k))",
            "spec.transitiveTagKeys: every key must be a key of spec.sessionTags",
            "transitiveTagKeys",
        ),
        rule(
            "!has(self.eventQueues) || self.eventQueues.all(q, q.region == self.region || "
            "(has(self.allowedRegions) && q.region in self.allowedRegions))",
            "spec.eventQueues: each region must be spec.region or one of spec.allowedRegions",
            "eventQueues",
        ),
        rule(
            f"!has(self.sessionTags) || !self.sessionTags.exists(t, t.key == '{ACCOUNT_TAG}')",
            f"spec.sessionTags: the key {ACCOUNT_TAG} is the operator's own (it names this FargateAccount)",
            "sessionTags",
        ),
    ],
}

STATUS: JSONSchema = {
    "type": "object",
    "description": "Written only by the operator.",
    "properties": {
        "observedGeneration": {"type": "integer", "format": "int64"},
        "accountId": {"type": "string", "description": "The account of spec.roleArn."},
        "namespaces": {
            "type": "array",
            "items": {"type": "string"},
            "description": "The namespaces this FargateAccount serves now (named, or selected by their labels).",
        },
        "conflicts": {
            "type": "array",
            "description": "Namespaces another FargateAccount claims too: served by neither.",
            "items": {
                "type": "object",
                "properties": {"namespace": {"type": "string"}, "with": {"type": "array", "items": {"type": "string"}}},
            },
        },
        "eventQueues": {
            "type": "array",
            "description": "Each queue of spec.eventQueues: Receiving (its events keep status fresh) or Unreachable "
            "(deleted, access denied: polled meanwhile, and a Warning Event EventQueueUnreachable says so).",
            "items": {
                "type": "object",
                "properties": {
                    "region": {"type": "string"},
                    "queueUrl": {"type": "string"},
                    "state": {"type": "string", "enum": ["Receiving", "Unreachable"]},
                    "lastReceivedAt": {
                        "type": "string",
                        "format": "date-time",
                        "nullable": True,
                        "description": "When events last came (to the minute).",
                    },
                },
            },
        },
        "conditions": CONDITIONS,
    },
}


def account_crd() -> dict[str, Any]:
    col = [
        column("Account", ".status.accountId"),
        column("Region", ".spec.region"),
        READY_COL,
        column("Role", ".spec.roleArn", priority=1),
        column("Namespaces", ".status.namespaces", priority=1),
        AGE_COL,
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{ACCOUNT_PLURAL}.{GROUP}",
            "labels": {"app.kubernetes.io/name": "fargate-operator", "app.kubernetes.io/part-of": "fargate-operator"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Cluster",
            # Not in the "fargate" category: tenants' `kubectl get fargate` would be refused on it.
            "names": {
                "kind": ACCOUNT,
                "listKind": f"{ACCOUNT}List",
                "plural": ACCOUNT_PLURAL,
                "singular": ACCOUNT.lower(),
                "shortNames": ["facct"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": col,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": "An AWS account and region that namespaces act in (cluster-scoped; "
                            "for administrators): the role the operator assumes for them, and which namespaces.",
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": SPEC,
                                "status": STATUS,
                            },
                            "required": ["spec"],
                        }
                    },
                }
            ],
        },
    }


POLICY_NAME = f"regions.{ACCOUNT_PLURAL}.{GROUP}"


def region_policy() -> list[dict[str, Any]]:
    """A ValidatingAdmissionPolicy (and its binding) over the four kinds, one evaluation per FargateAccount.

    A FargateAccount serves the namespace when it names it, or when the operator has written it into
    status.namespaces (label selectors: admission cannot read Namespace labels of another object).
    Unserved namespaces pass here; the operator refuses a region other than its own for them.
    """
    serves = (
        "request.namespace in (has(params.spec.namespaces.names) ? params.spec.namespaces.names : []) || "
        "(has(params.status) && has(params.status.namespaces) && request.namespace in params.status.namespaces)"
    )
    allowed = "[params.spec.region] + (has(params.spec.allowedRegions) ? params.spec.allowedRegions : [])"
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": POLICY_NAME, "labels": {"app.kubernetes.io/part-of": "fargate-operator"}},
        "spec": {
            # Ignore, not Fail: kube-apiserver (1.34) resolves a CRD paramKind through discovery, and after it
            # restarts it may keep failing to find it ("failed to find resource referenced by paramKind",
            # kubernetes/kubernetes#122658, #124237) -- with Fail, every create of the four kinds would then be
            # refused. The operator checks the region again before it acts (reconcile/accounts.py).
            "failurePolicy": "Ignore",
            "paramKind": {"apiVersion": f"{GROUP}/{VERSION}", "kind": ACCOUNT},
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [GROUP],
                        "apiVersions": [VERSION],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": list(PLURALS.values()),
                    }
                ]
            },
            "variables": [{"name": "serves", "expression": serves}, {"name": "allowed", "expression": allowed}],
            "validations": [
                {
                    "expression": "!variables.serves || !has(object.spec.region) || "
                    "object.spec.region in variables.allowed",
                    "messageExpression": "'spec.region ' + object.spec.region + ' is not allowed in namespace ' + "
                    "request.namespace + ': FargateAccount ' + params.metadata.name + ' allows ' + "
                    "variables.allowed.join(', ')",
                    "reason": "Invalid",
                }
            ],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": POLICY_NAME, "labels": {"app.kubernetes.io/part-of": "fargate-operator"}},
        "spec": {
            "policyName": POLICY_NAME,
            "validationActions": ["Deny"],
            "paramRef": {"selector": {}, "parameterNotFoundAction": "Allow"},
        },
    }
    return [policy, binding]
