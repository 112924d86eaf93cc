"""Names of the API group and the four kinds, shared by handlers, loops and generators."""

from __future__ import annotations

GROUP = "ecs.fargate.dev"
VERSION = "v1alpha1"

CLUSTER = "FargateCluster"
TASK_DEFINITION = "FargateTaskDefinition"
SERVICE = "FargateService"
TASK = "FargateTask"

# Cluster-scoped, the admin's: which AWS account and region namespaces act in (reconcile/accounts.py).
ACCOUNT = "FargateAccount"
ACCOUNT_PLURAL = "fargateaccounts"
# Core Namespaces, watched for the labels a FargateAccount's selector reads.
NAMESPACE = "Namespace"

PLURALS = {
    CLUSTER: "fargateclusters",
    TASK_DEFINITION: "fargatetaskdefinitions",
    SERVICE: "fargateservices",
    TASK: "fargatetasks",
}

FINALIZER = f"{GROUP}/finalizer"
# FargateTask: the RunTask request (cluster, task definition, time), written with the
# finalizer in one patch before RunTask; see controllers/task.py.
RUN_MARK = f"{GROUP}/run-requested"

# Annotations the ECS API adapter writes to ask the operator for an action.
STOP_ANNOTATION = f"{GROUP}/stop-requested"  # FargateTask: StopTask, see reconcile/stop_request.py
FORCE_DEPLOYMENT_ANNOTATION = f"{GROUP}/force-new-deployment"  # FargateService: value = a nonce
# FargateService: a service deployment to continue past its PAUSE hook / to stop and roll back; value = its
# serviceDeploymentArn (optionally `#<hookId>`), see controllers/deployment_steering.py
CONTINUE_DEPLOYMENT_ANNOTATION = f"{GROUP}/continue-deployment"
STOP_DEPLOYMENT_ANNOTATION = f"{GROUP}/stop-deployment"
# FargateTaskDefinition: revisions to deregister (JSON list of ARNs), see reconcile/deregistration.py
DEREGISTER_ANNOTATION = f"{GROUP}/deregister-requested"
# Written by the operator on objects it refused for tenancy when the tenancy config changed
# (value = the new config's digest), so their handlers run again; see handlers/tenancy.py.
TENANCY_RECHECK_ANNOTATION = f"{GROUP}/tenancy-recheck"


def plural_of(kind: str) -> str:
    return PLURALS[kind]
