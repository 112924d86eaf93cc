"""Many AWS accounts and regions from one operator.

Real parts throughout: kube-apiserver + etcd (FargateAccount CRD, the region admission policy, RBAC),
the operator as a process, the ECS emulator behind the counting proxy for ECS and STS (moto keeps a
backend per account and puts an AssumeRole session's calls in the role's account), and boto3 with
each account's own credentials to look at what was made.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from mcp import ClientSession

from fargate_devenv.api_proxy import ApiProxy
from fargate_devenv.ecs_emulator import REGION
from fargate_devenv.ecs_proxy import EcsProxy
from fargate_devenv.world import World
from support import identity as ids
from support.accounts import (
    ACCOUNT_A,
    ACCOUNT_B,
    DEFAULT_ACCOUNT,
    OTHER_REGION,
    REGION_B,
    ROLE_A,
    ROLE_B,
    Accounts,
    role_in,
)
from support.adapter import mcp, rest
from support.ha import proxied_control_plane
from support.operator_process import OperatorProcess, condition, manifest, task_definition_spec, wait_for


def same_manifests(net: dict[str, Any], region: str | None = None) -> list[dict[str, Any]]:
    """A cluster, a task definition, a service and a one-off task: the same ECS names in every namespace."""
    extra = {"region": region} if region else {}
    refs = {"clusterRef": {"name": "c"}, "taskDefinitionRef": {"name": "td"}, "networkConfiguration": net, **extra}
    return [
        manifest("FargateCluster", "c", {"clusterName": "shared-name", **extra}),
        manifest("FargateTaskDefinition", "td", {**task_definition_spec("shared-family"), **extra}),
        manifest("FargateService", "web", {"serviceName": "web", "desiredCount": 1, **refs}),
        manifest("FargateTask", "job", {**refs, "launchType": "FARGATE"}),
    ]


REPO = Path(__file__).resolve().parents[3]


def ready(kube: Any, kind: str, name: str) -> bool:
    return condition(kube.status(kind, name), "Ready").get("status") == "True"


Placed = dict[str, tuple[str, str, str | None]]  # namespace -> (account, region, role)


@pytest.fixture(scope="module")
def placed(world: World, accounts: Accounts) -> Iterator[Placed]:
    """The same manifests applied in the two mapped namespaces and the unmapped one, all of them made."""
    placed = {
        accounts.a: (ACCOUNT_A, REGION, ROLE_A),
        accounts.b: (ACCOUNT_B, REGION_B, ROLE_B),
        accounts.unmapped: (DEFAULT_ACCOUNT, REGION, None),
    }
    for ns, (account, region, _) in placed.items():
        world.control_plane.kubectl(
            "apply", "-n", ns, "-f", "-", input=yaml.safe_dump_all(same_manifests(accounts.nets[(account, region)]))
        )
    for ns in placed:
        kube = accounts.kube(world, ns)
        for kind, name in (("fargatecluster", "c"), ("fargatetaskdefinition", "td"), ("fargatetask", "job")):
            wait_for(f"{kind} {ns}/{name} Ready", lambda k=kind, n=name, kb=kube: ready(kb, k, n), timeout=90)
        wait_for(f"service {ns}/web created", lambda kb=kube: kb.status("fargateservice", "web").get("serviceArn"))
    yield placed


def test_same_manifests_land_in_three_accounts(world: World, accounts: Accounts, placed: Placed) -> None:
    """Two mapped namespaces and an unmapped one, the same manifests in each: three accounts, ARNs that say so."""
    for ns, (account, region, role) in placed.items():
        kube = accounts.kube(world, ns)
        cluster = kube.status("fargatecluster", "c")
        assert cluster["clusterArn"] == f"arn:aws:ecs:{region}:{account}:cluster/shared-name", cluster
        assert (cluster["accountId"], cluster["region"]) == (account, region)
        td = kube.status("fargatetaskdefinition", "td")
        assert td["taskDefinitionArn"] == f"arn:aws:ecs:{region}:{account}:task-definition/shared-family:1"
        svc = kube.status("fargateservice", "web")
        assert svc["serviceArn"].startswith(f"arn:aws:ecs:{region}:{account}:service/shared-name/web")
        assert kube.status("fargatetask", "job")["tasks"][0]["taskArn"].startswith(
            f"arn:aws:ecs:{region}:{account}:task/"
        )
        # Looked at with that account's own credentials, straight at the emulator: it is there, tagged ours.
        ecs = world.ecs.client_as(role, "ecs", region) if role else world.ecs.client("ecs", region)
        found = ecs.describe_clusters(clusters=["shared-name"], include=["TAGS"])["clusters"]
        assert [c["clusterArn"] for c in found] == [cluster["clusterArn"]]
        assert {"key": "ecs.fargate.dev/namespace", "value": ns} in found[0]["tags"]
        assert ecs.describe_services(cluster="shared-name", services=["web"])["services"][0]["status"] == "ACTIVE"
    # Each account holds exactly its own namespace's cluster: nothing crossed over.
    for ns, (_account, region, role) in placed.items():
        ecs = world.ecs.client_as(role, "ecs", region) if role else world.ecs.client("ecs", region)
        tags = ecs.describe_clusters(clusters=["shared-name"], include=["TAGS"])["clusters"][0]["tags"]
        assert {t["value"] for t in tags if t["key"] == "ecs.fargate.dev/namespace"} == {ns}
    # One session per FargateAccount (its status check's and its ECS calls' alike), named after it.
    assert dict(accounts.proxy.sessions) == {
        (ROLE_A, f"fargate-operator.a-{accounts.suffix}"): 1,
        (ROLE_B, f"fargate-operator.b-{accounts.suffix}"): 1,
    }


def test_every_ecs_call_names_its_object_for_cloudtrail(accounts: Accounts, placed: Placed) -> None:
    """The User-Agent of each write names the Kubernetes object it was made for (CloudTrail's userAgent)."""
    assert accounts.proxy.journal is not None
    writes = [c for c in accounts.proxy.journal if c.action in ("CreateCluster", "RunTask", "CreateService")]
    assert writes
    expected = {
        "CreateCluster": f"fargate-object/FargateCluster/{accounts.a}/c",
        "RunTask": f"fargate-object/FargateTask/{accounts.a}/job",
        "CreateService": f"fargate-object/FargateService/{accounts.a}/web",
    }
    for action, marker in expected.items():
        assert any(marker in c.user_agent for c in writes if c.action == action), (action, writes[:3])


def test_region_override_runs_there_and_the_allow_list_is_enforced_at_apply(world: World, accounts: Accounts) -> None:
    kube = accounts.kube(world, accounts.a)
    net = accounts.nets[(ACCOUNT_A, OTHER_REGION)]
    refs = {"clusterRef": {"name": "eu"}, "taskDefinitionRef": {"name": "td-eu"}, "networkConfiguration": net}
    kube.apply(manifest("FargateCluster", "eu", {"clusterName": "eu", "region": OTHER_REGION}))
    kube.apply(manifest("FargateTaskDefinition", "td-eu", {**task_definition_spec("eu-job"), "region": OTHER_REGION}))
    kube.apply(manifest("FargateTask", "eu-job", {**refs, "launchType": "FARGATE", "region": OTHER_REGION}))
    tasks = wait_for(
        "the eu-west-1 task started", lambda: kube.status("fargatetask", "eu-job").get("tasks"), timeout=90
    )
    assert tasks[0]["taskArn"].startswith(f"arn:aws:ecs:{OTHER_REGION}:{ACCOUNT_A}:task/eu/")
    assert kube.status("fargatetask", "eu-job")["region"] == OTHER_REGION
    listed = world.ecs.client_as(ROLE_A, "ecs", OTHER_REGION).list_tasks(cluster="eu")["taskArns"]
    assert tasks[0]["taskArn"] in listed
    # Outside the allow-list: the API server refuses at apply time, naming what is allowed.
    bad = manifest("FargateTask", "ap-job", {**refs, "launchType": "FARGATE", "region": "ap-south-1"})
    res = world.control_plane.kubectl("apply", "-n", accounts.a, "-f", "-", input=yaml.safe_dump(bad), check=False)
    assert res.returncode != 0
    assert "spec.region ap-south-1 is not allowed" in res.stderr and f"{REGION}, {OTHER_REGION}" in res.stderr, (
        res.stderr
    )
    assert kube.get("fargatetask", "ap-job") is None
    # A reference across regions is refused by the operator (the cluster is in us-east-1, the task asks eu-west-1).
    cross = {**refs, "clusterRef": {"name": "c"}, "launchType": "FARGATE", "region": OTHER_REGION}
    kube.apply(manifest("FargateTask", "cross", cross))
    wait_for(
        "the cross-region reference refused",
        lambda: (
            "must be to the same account and region"
            in condition(kube.status("fargatetask", "cross"), "Degraded").get("message", "")
        ),
    )
    # An unmapped namespace acts in the operator's own region only: refused, naming why.
    plain = accounts.kube(world, accounts.unmapped)
    plain.apply(manifest("FargateCluster", "eu", {"clusterName": "eu", "region": OTHER_REGION}))
    wait_for(
        "the unmapped namespace's region refused",
        lambda: (
            "no FargateAccount serves it"
            in condition(plain.status("fargatecluster", "eu"), "Degraded").get("message", "")
        ),
    )
    # It made nothing: its deletion is not held by the refusal (a Warning Event says so).
    plain.delete("fargatecluster", "eu", wait=True)
    assert plain.get("fargatecluster", "eu") is None


def _c_served_by_c1(world: World, accounts: Accounts) -> None:
    """Namespace C mapped to account 555555555555 alone (FargateAccount c1), its cluster "waiting" made there --
    where the conflict test leaves it."""
    sfx = accounts.suffix
    mapping = manifest(
        "FargateAccount",
        f"c1-{sfx}",
        {"roleArn": role_in("555555555555"), "region": REGION, "namespaces": {"names": [accounts.c]}},
    )
    world.control_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(mapping))
    kube = accounts.kube(world, accounts.c)
    kube.apply(manifest("FargateCluster", "waiting", {"clusterName": f"waiting-{sfx}"}))
    arn = wait_for("made in account 555555555555", lambda: kube.status("fargatecluster", "waiting").get("clusterArn"))
    assert arn == f"arn:aws:ecs:{REGION}:555555555555:cluster/waiting-{sfx}"


def test_two_accounts_claiming_a_namespace_say_so_and_its_objects_wait(world: World, accounts: Accounts) -> None:
    """A conflict is a condition on both FargateAccounts, and the namespace's objects wait naming them;
    once one lets go, the objects act in the other's account."""
    cp, ns, sfx = world.control_plane, accounts.c, accounts.suffix
    first, second = f"c1-{sfx}", f"c2-{sfx}"
    for name, account in ((first, "555555555555"), (second, "666666666666")):
        mapping = manifest(
            "FargateAccount", name, {"roleArn": role_in(account), "region": REGION, "namespaces": {"names": [ns]}}
        )
        cp.kubectl("apply", "-f", "-", input=yaml.safe_dump(mapping))
    kube = accounts.kube(world, ns)
    kube.apply(manifest("FargateCluster", "waiting", {"clusterName": f"waiting-{sfx}"}))

    def account_status(name: str) -> dict[str, Any]:
        out = cp.kubectl("get", "fargateaccount", name, "-o", "json").stdout
        status: dict[str, Any] = json.loads(out).get("status") or {}
        return status

    for name, other in ((first, second), (second, first)):
        ready = wait_for(
            f"{name} says Conflict",
            lambda n=name: condition(account_status(n), "Ready").get("reason") == "Conflict" and account_status(n),
        )
        assert ready["conflicts"] == [{"namespace": ns, "with": [other]}], ready
        message = condition(ready, "Ready")["message"]
        assert ns in message and other in message, message
    waiting = wait_for(
        "the object waits, naming both",
        lambda: (
            (c := condition(kube.status("fargatecluster", "waiting"), "Progressing")).get("reason") == "Waiting" and c
        ),
    )
    assert first in waiting["message"] and second in waiting["message"], waiting
    assert not kube.status("fargatecluster", "waiting").get("clusterArn")
    cp.kubectl("delete", "fargateaccount", second)
    _c_served_by_c1(world, accounts)  # created in the remaining account
    assert wait_for(f"{first} serves the namespace", lambda: ns in (account_status(first).get("namespaces") or []))


def test_a_namespace_moved_to_another_account_and_a_role_that_refuses(world: World, accounts: Accounts) -> None:
    """Namespace C's objects live in account 555555555555. Mapping C to another account: the old objects are
    refused (nothing recreated or deleted elsewhere), and a role whose trust policy wants another External ID
    fails the new ones naming the role, until the FargateAccount is fixed."""
    cp, ns, sfx = world.control_plane, accounts.c, accounts.suffix
    _c_served_by_c1(world, accounts)
    account = "444444444444"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": f"right-{sfx}"}},
            }
        ],
    }
    iam = world.ecs.client_as(role_in(account, "admin"), "iam")
    iam.create_role(RoleName=f"fo-{sfx}", AssumeRolePolicyDocument=json.dumps(trust))
    role = role_in(account, f"fo-{sfx}")
    cp.kubectl("delete", "fargateaccount", f"c1-{sfx}")
    refused = manifest(
        "FargateAccount",
        f"d-{sfx}",
        {"roleArn": role, "externalId": f"wrong-{sfx}", "region": REGION, "namespaces": {"names": [ns]}},
    )
    cp.kubectl("apply", "-f", "-", input=yaml.safe_dump(refused))
    kube = accounts.kube(world, ns)
    # The object made in account 555555555555 is not touched in 444444444444.
    kube.apply(
        manifest("FargateCluster", "waiting", {"clusterName": f"waiting-{sfx}", "tags": [{"key": "k", "value": "v"}]})
    )
    moved = wait_for(
        "the old object refused",
        lambda: (c := condition(kube.status("fargatecluster", "waiting"), "Degraded")).get("status") == "True" and c,
    )
    assert "account 555555555555" in moved["message"] and f"account {account}" in moved["message"], moved
    # The FargateAccount says its role cannot be assumed, naming it.
    status = wait_for(
        "the FargateAccount says AssumeRoleFailed",
        lambda: (
            (
                c := condition(
                    json.loads(cp.kubectl("get", "fargateaccount", f"d-{sfx}", "-o", "json").stdout).get("status")
                    or {},
                    "Ready",
                )
            ).get("reason")
            == "AssumeRoleFailed"
            and c
        ),
    )
    assert role in status["message"] and "AccessDenied" in status["message"], status
    # A new object: its condition and Event name the role and the account.
    kube.apply(manifest("FargateCluster", "fresh", {"clusterName": f"fresh-{sfx}"}))
    failing = wait_for(
        "the new object names the role",
        lambda: (
            (c := condition(kube.status("fargatecluster", "fresh"), "Progressing")).get("reason") == "AccessDenied"
            and c
        ),
    )
    assert role in failing["message"] and account in failing["message"], failing
    events = [e.get("message") or e.get("note") or "" for e in kube.events("fresh")]
    assert any(role in e and "AccessDenied" in e for e in events), events
    # Fixed by the admin: the object goes on by itself (no spec change).
    refused["spec"]["externalId"] = f"right-{sfx}"
    cp.kubectl("apply", "-f", "-", input=yaml.safe_dump(refused))
    arn = wait_for(
        "created once the role may be assumed",
        lambda: kube.status("fargatecluster", "fresh").get("clusterArn"),
        timeout=360,
    )
    assert arn == f"arn:aws:ecs:{REGION}:{account}:cluster/fresh-{sfx}"
    in_account = world.ecs.client_as(role_in(account, "reader"))  # the guarded role wants its External ID
    assert in_account.describe_clusters(clusters=[f"fresh-{sfx}"])["clusters"][0]["status"] == "ACTIVE"
    assert not in_account.describe_clusters(clusters=[f"waiting-{sfx}"])["clusters"]  # not recreated here


def test_adapters_act_in_the_account_of_the_credentials_namespace(
    world: World, accounts: Accounts, placed: Placed
) -> None:
    """REST and MCP with a token of a ServiceAccount of namespace A: reads and writes in account A; another
    account's resources (namespace B's) are not found."""
    cp = world.control_plane
    ids.install_roles(cp)
    ids.service_account(cp, accounts.a, "caller", ids.FULL)
    bearer = ids.token(cp, accounts.a, "caller")
    a_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT_A}:cluster/shared-name"
    b_arn = f"arn:aws:ecs:{REGION_B}:{ACCOUNT_B}:cluster/shared-name"
    status, answer = rest(accounts.operator, "DescribeClusters", {"clusters": ["shared-name", b_arn]}, bearer)
    assert status == 200, answer
    assert [c["clusterArn"] for c in answer["clusters"]] == [a_arn]
    assert [f["arn"] for f in answer["failures"]] == [b_arn]
    status, made = rest(accounts.operator, "CreateCluster", {"clusterName": f"rest-{accounts.suffix}"}, bearer)
    assert status == 200, made
    assert made["cluster"]["clusterArn"] == f"arn:aws:ecs:{REGION}:{ACCOUNT_A}:cluster/rest-{accounts.suffix}"
    assert world.ecs.client_as(ROLE_A).describe_clusters(clusters=[f"rest-{accounts.suffix}"])["clusters"]
    assert not world.ecs.client().describe_clusters(clusters=[f"rest-{accounts.suffix}"])["clusters"]
    status, listed = rest(accounts.operator, "ListTaskDefinitions", {}, bearer)
    assert status == 200 and listed["taskDefinitionArns"], listed
    assert all(f":{ACCOUNT_A}:" in arn for arn in listed["taskDefinitionArns"]), listed
    status, described = rest(accounts.operator, "DescribeTaskDefinition", {"taskDefinition": "shared-family"}, bearer)
    assert status == 200 and f":{ACCOUNT_A}:" in described["taskDefinition"]["taskDefinitionArn"], described

    async def work(session: ClientSession) -> tuple[Any, Any]:
        mine = await session.call_tool("describeclusters", {"clusters": ["shared-name"]})
        theirs = await session.call_tool("describeclusters", {"clusters": [b_arn]})
        return mine, theirs

    mine, theirs = mcp(accounts.operator, bearer, work)
    assert not mine.is_error and [c["clusterArn"] for c in mine.structured_content["clusters"]] == [a_arn]
    assert not theirs.is_error and theirs.structured_content["clusters"] == []


def test_tenants_cannot_change_which_account_they_act_in(world: World, accounts: Accounts) -> None:
    """`kubectl auth can-i` as a tenant with edit rights and every example role of the chart in its namespace."""
    cp = world.control_plane
    ids.install_roles(cp)
    tenant = ids.service_account(cp, accounts.a, "tenant", "edit")
    for role in (ids.READ_ONLY, ids.RUN_TASKS, ids.DEPLOY_SERVICES, ids.FULL):
        cp.kubectl("apply", "-f", "-", input=yaml.safe_dump(ids.rolebinding(accounts.a, "tenant", role, accounts.a)))

    def can(*args: str) -> bool:
        res = cp.kubectl("auth", "can-i", *args, "--as", tenant, check=False)
        return res.stdout.strip() == "yes"

    assert can("create", "fargatetasks", "-n", accounts.a)  # the check can say yes: the tenant has its rights
    for verb in ("create", "update", "patch", "delete"):
        assert not can(verb, "fargateaccounts"), verb
        assert not can(verb, f"fargateaccounts/a-{accounts.suffix}"), verb
        assert not can(verb, "fargateaccounts", "--subresource=status"), verb
        assert not can(verb, f"namespaces/{accounts.a}"), verb  # the labels a selector reads
    # The operator's own roles, as shipped: FargateAccounts read, their status written, nothing else of them.
    docs = [d for d in yaml.safe_load_all((REPO / "deploy" / "fargate-operator.yaml").read_text()) if d]
    rules = [r for d in docs if d["kind"] == "ClusterRole" for r in d.get("rules", []) if "fargateaccounts" in str(r)]
    assert rules and all(
        set(r["verbs"]) <= {"get", "list", "watch"} for r in rules if "fargateaccounts" in r["resources"]
    )
    assert any("fargateaccounts/status" in r["resources"] for r in rules), rules  # the next line checks something
    assert all(set(r["verbs"]) <= {"patch"} for r in rules if "fargateaccounts/status" in r["resources"])


def test_the_operator_uses_web_identity_then_assumes_the_mapped_role(
    world: World, accounts: Accounts, tmp_path: Path
) -> None:
    """The operator with AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE (a TokenRequest token from the real API
    server): AssumeRoleWithWebIdentity for its own identity, then AssumeRole for a mapped namespace."""
    cp, sfx = world.control_plane, accounts.suffix
    own_account = "333333333333"
    mapped, plain = f"wi-m-{sfx}", f"wi-u-{sfx}"
    for ns in (mapped, plain):
        cp.kubectl("create", "namespace", ns)
    mapping = manifest(
        "FargateAccount", f"wi-{sfx}", {"roleArn": ROLE_A, "region": REGION, "namespaces": {"names": [mapped]}}
    )
    cp.kubectl("apply", "-f", "-", input=yaml.safe_dump(mapping))
    ids.service_account(cp, "default", f"operator-{sfx}")
    token = ids.token(cp, "default", f"operator-{sfx}", audience="sts.amazonaws.com")
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["aud"] == ["sts.amazonaws.com"] and claims["sub"].endswith(f":operator-{sfx}")
    token_file = tmp_path / "token"
    token_file.write_text(token)
    proxy = EcsProxy(world.ecs.endpoint).start()
    op = OperatorProcess(
        cp,
        proxy.endpoint,
        mapped,
        tmp_path / "operator.log",
        extra_args=("--namespace", plain),
        env={
            "AWS_ACCESS_KEY_ID": "",  # no static keys: boto3's chain goes on to web identity
            "AWS_SECRET_ACCESS_KEY": "",
            "AWS_ROLE_ARN": f"arn:aws:iam::{own_account}:role/fargate-operator",
            "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file),
            "AWS_ROLE_SESSION_NAME": "fargate-operator",
            "AWS_ENDPOINT_URL_STS": proxy.endpoint,
        },
    ).start()
    try:
        op.wait_ready()
        for ns in (mapped, plain):
            accounts.kube(world, ns).apply(manifest("FargateCluster", "c", {"clusterName": f"wi-{sfx}"}))
        arns = {
            ns: wait_for(
                f"{ns} cluster", lambda n=ns: accounts.kube(world, n).status("fargatecluster", "c").get("clusterArn")
            )
            for ns in (mapped, plain)
        }
    finally:
        op.stop()
        proxy.stop()
        cp.kubectl("delete", "fargateaccount", f"wi-{sfx}", "--ignore-not-found")
    assert arns[plain] == f"arn:aws:ecs:{REGION}:{own_account}:cluster/wi-{sfx}", arns
    assert arns[mapped] == f"arn:aws:ecs:{REGION}:{ACCOUNT_A}:cluster/wi-{sfx}", arns
    assert proxy.calls["sts:AssumeRoleWithWebIdentity"] >= 1, proxy.calls
    # Chained from the web identity: the mapped namespace's session (the others are this operator's checks of
    # the module's other FargateAccounts, whose status every operator keeps).
    assert proxy.sessions[(ROLE_A, f"fargate-operator.wi-{sfx}")] == 1, proxy.sessions
    assert world.ecs.client_as(f"arn:aws:iam::{own_account}:role/x").describe_clusters(clusters=[f"wi-{sfx}"])[
        "clusters"
    ]


def test_a_namespace_applied_with_its_objects_acts_in_the_account_its_labels_select(
    world: World, accounts: Accounts, tmp_path: Path
) -> None:
    """A Namespace and its objects in one apply (Argo CD's CreateNamespace=true): the operator's watches of
    the objects and of Namespaces are separate streams, so it may see the objects first. Made certain here:
    an operator whose Namespace watch passes an API proxy that holds its events back. Its FargateCluster must
    wait for the labels -- which select FargateAccount b, account B -- not act in the operator's own account."""
    cp = world.control_plane
    assert cp.workdir is not None
    pki = cp.workdir / "pki"
    api = ApiProxy(cp.url, pki / "ca.crt", pki / "apiserver.crt", pki / "apiserver.key").start()
    ns, name = f"acct-n-{accounts.suffix}", f"fresh-{accounts.suffix}"
    op = OperatorProcess(
        proxied_control_plane(cp, api, tmp_path / "kubeconfig"),
        accounts.proxy.endpoint,
        ns,  # not there yet: its objects come with it
        tmp_path / "operator.log",
        env={"AWS_ENDPOINT_URL_STS": accounts.proxy.endpoint},
    )
    kube = accounts.kube(world, ns)
    try:
        op.start().wait_ready()
        # The watch cache's stream (urllib3), not Kopf's own Namespace watch: Kopf must see the Namespace to
        # watch the objects in it at all.
        api.hold("/api/v1/namespaces", user_agent="python-urllib3")
        namespace = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": ns, "labels": {"aws-account": f"b-{accounts.suffix}"}},
        }
        cluster = manifest("FargateCluster", "c", {"clusterName": name})
        cluster["metadata"]["namespace"] = ns
        cp.kubectl("apply", "-f", "-", input=yaml.safe_dump_all([namespace, cluster]))
        wait_for(
            "the Namespace's watch event held at the API proxy",
            lambda: any(e.get("object", {}).get("metadata", {}).get("name") == ns for e in api.held),
        )
        handled = wait_for(
            "the FargateCluster handled while its Namespace is unknown to the operator",
            lambda: (
                (c := condition(kube.status("fargatecluster", "c"), "Ready"))
                and (c.get("status") == "True" or c.get("reason") == "Waiting")
                and c
            ),
            timeout=60,
        )
        api.release()
        status = wait_for(
            "the FargateCluster Ready",
            lambda: (s := kube.status("fargatecluster", "c")) and condition(s, "Ready").get("status") == "True" and s,
            timeout=60,
        )
        assert (status["accountId"], status["region"]) == (ACCOUNT_B, REGION_B), (handled, status)
        assert status["clusterArn"] == f"arn:aws:ecs:{REGION_B}:{ACCOUNT_B}:cluster/{name}"
        assert "is not in the operator's watch cache yet" in handled["message"], handled
        own = world.ecs.client("ecs", REGION).describe_clusters(clusters=[name])["clusters"]
        assert [c for c in own if c["status"] == "ACTIVE"] == [], "nothing made in the operator's own account"
        # And it goes as it came: deleted in account B.
        kube.delete("fargatecluster", "c", wait=True)
        in_b = world.ecs.client_as(ROLE_B, "ecs", REGION_B).describe_clusters(clusters=[name])["clusters"]
        assert [c["status"] for c in in_b] == ["INACTIVE"]
    finally:
        op.stop()
        api.stop()
        cp.kubectl("delete", "namespace", ns, "--wait=false", "--ignore-not-found")
