"""The Helm chart against the real API server: lint, render, schema, install, and least-privilege RBAC in use.

The operator is run out of cluster (no nodes here) with a token of the chart's
ServiceAccount, so every call it makes is checked against the chart's RBAC.
"""

from __future__ import annotations

import base64
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.tenancy import helm_sets, world_sharing
from fargate_devenv.world import World
from fargate_operator.codegen.generate import render_deploy
from fargate_operator.reconcile.tenancy import DEFAULT_POLICY, Policy, cluster_shared, family_shared, parse_policy
from fargate_operator.web.auth import CREDENTIAL_LABEL
from support.operator_process import (
    Kube,
    OperatorProcess,
    awsvpc,
    condition,
    manifest,
    service_manifest,
    task_definition_spec,
    task_manifest,
    wait_for,
)

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "helm" / "fargate-operator"


def helm(world: World, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(world.assets.helm), f"--kubeconfig={world.control_plane.kubeconfig}", *args],
        capture_output=True,
        text=True,
        check=check,
        timeout=300,
    )


def test_lint_and_render_with_default_and_other_values(world: World, tmp_path: Path) -> None:
    assert "0 chart(s) failed" in helm(world, "lint", str(CHART)).stdout
    default = list(yaml.safe_load_all(helm(world, "template", "fo", str(CHART), "-n", "fargate-system").stdout))
    kinds = sorted(d["kind"] for d in default if d)
    assert kinds == [
        # the operator's, its identity checks (TokenReview, impersonation), FargateAccounts, three example roles for callers
        *["ClusterRole"] * 6,
        *["ClusterRoleBinding"] * 3,
        "ConfigMap",
        "Deployment",
        "Lease",  # the leader Lease, so the replicas need no right to create Leases
        "Pod",  # the `helm test` hook (deploy/ renders with --skip-tests)
        "PodDisruptionBudget",
        "Role",  # credentials
        "Role",  # the Lease
        "RoleBinding",
        "RoleBinding",
        "Service",
        "ServiceAccount",
        "ValidatingAdmissionPolicy",  # spec.region within the namespace's FargateAccount
        "ValidatingAdmissionPolicyBinding",
    ]
    deployment = next(d for d in default if d and d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert "--mcp-write" not in container["args"], "MCP is read-only by default"
    assert (
        container["securityContext"]["readOnlyRootFilesystem"]
        and not container["securityContext"]["allowPrivilegeEscalation"]
    )
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"

    values = tmp_path / "values.yaml"
    values.write_text(
        yaml.safe_dump(
            {
                "watchNamespaces": ["team-a", "team-b"],
                "mcp": {"readOnly": False, "allowedHosts": ["mcp.example.com"]},
                "serviceMonitor": {"enabled": True},
                "aws": {"region": "eu-west-1"},
                "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/fo"}},
            }
        )
    )
    assert "0 chart(s) failed" in helm(world, "lint", str(CHART), "-f", str(values)).stdout
    other = [d for d in yaml.safe_load_all(helm(world, "template", "fo", str(CHART), "-f", str(values)).stdout) if d]
    roles = sorted((d["metadata"].get("namespace"), d["metadata"]["name"]) for d in other if d["kind"] == "Role")
    assert ("team-a", "fo-fargate-operator") in roles and ("team-b", "fo-fargate-operator") in roles
    assert any(d["kind"] == "ServiceMonitor" for d in other)
    args = next(d for d in other if d["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert {"--mcp-write", "--namespace=team-a", "--region=eu-west-1", "--mcp-allowed-host=mcp.example.com"} <= set(
        args
    )


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("mcp.readOnly=yes", "readOnly"),
        ("rest.port=80", "minimum"),
        ("aws.region=Mars", "region"),
        ("imageTag=latest", "imageTag"),
        ("watchNamespaces[0]=Bad_Name", "watchNamespaces"),
        ("tenancy.roles[0].arns[0]=ecsTaskExecutionRole", "arns"),
        ("tenancy.cluster=x", "cluster"),
        ("accounts[0].name=Team_A", "accounts"),
        ("regionPolicy.enable=false", "regionPolicy"),
        ("envFrom[0].secretReff.name=x", "envFrom"),
        ("env[0].value=x", "env"),
        ("events.queueUrl=my-queue", "queueUrl"),
        ("events.resyncInterval=1", "resyncInterval"),
        ("events.resyncReadsPerSecond=fast", "resyncReadsPerSecond"),
    ],
)
def test_invalid_values_are_rejected_by_the_schema(world: World, value: str, complaint: str) -> None:
    res = helm(world, "template", "fo", str(CHART), "--set", value, check=False)
    assert res.returncode != 0 and complaint in res.stderr, res.stderr


def test_chart_passes_the_events_queue_and_resync_interval_to_the_operator(world: World) -> None:
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/ecs-events"
    sets = ["--set", f"events.queueUrl={url}", "--set", "events.resyncInterval=600"]
    sets += ["--set", "events.resyncReadsPerSecond=2.5"]
    docs = [d for d in yaml.safe_load_all(helm(world, "template", "fo", str(CHART), *sets).stdout) if d]
    env = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0]["env"]
    values = {e["name"]: e.get("value") for e in env}
    assert values["FARGATE_OPERATOR_EVENTS_QUEUE_URL"] == url
    assert values["FARGATE_OPERATOR_RESYNC_INTERVAL"] == "600"
    assert values["FARGATE_OPERATOR_RESYNC_READS_PER_SECOND"] == "2.5"
    default = [d for d in yaml.safe_load_all(helm(world, "template", "fo", str(CHART)).stdout) if d]
    env = next(d for d in default if d["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert "FARGATE_OPERATOR_EVENTS_QUEUE_URL" not in {e["name"] for e in env}, "no queue: polling, as before"


def _tenancy_of(docs: list[dict[str, Any]]) -> Policy:
    """The operator's own reading of the tenancy file the chart renders, and a check that it is mounted."""
    (cm,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-tenancy")]
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v.get("configMap", {}).get("name") == cm["metadata"]["name"]]
    (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"]]
    assert "subPath" not in mount, "a subPath mount never sees ConfigMap updates"
    assert f"--tenancy-config={mount['mountPath']}/tenancy.yaml" in pod["containers"][0]["args"]
    return parse_policy(yaml.safe_load(cm["data"]["tenancy.yaml"]))


def test_chart_renders_two_replicas_that_elect_a_leader(world: World) -> None:
    docs = [d for d in yaml.safe_load_all(helm(world, "template", "fo", str(CHART), "-n", "sys").stdout) if d]
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    spec, pod = deployment["spec"], deployment["spec"]["template"]["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    container = pod["containers"][0]
    assert {
        "--leader-elect",
        "--leader-elect-resource-name=fo-fargate-operator",
        "--leader-elect-resource-namespace=sys",
        "--leader-elect-lease-duration=15",
        "--leader-elect-renew-deadline=10",
        "--leader-elect-retry-period=2",
    } <= set(container["args"])
    env = {e["name"]: e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") for e in container["env"]}
    assert env["POD_NAME"] == "metadata.name", "the Lease's holder identity is the pod's name"
    assert container["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]
    assert pod["terminationGracePeriodSeconds"] == 30
    selector = spec["selector"]["matchLabels"]
    (preferred,) = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert preferred["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert preferred["podAffinityTerm"]["labelSelector"]["matchLabels"] == selector
    (spread,) = pod["topologySpreadConstraints"]
    assert spread["topologyKey"] == "topology.kubernetes.io/zone" and spread["whenUnsatisfiable"] == "ScheduleAnyway"
    (pdb,) = [d for d in docs if d["kind"] == "PodDisruptionBudget"]
    assert pdb["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": selector}}
    (lease,) = [d for d in docs if d["kind"] == "Lease"]
    assert lease["metadata"]["name"] == "fo-fargate-operator" and "spec" not in lease
    (role,) = [d for d in docs if d["kind"] == "Role" and d["metadata"]["name"].endswith("-leader-election")]
    assert role["rules"] == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": ["fo-fargate-operator"],
            "verbs": ["get", "list", "watch", "update"],
        }
    ]

    single = helm(
        world, "template", "fo", str(CHART), "--set", "replicaCount=1", "--set", "leaderElection.enabled=false"
    )
    one = [d for d in yaml.safe_load_all(single.stdout) if d]
    deployment = next(d for d in one if d["kind"] == "Deployment")
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert not any("--leader-elect" in a for a in deployment["spec"]["template"]["spec"]["containers"][0]["args"])
    assert not [d for d in one if d["kind"] in ("Lease", "PodDisruptionBudget")]


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        (["replicaCount=2", "leaderElection.enabled=false"], "replicaCount > 1 needs leaderElection.enabled=true"),
        (["leaderElection.renewDeadline=15"], "renewDeadline must be less than leaderElection.leaseDuration"),
        (["leaderElection.retryPeriod=9"], "renewDeadline must exceed 1.2 x leaderElection.retryPeriod"),
        (["podAntiAffinity=sometimes"], "podAntiAffinity"),
    ],
)
def test_chart_refuses_values_that_would_run_two_reconcilers_or_fence_late(
    world: World, values: list[str], complaint: str
) -> None:
    res = helm(world, "template", "fo", str(CHART), *[a for v in values for a in ("--set", v)], check=False)
    assert res.returncode != 0 and complaint in res.stderr, res.stderr


def test_chart_renders_the_tenancy_config_the_operator_reads(world: World, tmp_path: Path) -> None:
    default = [d for d in yaml.safe_load_all(helm(world, "template", "fo", str(CHART)).stdout) if d]
    assert _tenancy_of(default) == DEFAULT_POLICY  # the chart's defaults are the operator's
    values = tmp_path / "values.yaml"
    values.write_text(
        yaml.safe_dump(
            {
                "tenancy": {
                    "clusters": [{"namespaces": ["team-b"], "names": ["platform-shared"]}],
                    "taskDefinitions": [{"namespaces": ["*"], "families": ["base-*"]}],
                }
            }
        )
    )
    shared = [d for d in yaml.safe_load_all(helm(world, "template", "fo", str(CHART), "-f", str(values)).stdout) if d]
    policy = _tenancy_of(shared)
    assert policy.roles == DEFAULT_POLICY.roles, "setting other keys keeps the roles rule"
    assert cluster_shared(policy, "team-b", "platform-shared", None) and family_shared(policy, "team-a", "base-py")


def test_plain_manifests_are_the_rendered_chart(world: World) -> None:
    rendered = render_deploy(REPO, world.assets.helm)
    assert (REPO / "deploy" / "fargate-operator.yaml").read_text() == rendered, "run `make generate`"


@pytest.fixture(scope="module")
def release(world: World) -> Iterator[tuple[str, str]]:
    """The chart installed for one watched namespace; yields (release namespace, watched namespace)."""
    suffix = uuid.uuid4().hex[:6]
    system, team = f"fo-system-{suffix}", f"fo-team-{suffix}"
    for ns in (system, team):
        world.control_plane.kubectl("create", "namespace", ns)
    # The session installed the CRDs and the region policy with kubectl already (as a user may have): Helm
    # skips its copies of the CRDs, and is told the policy is there (docs/install.md).
    helm(
        world,
        "install",
        "fo",
        str(CHART),
        "-n",
        system,
        "--skip-crds",
        "--set",
        f"watchNamespaces[0]={team}",
        "--set",
        "regionPolicy.enabled=false",
        *helm_sets(world_sharing()),  # the test world's subnets and security groups (docs/tenancy.md)
    )
    yield system, team
    helm(world, "uninstall", "fo", "-n", system, check=False)


def _sa_kubeconfig(world: World, system: str, path: Path) -> Path:
    token = world.control_plane.kubectl(
        "create", "token", "fo-fargate-operator", "-n", system, "--duration=2h"
    ).stdout.strip()
    config = yaml.safe_load(world.control_plane.kubeconfig.read_text())
    config["users"] = [{"name": "fo", "user": {"token": token}}]
    config["contexts"][0]["context"]["user"] = "fo"
    path.write_text(yaml.safe_dump(config))
    return path


def test_operator_with_the_charts_identity_runs_a_full_lifecycle(
    world: World, release: tuple[str, str], network: Network, tmp_path: Path, unique: str
) -> None:
    system, team = release
    cp = world.control_plane
    agent = f"system:serviceaccount:{team}:agent"
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "agent", "labels": {CREDENTIAL_LABEL: "true"}},
        "data": {
            k: base64.b64encode(v.encode()).decode()
            for k, v in {"accessKeyId": f"AK{unique}", "secretAccessKey": "s3cret", "user": agent}.items()
        },
    }
    cp.kubectl("apply", "-n", system, "-f", "-", input=yaml.safe_dump(secret))
    # The key acts as team's ServiceAccount "agent", bound to the chart's example role for running tasks.
    cp.kubectl(
        "create",
        "rolebinding",
        "agent",
        "-n",
        team,
        "--clusterrole=fo-fargate-operator-agent-run-tasks",
        f"--serviceaccount={team}:agent",
    )
    sa_cp = type(cp)(cp.assets)  # same API server, the ServiceAccount's credentials
    sa_cp.kubeconfig = _sa_kubeconfig(world, system, tmp_path / "sa-kubeconfig")
    # The tenancy file exactly as the installed release's ConfigMap holds it.
    tenancy = tmp_path / "tenancy.yaml"
    tenancy.write_text(
        cp.kubectl(
            "get", "configmap", "fo-fargate-operator-tenancy", "-n", system, "-o", r"jsonpath={.data.tenancy\.yaml}"
        ).stdout
    )
    op = OperatorProcess(
        sa_cp,
        world.ecs.endpoint,
        team,
        tmp_path / "operator.log",
        extra_args=(
            "--credentials-namespace",
            system,
            "--tenancy-config",
            str(tenancy),
            # As the chart runs it: electing on the chart's Lease, with the chart's Role for it.
            "--leader-elect",
            "--leader-elect-resource-name=fo-fargate-operator",
            f"--leader-elect-resource-namespace={system}",
            "--leader-elect-identity=fo-pod-0",
        ),
    ).start()
    try:
        wait_for(
            "the operator holds the chart's Lease",
            lambda: (
                cp.kubectl(
                    "get", "lease", "fo-fargate-operator", "-n", system, "-o", "jsonpath={.spec.holderIdentity}"
                ).stdout
                == "fo-pod-0"
            ),
        )
        kube = Kube(cp, team)
        cluster, family = f"helm-{unique}", f"helm-{unique}"
        kube.apply(manifest("FargateCluster", "c", {"clusterName": cluster}))
        kube.apply(manifest("FargateTaskDefinition", "td", task_definition_spec(family)))
        net = awsvpc(network.subnet_id, network.security_group_id)
        kube.apply(service_manifest("svc", net))
        kube.apply(task_manifest("job", net))
        wait_for(
            "cluster Ready", lambda: condition(kube.status("fargatecluster", "c"), "Ready").get("status") == "True"
        )
        wait_for("service created", lambda: kube.status("fargateservice", "svc").get("serviceArn"))
        wait_for("task started", lambda: kube.status("fargatetask", "job").get("tasks"))
        assert any(e["reason"] == "Created" for e in kube.events("c")), "Events need their RBAC too"

        ecs = boto3.client(
            "ecs",
            endpoint_url=op.rest_endpoint,
            region_name="us-east-1",
            aws_access_key_id=f"AK{unique}",
            aws_secret_access_key="s3cret",
        )
        wait_for(
            "adapter answers with a credential read through the chart's Role",
            lambda: ecs.describe_clusters(clusters=[cluster])["clusters"],
        )
        # A write as the caller: the chart lets the operator impersonate the team's ServiceAccount.
        run = ecs.run_task(cluster=cluster, taskDefinition=family, launchType="FARGATE", networkConfiguration=net)
        (made,) = [
            t["metadata"]["name"]
            for t in json.loads(cp.kubectl("get", "fargatetasks", "-n", team, "-o", "json").stdout)["items"]
            if any(x.get("taskArn") == run["tasks"][0]["taskArn"] for x in t.get("status", {}).get("tasks", []))
        ]
        kube.delete("fargatetask", made, wait=True)
        for kind, name in (
            ("fargatetask", "job"),
            ("fargateservice", "svc"),
            ("fargatetaskdefinition", "td"),
            ("fargatecluster", "c"),
        ):
            kube.delete(kind, name, wait=True)
        # The deleted objects' records, written and watched with the chart's RBAC (docs/rest-adapter.md "After a delete").
        wait_for(
            "the deleted cluster answered INACTIVE",
            lambda: [c["status"] for c in ecs.describe_clusters(clusters=[cluster])["clusters"]] == ["INACTIVE"],
        )
        log = op.log_text()
        assert "Forbidden" not in log and " 403" not in log, log[-3000:]
        digest = parse_policy(yaml.safe_load(tenancy.read_text())).digest
        assert f"tenancy config {digest} from {tenancy}" in log, "read the chart's tenancy file"
    finally:
        op.stop()


@pytest.mark.parametrize(
    ("verb", "what", "where", "allowed"),
    [
        ("patch", "fargatetasks.ecs.fargate.dev/status", "team", True),
        ("patch", "fargateclusters.ecs.fargate.dev", "team", True),
        # The adapters' writes are the callers' (impersonation): the operator creates nothing and
        # deletes only finished FargateTasks (ttlSecondsAfterFinished).
        ("create", "fargateclusters.ecs.fargate.dev", "team", False),
        ("create", "fargatetasks.ecs.fargate.dev", "team", False),
        ("delete", "fargatetasks.ecs.fargate.dev", "team", True),
        ("delete", "fargateservices.ecs.fargate.dev", "team", False),
        ("create", "tokenreviews.authentication.k8s.io", "all", True),
        ("create", "subjectaccessreviews.authorization.k8s.io", "all", True),
        ("impersonate", "serviceaccounts", "team", True),  # callers that are ServiceAccounts of a watched namespace
        ("impersonate", "serviceaccounts", "system", False),
        ("impersonate", "users", "all", False),  # none unless identity.impersonateUsers names them
        ("impersonate", "groups", "all", False),
        ("impersonate", "userextras/scopes", "all", False),
        ("create", "events.events.k8s.io", "team", True),
        # The records of recently deleted objects: one ConfigMap per namespace, its own by name.
        ("watch", "configmaps", "team", True),
        ("patch", "configmaps/fargate-operator-deleted", "team", True),
        ("patch", "configmaps/someone-elses", "team", False),
        ("delete", "configmaps/fargate-operator-deleted", "team", False),
        ("list", "configmaps", "system", False),
        ("create", "events", "team", False),  # core/v1 Events: the operator writes events.k8s.io/v1
        ("list", "secrets", "system", True),
        ("create", "events.events.k8s.io", "system", True),  # Warning Events on malformed credential Secrets
        ("get", "secrets", "team", False),
        ("list", "secrets", "all", False),
        ("delete", "namespaces", "all", False),
        ("create", "fargateclusters.ecs.fargate.dev", "default", False),
        ("create", "pods", "team", False),
        ("update", "customresourcedefinitions.apiextensions.k8s.io", "all", False),
        # The Lease: its own, by name, read, watched and renewed; no other Lease, no create or delete.
        ("get", "leases.coordination.k8s.io/fo-fargate-operator", "system", True),
        ("watch", "leases.coordination.k8s.io/fo-fargate-operator", "system", True),
        ("update", "leases.coordination.k8s.io/fo-fargate-operator", "system", True),
        ("update", "leases.coordination.k8s.io/kube-controller-manager", "system", False),
        ("update", "leases.coordination.k8s.io/fo-fargate-operator", "team", False),
        ("create", "leases.coordination.k8s.io", "system", False),
        ("delete", "leases.coordination.k8s.io/fo-fargate-operator", "system", False),
        ("list", "leases.coordination.k8s.io", "system", False),
        # FargateAccounts: read everywhere, status written, never their spec; Namespaces read only.
        ("watch", "fargateaccounts.ecs.fargate.dev", "all", True),
        ("patch", "fargateaccounts.ecs.fargate.dev --subresource=status", "all", True),
        ("patch", "fargateaccounts.ecs.fargate.dev", "all", False),
        ("create", "fargateaccounts.ecs.fargate.dev", "all", False),
        ("watch", "namespaces", "all", True),
        ("patch", "namespaces", "all", False),
    ],
)
def test_rbac_grants_only_what_the_operator_uses(
    world: World, release: tuple[str, str], verb: str, what: str, where: str, allowed: bool
) -> None:
    system, team = release
    scope = {"team": ["-n", team], "system": ["-n", system], "default": ["-n", "default"], "all": ["-A"]}[where]
    res = world.control_plane.kubectl(
        "auth",
        "can-i",
        verb,
        *what.split(),
        *scope,
        f"--as=system:serviceaccount:{system}:fo-fargate-operator",
        check=False,
    )
    assert res.stdout.strip() == ("yes" if allowed else "no"), (verb, what, where, res.stdout, res.stderr)


def test_chart_renders_fargate_accounts_and_the_region_policy(world: World, tmp_path: Path) -> None:
    """The `accounts` value becomes FargateAccounts the API server accepts; the region policy can be turned off."""
    values = tmp_path / "values.yaml"
    spec = {
        "roleArn": "arn:aws:iam::111111111111:role/fargate-operator",
        "externalId": "4b1d2c9e",
        "region": "eu-west-1",
        "allowedRegions": ["eu-central-1"],
        "namespaces": {"names": ["team-a"], "selector": {"matchLabels": {"aws-account": "a"}}},
    }
    values.write_text(yaml.safe_dump({"accounts": [{"name": f"chart-{uuid.uuid4().hex[:6]}", "spec": spec}]}))
    docs = [d for d in yaml.safe_load_all(helm(world, "template", "fo", str(CHART), "-f", str(values)).stdout) if d]
    (account,) = [d for d in docs if d["kind"] == "FargateAccount"]
    assert account["spec"] == spec
    res = world.control_plane.kubectl("apply", "--dry-run=server", "-f", "-", input=yaml.safe_dump(account))
    assert res.returncode == 0, res.stderr
    off = helm(world, "template", "fo", str(CHART), "--set", "regionPolicy.enabled=false").stdout
    assert "ValidatingAdmissionPolicy" not in off
    bad = {
        **account,
        "spec": {**spec, "externalId": None, "sessionTags": [{"key": "fargate-operator/account", "value": "x"}]},
    }
    del bad["spec"]["externalId"]
    refused = world.control_plane.kubectl(
        "apply", "--dry-run=server", "-f", "-", input=yaml.safe_dump(bad), check=False
    )
    assert refused.returncode != 0 and "is the operator's own" in refused.stderr, refused.stderr
