"""Helm for real: the chart installed on the node with the image built from the Dockerfile.

One release for the whole module, in the order a user meets it: install -> the pod is Ready
through its own probes under the chart's securityContext -> it reconciles the three kinds ->
agents and CLIs in other pods call MCP and the REST adapter by the Service's DNS name ->
`helm test` -> `helm upgrade` with a changed value rolls the two replicas one at a time (the
Lease handed over to a new pod), losing and duplicating nothing -> `helm uninstall` leaves
what the README says. ECS is the emulator, inside the
node's namespace; the operator reaches it with credentials from a Secret (chart value envFrom).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fargate_devenv.ecs_emulator import REGION, Network
from fargate_devenv.node import NodeWorld
from fargate_devenv.node_dev import RELEASE, helm_install_args
from fargate_operator.models.kinds import FINALIZER
from fargate_operator.web.auth import CREDENTIAL_LABEL
from support import identity as identity_support
from support.node import TOKEN_PATH, NodeImages, apply, apply_ecs_credentials, get, run_pod, wait_for
from support.operator_process import awsvpc, condition, manifest, service_manifest, task_definition_spec, task_manifest

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "fargate-operator"
FULLNAME = RELEASE  # the release name contains the chart name
READ_TOOLS = 7
ALL_TOOLS = 22  # the 20 ECS operations, executecommandoutput and gettasklogs (the FULL role has both verbs)

AGENT = """
import anyio, json, os, httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

args = json.load(open("/config/args.json"))
token = open(args["tokenPath"]).read().strip()  # the pod's own projected token, audience fargate-operator
headers = {"Authorization": "Bearer " + token, "X-Fargate-Namespace": args["namespace"]}

async def main():
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        streamable_http_client(args["url"], http_client=http) as (read, write, *_),
        ClientSession(read, write) as s,
    ):
        await s.initialize()
        tools = sorted(t.name for t in (await s.list_tools()).tools)

        async def call(name, **kw):
            res = await s.call_tool(name, kw)
            assert not res.is_error, (name, res.content)
            return res.structured_content

        await call("createcluster", clusterName=args["cluster"])
        await call("registertaskdefinition", **args["taskDefinition"])
        run = await call("runtask", cluster=args["cluster"], taskDefinition=args["taskDefinition"]["family"],
                         launchType="FARGATE", networkConfiguration=args["network"])
        print(json.dumps({"tools": tools, "taskArn": run["tasks"][0]["taskArn"]}))

anyio.run(main)
"""

AWS_CLI = """set -eu
aws ecs create-cluster --cluster-name "$CLUSTER" --output json > /tmp/cluster.json
aws ecs register-task-definition --cli-input-json file:///config/td.json --output json > /tmp/td.json
aws ecs run-task --cluster "$CLUSTER" --task-definition "$FAMILY" --launch-type FARGATE \\
  --network-configuration file:///config/network.json --output json > /tmp/run.json
python -c 'import json; print(json.dumps({"revision": json.load(open("/tmp/td.json"))["taskDefinition"]["revision"], "taskArn": json.load(open("/tmp/run.json"))["tasks"][0]["taskArn"]}))'
"""


REPLICAS = 2  # the chart's default


def _pods(node: NodeWorld, namespace: str) -> list[dict[str, Any]]:
    """The Deployment's pods (not the `helm test` pod, which has no owner), not those on their way out."""
    pods = json.loads(
        node.kubectl("get", "pods", "-n", namespace, "-l", f"app.kubernetes.io/instance={RELEASE}", "-o", "json").stdout
    )["items"]
    return [p for p in pods if p["metadata"].get("ownerReferences") and not p["metadata"].get("deletionTimestamp")]


def _holder(node: NodeWorld, namespace: str) -> str:
    return node.kubectl(
        "get", "lease", FULLNAME, "-n", namespace, "-o", "jsonpath={.spec.holderIdentity}", check=False
    ).stdout.strip()


def _readyz(node: NodeWorld, namespace: str, pod: str) -> str:
    probe = "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8080/readyz').read().decode())"
    return node.kubectl("exec", "-n", namespace, pod, "--", "python", "-c", probe).stdout.strip()


def _ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))


@pytest.fixture(scope="module")
def network(node: NodeWorld) -> Network:
    assert node.ecs is not None
    return node.ecs.create_network()


@pytest.fixture(scope="module")
def release(node: NodeWorld, node_images: NodeImages) -> Iterator[str]:
    """`helm install` into a fresh namespace; yields the namespace. Uninstalled by the last test."""
    ns = f"fo-helm-{uuid.uuid4().hex[:6]}"
    node.kubectl("create", "namespace", ns)
    apply_ecs_credentials(node, ns)
    args = helm_install_args(node_images.operator.ref, node.ecs_inside_endpoint, CHART, namespace=ns)
    if node.kubectl("get", "crd", "fargatetasks.ecs.fargate.dev", check=False).returncode == 0:
        args.insert(3, "--skip-crds")  # installed with kubectl before (the e2e tests): docs/install.md
    node.helm(*args[:-2], "--set", "statusInterval=2", *args[-2:])  # the README's command, faster status
    yield ns
    node.helm("uninstall", RELEASE, "-n", ns, "--wait", check=False)


@pytest.fixture(scope="module")
def team(node: NodeWorld) -> str:
    ns = f"team-{uuid.uuid4().hex[:6]}"
    node.kubectl("create", "namespace", ns)
    return ns


@pytest.fixture(scope="module")
def state() -> dict[str, Any]:
    """What earlier steps made, for the upgrade and uninstall checks."""
    return {}


def test_pods_are_ready_through_their_probes_as_non_root_with_a_read_only_root(node: NodeWorld, release: str) -> None:
    pods = _pods(node, release)
    assert len(pods) == REPLICAS and all(_ready(p) for p in pods), [p["status"] for p in pods]
    for pod in pods:
        container = pod["spec"]["containers"][0]
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "rest", "scheme": "HTTP"}
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        name = pod["metadata"]["name"]
        probe = "import os; print(os.getuid(), os.getgid())"
        ids = node.kubectl("exec", "-n", release, name, "--", "python", "-c", probe)
        assert ids.stdout.split() == ["10001", "10001"]
    # One leader (the Lease names its pod), the other follows and says so; both are ready.
    names = sorted(p["metadata"]["name"] for p in pods)
    leader = wait_for("a leader among the pods", lambda: _holder(node, release) in names and _holder(node, release))
    (follower,) = [n for n in names if n != leader]
    assert _readyz(node, release, leader) == f"ready; leader: {leader} (this replica)"
    assert _readyz(node, release, follower) == f"ready; follower of {leader} (this replica: {follower})"
    write = node.kubectl("exec", "-n", release, name, "--", "python", "-c", "open('/probe', 'w')", check=False)
    assert write.returncode != 0 and "Read-only file system" in write.stderr, write.stderr
    # In-cluster config: the pod's ServiceAccount token, no kubeconfig anywhere.
    log = node.kubectl("logs", "-n", release, name).stdout
    assert "Traceback" not in log, log[-3000:]
    notes = node.helm("status", RELEASE, "-n", release).stdout
    assert f"http://{FULLNAME}.{release}.svc:9090/mcp" in notes and f"http://{FULLNAME}.{release}.svc:8080" in notes


def test_reconciles_task_definition_service_and_task(
    node: NodeWorld, release: str, team: str, network: Network, state: dict[str, Any]
) -> None:
    assert node.ecs is not None
    suffix = uuid.uuid4().hex[:6]
    cluster, family = f"helm-{suffix}", f"helm-{suffix}"
    net = awsvpc(network.subnet_id, network.security_group_id)
    apply(
        node,
        manifest("FargateCluster", "c", {"clusterName": cluster}),
        manifest("FargateTaskDefinition", "td", task_definition_spec(family)),
        service_manifest("svc", net),
        task_manifest("job", net),
        namespace=team,
    )

    def status(kind: str, name: str) -> dict[str, Any]:
        return (get(node, kind, name, team) or {}).get("status", {})

    wait_for("cluster Ready", lambda: condition(status("fargatecluster", "c"), "Ready").get("status") == "True")
    wait_for("service created", lambda: status("fargateservice", "svc").get("serviceArn"))
    tasks = wait_for("task started", lambda: status("fargatetask", "job").get("tasks"))
    ecs = node.ecs.client()
    assert ecs.describe_services(cluster=cluster, services=["svc"])["services"][0]["status"] == "ACTIVE"
    uid = get(node, "fargatetask", "job", team)["metadata"]["uid"]  # type: ignore[index]
    started = ecs.list_tasks(cluster=cluster, startedBy=f"fargate-operator/{uid}")["taskArns"]
    assert started == [tasks[0]["taskArn"]]
    state.update(cluster=cluster, family=family, task_uid=uid, task_arn=tasks[0]["taskArn"])


def _credential(node: NodeWorld, release: str, name: str, data: dict[str, str]) -> None:
    """A credential Secret as the README documents it: labelled, in the operator's credentials namespace."""
    apply(
        node,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "labels": {CREDENTIAL_LABEL: "true"}},
            "stringData": data,
        },
        namespace=release,
    )


def test_agent_pod_calls_mcp_by_the_service_dns_name(
    node: NodeWorld, node_images: NodeImages, release: str, team: str, network: Network, state: dict[str, Any]
) -> None:
    """The agent authenticates with its own projected ServiceAccount token (audience fargate-operator),
    no shared secret; a RoleBinding in the team's namespace decides what it may do there."""
    assert node.ecs is not None
    suffix = uuid.uuid4().hex[:6]
    agents = f"agents-{suffix}"
    node.kubectl("create", "namespace", agents)
    identity_support.install_roles(node, examples=False)  # the release has them
    identity_support.service_account(node, agents, "agent")
    apply(node, identity_support.rolebinding(team, "agent", identity_support.FULL, agents))
    args = {
        "url": f"http://{FULLNAME}.{release}.svc:9090/mcp",
        "tokenPath": TOKEN_PATH,
        "namespace": team,
        "cluster": f"agent-{suffix}",
        "taskDefinition": {
            "family": f"agent-{suffix}",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "512",
            "containerDefinitions": [{"name": "app", "image": "busybox:1.36", "memory": 256}],
        },
        "network": awsvpc(network.subnet_id, network.security_group_id),
    }
    phase, logs = run_pod(
        node,
        agents,
        "agent",
        node_images.clients.ref,
        ["python", "/config/agent.py"],
        config={"agent.py": AGENT, "args.json": json.dumps(args)},
        service_account="agent",
        token_audience="fargate-operator",
    )
    assert phase == "Succeeded", logs
    out = json.loads(logs.strip().splitlines()[-1])
    assert len(out["tools"]) == ALL_TOOLS and "runtask" in out["tools"]
    # The objects are custom resources in the credential's namespace, and they reached ECS.
    tasks = json.loads(node.kubectl("get", "fargatetasks", "-n", team, "-o", "json").stdout)["items"]
    mine = [t for t in tasks if any(x.get("taskArn") == out["taskArn"] for x in t.get("status", {}).get("tasks", []))]
    assert len(mine) == 1
    ecs = node.ecs.client()
    assert ecs.describe_tasks(cluster=args["cluster"], tasks=[out["taskArn"]])["tasks"][0]["taskArn"] == out["taskArn"]
    assert ecs.describe_task_definition(taskDefinition=f"agent-{suffix}")["taskDefinition"]["revision"] == 1
    state["agent_task"] = (args["cluster"], out["taskArn"])


def test_aws_cli_pod_calls_the_rest_adapter_by_the_service_dns_name(
    node: NodeWorld, node_images: NodeImages, release: str, team: str, network: Network, state: dict[str, Any]
) -> None:
    assert node.ecs is not None
    key, secret = f"AKCLI{uuid.uuid4().hex[:10].upper()}", uuid.uuid4().hex
    # From outside a pod's identity: a key that acts as the team's ServiceAccount "cli" (its RBAC decides).
    identity_support.install_roles(node, examples=False)  # the release has them
    cli = identity_support.service_account(node, team, "cli", identity_support.FULL)
    _credential(node, release, "cli", {"accessKeyId": key, "secretAccessKey": secret, "user": cli})
    suffix = uuid.uuid4().hex[:6]
    cluster, family = f"cli-{suffix}", f"cli-{suffix}"
    td = {
        "family": family,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{"name": "app", "image": "busybox:1.36", "memory": 256, "essential": True}],
    }
    clis = f"clis-{suffix}"
    node.kubectl("create", "namespace", clis)
    phase, logs = run_pod(
        node,
        clis,
        "aws",
        node_images.clients.ref,
        ["sh", "/config/run.sh"],
        env={
            "AWS_ENDPOINT_URL": f"http://{FULLNAME}.{release}.svc:8080",
            "AWS_DEFAULT_REGION": REGION,
            "CLUSTER": cluster,
            "FAMILY": family,
        },
        config={
            "run.sh": AWS_CLI,
            "td.json": json.dumps(td),
            "network.json": json.dumps(awsvpc(network.subnet_id, network.security_group_id)),
        },
        secret_env={"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret},
    )
    assert phase == "Succeeded", logs
    out = json.loads(logs.strip().splitlines()[-1])
    assert out["revision"] == 1
    tds = json.loads(node.kubectl("get", "fargatetaskdefinitions", "-n", team, "-o", "json").stdout)["items"]
    assert [t["spec"]["family"] for t in tds if t["spec"]["family"] == family] == [family]
    ecs = node.ecs.client()
    assert ecs.describe_tasks(cluster=cluster, tasks=[out["taskArn"]])["tasks"][0]["taskArn"] == out["taskArn"]
    assert ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]["revision"] == 1


def test_helm_test_passes(node: NodeWorld, release: str) -> None:
    """The chart's test hook: another pod reaches both front doors by the Service's DNS name."""
    res = node.helm("test", RELEASE, "-n", release, "--timeout=3m", check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"{FULLNAME}-test-endpoints" in res.stdout and "Succeeded" in res.stdout, res.stdout
    # hook-succeeded: the test pod is gone again, so `helm uninstall` leaves no pod behind.
    assert get(node, "pod", f"{FULLNAME}-test-endpoints", release) is None


def _ecs_counts(node: NodeWorld, state: dict[str, Any]) -> dict[str, Any]:
    assert node.ecs is not None
    ecs = node.ecs.client()
    clusters = ecs.list_clusters()["clusterArns"]
    return {
        "clusters": sorted(clusters),
        "tasks": sorted(a for c in clusters for a in ecs.list_tasks(cluster=c)["taskArns"]),
        "services": sorted(a for c in clusters for a in ecs.list_services(cluster=c)["serviceArns"]),
        "revisions": sorted(ecs.list_task_definitions()["taskDefinitionArns"]),
        "job": ecs.list_tasks(cluster=state["cluster"], startedBy=f"fargate-operator/{state['task_uid']}")["taskArns"],
    }


def test_helm_upgrade_with_a_changed_value_rolls_the_pods_and_loses_or_duplicates_nothing(
    node: NodeWorld, release: str, team: str, state: dict[str, Any]
) -> None:
    before_pods = {p["metadata"]["uid"] for p in _pods(node, release)}
    before = _ecs_counts(node, state)
    assert before["job"] == [state["task_arn"]]
    objects_before = node.kubectl("get", "fargate", "-n", team, "-o", "name").stdout.split()
    # While it rolls: how many replicas are available (RollingUpdate, maxUnavailable 0: never fewer than 2).
    available: list[int] = []
    rolling = threading.Event()

    def sample() -> None:
        while not rolling.is_set():
            out = node.kubectl(
                "get", "deployment", FULLNAME, "-n", release, "-o", "jsonpath={.status.availableReplicas}", check=False
            ).stdout.strip()
            available.append(int(out or 0))
            rolling.wait(0.3)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        node.helm(
            "upgrade", RELEASE, str(CHART), "-n", release, "--reuse-values", "--set", "statusInterval=3", "--wait"
        )
        pods = wait_for(
            "the new pods Ready",
            lambda: (ps := _pods(node, release)) and len(ps) == REPLICAS and all(_ready(p) for p in ps) and ps,
        )
    finally:
        rolling.set()
        sampler.join()
    assert not before_pods & {p["metadata"]["uid"] for p in pods}, "every pod was replaced"
    assert min(available) >= REPLICAS, f"replicas available while rolling: {available}"
    names = [p["metadata"]["name"] for p in pods]
    wait_for("a new pod holds the Lease", lambda: _holder(node, release) in names)
    after_pod = next(p for p in pods if p["metadata"]["name"] == _holder(node, release))
    assert all("--status-interval=3" in p["spec"]["containers"][0]["args"] for p in pods)
    time.sleep(8)  # a few status cycles of the new pod: anything it would redo, it has done by now
    assert _ecs_counts(node, state) == before, "the upgrade must not run, register or create anything again"
    assert node.kubectl("get", "fargate", "-n", team, "-o", "name").stdout.split() == objects_before
    job = get(node, "fargatetask", "job", team) or {}
    assert [t["taskArn"] for t in job["status"]["tasks"]] == [state["task_arn"]]
    for kind, name in (("fargatecluster", "c"), ("fargatetaskdefinition", "td"), ("fargateservice", "svc")):
        assert condition((get(node, kind, name, team) or {}).get("status", {}), "Degraded").get("status") != "True"
    for pod in pods:
        log = node.kubectl("logs", "-n", release, pod["metadata"]["name"]).stdout
        assert "Traceback" not in log, log[-3000:]
    assert "leading: took Lease" in node.kubectl("logs", "-n", release, after_pod["metadata"]["name"]).stdout


def test_helm_uninstall_leaves_what_the_readme_says(
    node: NodeWorld, release: str, team: str, state: dict[str, Any]
) -> None:
    """docs/install.md: uninstall removes the operator's workload, Service, ServiceAccount and RBAC; it
    leaves the CRDs, the Fargate objects (with their finalizer) and their ECS resources, and Secrets users made."""
    assert node.ecs is not None
    before = _ecs_counts(node, state)
    node.helm("uninstall", RELEASE, "-n", release, "--wait")
    for kind, name in (
        ("deployment", FULLNAME),
        ("service", FULLNAME),
        ("serviceaccount", FULLNAME),
        ("role", FULLNAME),
        ("rolebinding", FULLNAME),
        ("role", f"{FULLNAME}-leader-election"),
        ("rolebinding", f"{FULLNAME}-leader-election"),
        ("lease", FULLNAME),
        ("poddisruptionbudget", FULLNAME),
    ):
        assert get(node, kind, name, release) is None, (kind, name)
    for kind in ("clusterrole", "clusterrolebinding"):
        assert node.kubectl("get", kind, FULLNAME, check=False).returncode != 0, kind
        assert node.kubectl("get", kind, f"{FULLNAME}-identity", check=False).returncode != 0, kind
        assert node.kubectl("get", kind, f"{FULLNAME}-accounts", check=False).returncode != 0, kind
    assert node.kubectl("get", "clusterrole", f"{FULLNAME}-agent-read-only", check=False).returncode != 0
    assert (
        node.kubectl(
            "get", "validatingadmissionpolicy", "-l", "app.kubernetes.io/part-of=fargate-operator", "-o", "name"
        ).stdout.strip()
        == ""
    )
    wait_for(
        "the operator pod gone", lambda: not node.kubectl("get", "pods", "-n", release, "-o", "name").stdout.strip()
    )
    crds = node.kubectl("get", "crd", "-l", "app.kubernetes.io/part-of=fargate-operator", "-o", "name").stdout.split()
    assert len(crds) == 5  # the four kinds and FargateAccount: Helm never deletes CRDs
    job = get(node, "fargatetask", "job", team) or {}
    assert FINALIZER in job["metadata"].get("finalizers", []), job["metadata"]
    assert get(node, "secret", "cli", release) is not None and get(node, "secret", "ecs-credentials", release)
    assert _ecs_counts(node, state) == before
