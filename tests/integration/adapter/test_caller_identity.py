"""The front doors act as the caller. Kubernetes identities and RBAC decide, the audit log names the caller.

Everything real: kube-apiserver with RBAC and an audit policy (devenv/control_plane.py), tokens from
the TokenRequest API (what a projected ServiceAccount token volume holds), the operator as a
process, the REST adapter over raw HTTP and boto3, MCP through the official client. The roles are
the chart's example ClusterRoles as shipped. Callers, in namespace A (`namespace`):
- `ro`: bound to agent-read-only; `runner`: bound to agent-run-tasks; `nobody`: bound to nothing.
Namespace B (`other_namespace`) holds objects none of them may see.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import httpx2
import pytest
import yaml
from botocore.exceptions import ClientError
from mcp import ClientSession

from fargate_devenv.control_plane import ADMIN_USER
from fargate_devenv.ecs_emulator import REGION, Network
from fargate_devenv.world import World
from fargate_operator.web.auth import CREDENTIAL_LABEL
from support import identity as ids
from support.adapter import mcp, rest
from support.operator_process import (
    Kube,
    OperatorProcess,
    awsvpc,
    condition,
    manifest,
    task_definition_spec,
    wait_for,
)

READS = {
    "DescribeClusters",
    "DescribeTaskDefinition",
    "ListTaskDefinitions",
    "DescribeTasks",
    "ListTasks",
    "DescribeServices",
    "ListServices",
    "ListServiceDeployments",
    "DescribeServiceDeployments",
}
ALLOWED = {"ro": READS, "runner": READS | {"RunTask", "StopTask"}, "nobody": set()}
# The verb and resource a refusal must name (docs/acting-as-the-caller.md).
NEEDS = {
    "CreateCluster": ("create", "fargateclusters"),
    "DescribeClusters": ("get", "fargateclusters"),
    "RegisterTaskDefinition": ("create", "fargatetaskdefinitions"),
    "DescribeTaskDefinition": ("get", "fargatetaskdefinitions"),
    "ListTaskDefinitions": ("list", "fargatetaskdefinitions"),
    "DeregisterTaskDefinition": ("patch", "fargatetaskdefinitions"),
    "RunTask": ("create", "fargatetasks"),
    "StopTask": ("patch", "fargatetasks"),
    "DescribeTasks": ("get", "fargatetasks"),
    "ListTasks": ("list", "fargatetasks"),
    "CreateService": ("create", "fargateservices"),
    "UpdateService": ("patch", "fargateservices"),
    "DeleteService": ("delete", "fargateservices"),
    "DescribeServices": ("get", "fargateservices"),
    "ListServices": ("list", "fargateservices"),
    "ExecuteCommand": ("create", "fargatetasks/exec"),
    "ContinueServiceDeployment": ("patch", "fargateservices"),
    "StopServiceDeployment": ("patch", "fargateservices"),
    "ListServiceDeployments": ("list", "fargateservices"),
    "DescribeServiceDeployments": ("get", "fargateservices"),
}


@dataclass
class Site:
    """What one namespace holds, made by the admin with kubectl: a cluster, a family, a service, a task."""

    namespace: str
    cluster: str
    family: str
    service: str
    task_arn: str
    net: dict[str, Any]


@dataclass
class Tenants:
    a: Site
    b: Site
    users: dict[str, str]  # caller -> Kubernetes user name
    tokens: dict[str, str]  # caller -> TokenRequest token, audience fargate-operator
    runs: dict[str, list[str]] = field(default_factory=dict)  # task ARNs the callers started


def _site(world: World, ns: str, suffix: str, network: Network) -> Site:
    kube = Kube(world.control_plane, ns)
    net = awsvpc(network.subnet_id, network.security_group_id)
    cluster, family = f"id-{suffix}", f"id-{suffix}"
    kube.apply(manifest("FargateCluster", "c", {"clusterName": cluster}))
    kube.apply(manifest("FargateTaskDefinition", "td", task_definition_spec(family)))
    spec = {"serviceName": "web", "clusterRef": {"name": "c"}, "taskDefinitionRef": {"name": "td"}}
    kube.apply(manifest("FargateService", "web", {**spec, "desiredCount": 1, "networkConfiguration": net}))
    task = {"clusterRef": {"name": "c"}, "taskDefinitionRef": {"name": "td"}, "networkConfiguration": net}
    kube.apply(manifest("FargateTask", "job", {**task, "launchType": "FARGATE"}))
    wait_for("cluster Ready", lambda: condition(kube.status("fargatecluster", "c"), "Ready").get("status") == "True")
    wait_for("service created", lambda: kube.status("fargateservice", "web").get("serviceArn"))
    tasks = wait_for("task started", lambda: kube.status("fargatetask", "job").get("tasks"))
    return Site(ns, cluster, family, "web", tasks[0]["taskArn"], net)


@pytest.fixture(scope="module")
def tenants(
    world: World,
    adapter: OperatorProcess,
    namespace: str,
    other_namespace: str,
    network: Network,
    credentials: dict[str, dict[str, str]],  # installs the chart's example roles
) -> Tenants:
    cp = world.control_plane
    users = {
        "ro": ids.service_account(cp, namespace, "ro", ids.READ_ONLY),
        "runner": ids.service_account(cp, namespace, "runner", ids.RUN_TASKS),
        "nobody": ids.service_account(cp, namespace, "nobody"),
    }
    tokens = {who: ids.token(cp, namespace, who) for who in users}
    suffix = namespace.rsplit("-", 1)[-1]
    return Tenants(
        _site(world, namespace, f"a{suffix}", network),
        _site(world, other_namespace, f"b{suffix}", network),
        users,
        tokens,
    )


def requests_for(site: Site, suffix: str, task_arn: str) -> dict[str, dict[str, Any]]:
    """One request per operation, each aimed at `site`'s objects (StopTask and ExecuteCommand at `task_arn`)."""
    c = site.cluster
    td = task_definition_spec(f"new-{suffix}")
    # A deployment of the site's service that ECS never made: reads answer it MISSING, steering is refused first.
    deployment = f"arn:aws:ecs:us-east-1:000000000000:service-deployment/{c}/{site.service}/none{suffix}"
    return {
        "CreateCluster": {"clusterName": f"new-{suffix}"},
        "DescribeClusters": {"clusters": [c]},
        "RegisterTaskDefinition": {**td, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"]},
        "DescribeTaskDefinition": {"taskDefinition": site.family},
        "ListTaskDefinitions": {},
        "DeregisterTaskDefinition": {"taskDefinition": f"{site.family}:1"},
        "RunTask": {
            "cluster": c,
            "taskDefinition": site.family,
            "launchType": "FARGATE",
            "networkConfiguration": site.net,
            "clientToken": f"run-{suffix}",
        },
        "StopTask": {"cluster": c, "task": task_arn},
        "DescribeTasks": {"cluster": c, "tasks": [site.task_arn]},
        "ListTasks": {"cluster": c},
        "CreateService": {
            "cluster": c,
            "serviceName": f"new-{suffix}",
            "taskDefinition": site.family,
            "desiredCount": 0,
            "networkConfiguration": site.net,
        },
        "UpdateService": {"cluster": c, "service": site.service, "desiredCount": 2},
        "DeleteService": {"cluster": c, "service": site.service, "force": True},
        "DescribeServices": {"cluster": c, "services": [site.service]},
        "ListServices": {"cluster": c},
        "ExecuteCommand": {"cluster": c, "task": site.task_arn, "command": "ls", "interactive": True},
        "ContinueServiceDeployment": {"serviceDeploymentArn": deployment, "hookId": "none"},
        "StopServiceDeployment": {"serviceDeploymentArn": deployment},
        "ListServiceDeployments": {"cluster": c, "service": site.service},
        "DescribeServiceDeployments": {"serviceDeploymentArns": [deployment]},
    }


def refusal_names_verb_and_resource(message: str, operation: str, user: str, namespace: str) -> bool:
    verb, resource = NEEDS[operation]
    return f'User "{user}" cannot {verb} resource "{resource}"' in message and f'namespace "{namespace}"' in message


def test_three_service_accounts_get_exactly_what_their_roles_allow_over_rest(
    adapter: OperatorProcess, tenants: Tenants
) -> None:
    """Tokens from TokenRequest; every operation for each: refusals are AccessDeniedException naming verb and resource."""
    a = tenants.a
    for who, allowed in ALLOWED.items():
        requests = requests_for(a, f"rest-{who}", a.task_arn)
        order = ["RunTask", *[op for op in requests if op != "RunTask"]]  # the runner stops what it ran
        for operation in order:
            params = requests[operation]
            if operation == "StopTask" and tenants.runs.get(f"rest-{who}"):
                params = {**params, "task": tenants.runs[f"rest-{who}"][0]}
            status, answer = rest(adapter, operation, params, tenants.tokens[who])
            assert status < 500, (who, operation, answer)
            if operation in allowed:
                assert status == 200, (who, operation, answer)
                if operation == "RunTask":
                    tenants.runs[f"rest-{who}"] = [t["taskArn"] for t in answer["tasks"]]
            else:
                assert (status, answer["__type"]) == (403, "AccessDeniedException"), (who, operation, answer)
                message = answer["message"]
                assert refusal_names_verb_and_resource(message, operation, tenants.users[who], a.namespace), message
    described = {"cluster": a.cluster, "tasks": tenants.runs["rest-runner"]}
    wait_for(
        "the runner's StopTask stopped its own task",
        lambda: (
            rest(adapter, "DescribeTasks", described, tenants.tokens["ro"])[1]["tasks"][0]["desiredStatus"] == "STOPPED"
        ),
    )


def test_three_service_accounts_get_exactly_what_their_roles_allow_over_mcp(
    adapter: OperatorProcess, tenants: Tenants
) -> None:
    """tools/list shows exactly the permitted tools (annotations unchanged); a call of any other is isError naming
    the missing verb and resource."""
    a = tenants.a
    for who, allowed in ALLOWED.items():
        requests = requests_for(a, f"mcp-{who}", a.task_arn)

        async def work(s: ClientSession, requests: dict[str, dict[str, Any]] = requests) -> tuple[Any, dict[str, Any]]:
            listed = await s.list_tools()
            results: dict[str, Any] = {}
            for operation in ["RunTask", *[op for op in requests if op != "RunTask"]]:
                params = requests[operation]
                if operation == "StopTask" and "RunTask" in results and not results["RunTask"].is_error:
                    params = {**params, "task": results["RunTask"].structured_content["tasks"][0]["taskArn"]}
                results[operation] = await s.call_tool(operation.lower(), params)
            return listed, results

        listed, results = mcp(adapter, tenants.tokens[who], work)
        logs = {"gettasklogs"} if who == "runner" else set()  # the run-tasks role reads its tasks' logs
        assert {t.name for t in listed.tools} == {op.lower() for op in allowed} | logs, who
        for tool in listed.tools:
            assert tool.annotations.read_only_hint == (tool.title in READS or tool.name in logs), tool.name
            assert tool.annotations.destructive_hint == (tool.title == "StopTask"), tool.name
        for operation, result in results.items():
            text = result.content[0].text if result.content else ""
            if operation in allowed:
                assert not result.is_error, (who, operation, text)
            else:
                assert result.is_error and text.startswith("AccessDeniedException"), (who, operation, text)
                assert refusal_names_verb_and_resource(text, operation, tenants.users[who], a.namespace), text


def _created_by(cp: Any, kind_plural: str, name: str, since: float) -> list[dict[str, Any]]:
    return [
        e
        for e in ids.audit_events(cp, since)
        if e.get("verb") == "create"
        and e.get("objectRef", {}).get("resource") == kind_plural
        and e.get("objectRef", {}).get("name") == name
        and e.get("stage") == "ResponseComplete"
    ]


def _object_of(kube: Kube, task_arn: str) -> str:
    items = json.loads(kube.cp.kubectl("get", "fargatetasks", "-n", kube.namespace, "-o", "json").stdout)["items"]
    (name,) = [
        o["metadata"]["name"] for o in items if any(t.get("taskArn") == task_arn for t in o["status"].get("tasks", []))
    ]
    return name


def test_the_audit_log_names_the_caller_of_a_fargatetask_create_through_each_front_door(
    world: World, adapter: OperatorProcess, tenants: Tenants, unique: str
) -> None:
    """The create is made by the operator impersonating the caller: the API server authorizes it by the caller's
    RoleBinding and records the caller as the user the request acted as (`impersonatedUser`)."""
    cp, a = world.control_plane, tenants.a
    kube = Kube(cp, a.namespace)
    since = time.time() - 1
    params = {"cluster": a.cluster, "taskDefinition": a.family, "launchType": "FARGATE", "networkConfiguration": a.net}
    status, answer = rest(
        adapter, "RunTask", {**params, "clientToken": f"audit-rest-{unique}"}, tenants.tokens["runner"]
    )
    assert status == 200, answer
    via_rest = _object_of(kube, answer["tasks"][0]["taskArn"])

    async def run(s: ClientSession) -> Any:
        return await s.call_tool("runtask", {**params, "clientToken": f"audit-mcp-{unique}"})

    result = mcp(adapter, tenants.tokens["runner"], run)
    assert not result.is_error, result.content
    via_mcp = _object_of(kube, result.structured_content["tasks"][0]["taskArn"])

    runner = tenants.users["runner"]
    for door, name in (("REST", via_rest), ("MCP", via_mcp)):
        (event,) = wait_for(
            f"the audit event of the {door} create", lambda n=name: _created_by(cp, "fargatetasks", n, since)
        )
        assert event["impersonatedUser"]["username"] == runner, (door, event)
        assert event["user"]["username"] == ADMIN_USER, "the operator authenticated; the caller acted"
        assert event["annotations"]["authorization.k8s.io/decision"] == "allow"
        reason = event["annotations"]["authorization.k8s.io/reason"]
        assert f"{ids.RUN_TASKS}" in reason and 'ServiceAccount "runner/' in reason, reason
        obj = kube.get("fargatetask", name) or {}
        assert obj["metadata"]["namespace"] == a.namespace


def _bad_calls(adapter: OperatorProcess, bad: str) -> tuple[tuple[int, dict[str, Any]], httpx2.Response]:
    rest_answer = rest(adapter, "DescribeClusters", {"clusters": ["x"]}, bad)
    mcp_answer = httpx2.post(
        adapter.mcp_endpoint,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Authorization": f"Bearer {bad}", "Accept": "application/json, text/event-stream"},
        timeout=30,
    )
    return rest_answer, mcp_answer


def test_bad_service_account_tokens_are_refused_and_nothing_acts_as_the_operator(
    world: World, adapter: OperatorProcess, namespace: str, tenants: Tenants, unique: str
) -> None:
    cp = world.control_plane
    gone = f"gone-{unique}"
    ids.service_account(cp, namespace, gone, ids.READ_ONLY)
    gone_token = ids.token(cp, namespace, gone)
    assert rest(adapter, "DescribeClusters", {"clusters": [tenants.a.cluster]}, gone_token)[0] == 200
    valid = tenants.tokens["ro"]
    # The control: the same token signed again with a later `exp` is accepted; with an `exp` past, refused.
    assert (
        rest(
            adapter, "ListTasks", {"cluster": tenants.a.cluster}, ids.resigned(cp, valid, exp=int(time.time()) + 3600)
        )[0]
        == 200
    )
    bad = {
        "wrong audience": ids.token(cp, namespace, "ro", audience="https://kubernetes.default.svc"),
        "another service's audience": ids.token(cp, namespace, "ro", audience="vault"),
        "expired": ids.resigned(
            cp, valid, exp=int(time.time()) - 600, iat=int(time.time()) - 4200, nbf=int(time.time()) - 4200
        ),
        "deleted ServiceAccount": gone_token,
    }
    cp.kubectl("delete", "serviceaccount", gone, "-n", namespace)
    # Refused within 15 s: kube-apiserver keeps a successful token authentication 10 s (its own cache,
    # BuiltInAuthenticationOptions.TokenSuccessCacheTTL), then the operator keeps the answer 5 s.
    deleted = time.monotonic()
    wait_for("the deleted ServiceAccount's token refused", lambda: _bad_calls(adapter, gone_token)[0][0] == 403, 20)
    assert time.monotonic() - deleted < 16
    since = time.time()
    metadata_url = adapter.mcp_endpoint.replace("/mcp", "/.well-known/oauth-protected-resource/mcp")
    for what, token in bad.items():
        (status, answer), answer_mcp = _bad_calls(adapter, token)
        assert (status, answer.get("__type")) == (403, "UnrecognizedClientException"), (what, answer)
        assert answer_mcp.status_code == 401, (what, answer_mcp.text)
        challenge = answer_mcp.headers["www-authenticate"]
        assert challenge.startswith("Bearer ") and f'resource_metadata="{metadata_url}"' in challenge, challenge
    time.sleep(0.5)
    events = ids.audit_events(cp, since)
    reviews = [e for e in events if e["objectRef"]["resource"] == "tokenreviews"]
    acting = [e for e in events if e["objectRef"]["resource"] != "tokenreviews" and e.get("impersonatedUser")]
    authorizing = [e for e in events if e["objectRef"]["resource"] == "subjectaccessreviews"]
    assert reviews and all(e["user"]["username"] == ADMIN_USER for e in reviews), "the operator asked who, nothing more"
    assert not acting and not authorizing, (acting, authorizing)


def test_cross_namespace_a_caller_of_a_sees_nothing_of_b_over_both_front_doors(
    adapter: OperatorProcess, tenants: Tenants, credentials: dict[str, dict[str, str]]
) -> None:
    a, b, ro = tenants.a, tenants.b, tenants.tokens["ro"]
    # Addressing B explicitly: every read is refused, naming B.
    for operation, params in requests_for(b, "x", b.task_arn).items():
        if operation not in READS:
            continue
        status, answer = rest(adapter, operation, params, ro, namespace=b.namespace)
        assert (status, answer["__type"]) == (403, "AccessDeniedException"), (operation, answer)
        assert refusal_names_verb_and_resource(answer["message"], operation, tenants.users["ro"], b.namespace)
    # In A (its own), B's names and ARNs lead nowhere.
    assert rest(adapter, "DescribeClusters", {"clusters": [b.cluster]}, ro)[1]["failures"][0]["reason"] == "MISSING"
    cluster_arn_b = b.task_arn.replace(":task/", ":cluster/").rsplit("/", 1)[0]
    assert rest(adapter, "DescribeTasks", {"cluster": cluster_arn_b, "tasks": [b.task_arn]}, ro)[1]["__type"] == (
        "ClusterNotFoundException"
    )
    listed = rest(adapter, "ListTaskDefinitions", {}, ro)[1]["taskDefinitionArns"]
    assert listed and not [arn for arn in listed if f"/{b.family}:" in arn]

    async def look(s: ClientSession) -> tuple[Any, ...]:
        resources = await s.list_resources()
        refused: list[str | None] = []
        for uri in (f"fargate://{b.namespace}/fargateclusters", f"fargate://{b.namespace}/fargatetasks/job"):
            try:
                await s.read_resource(uri)
                refused.append(None)
            except Exception as exc:  # the SDK raises the server's JSON-RPC error
                refused.append(str(exc))
        described = await s.call_tool("describeclusters", {"clusters": [b.cluster]})
        return resources, refused, described

    resources, refused, described = mcp(adapter, ro, look)
    uris = [str(r.uri) for r in resources.resources]
    assert uris and all(u.startswith(f"fargate://{a.namespace}/") for u in uris), uris
    assert all(r and "AccessDeniedException" in r and b.namespace in r for r in refused), refused
    assert described.structured_content["failures"][0]["reason"] == "MISSING"

    async def in_b(s: ClientSession) -> tuple[Any, Any]:
        return await s.list_tools(), await s.call_tool("describeclusters", {"clusters": [b.cluster]})

    tools, call = mcp(adapter, ro, in_b, namespace=b.namespace)
    assert tools.tools == [], "no tool may be used in B"
    assert call.is_error and "AccessDeniedException" in call.content[0].text and b.namespace in call.content[0].text

    # A key (SigV4) naming B signs the header; one that adds it unsigned is refused, not redirected.
    for event, code in (("before-sign", "AccessDeniedException"), ("before-send", "InvalidSignatureException")):
        client = _key_client(adapter, credentials["writer"])
        client.meta.events.register(
            f"{event}.ecs.*", lambda request, **_: request.headers.__setitem__("X-Fargate-Namespace", b.namespace)
        )
        with pytest.raises(ClientError) as err:
            client.describe_clusters(clusters=[b.cluster])
        assert err.value.response["Error"]["Code"] == code, (event, err.value.response)


def _key_client(adapter: OperatorProcess, key: dict[str, str]) -> Any:
    return boto3.client(
        "ecs",
        endpoint_url=adapter.rest_endpoint,
        region_name=REGION,
        aws_access_key_id=key["accessKeyId"],
        aws_secret_access_key=key["secretAccessKey"],
    )


def test_mcp_serves_protected_resource_metadata_naming_the_audience(adapter: OperatorProcess) -> None:
    url = adapter.mcp_endpoint.replace("/mcp", "/.well-known/oauth-protected-resource/mcp")
    with urllib.request.urlopen(url, timeout=10) as resp:
        metadata = json.loads(resp.read())
    assert metadata["resource"] == adapter.mcp_endpoint
    assert metadata["token_audiences"] == ["fargate-operator"]
    assert metadata["authorization_servers"] == ["https://kubernetes.default.svc"], "the ServiceAccount token issuer"
    assert metadata["bearer_methods_supported"] == ["header"]
    missing = httpx2.post(adapter.mcp_endpoint, json={}, headers={"Accept": "application/json, text/event-stream"})
    assert missing.status_code == 401 and f'resource_metadata="{url}"' in missing.headers["www-authenticate"]


def _key(world: World, namespace: str, name: str, data: dict[str, str]) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "labels": {CREDENTIAL_LABEL: "true"}},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }
    world.control_plane.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(secret))


def test_keys_act_as_their_user_and_read_only_only_narrows(
    world: World, adapter: OperatorProcess, namespace: str, tenants: Tenants, unique: str
) -> None:
    """A Secret-bound key acts as the user it names: RBAC decides, `readOnly` can only take away."""
    _key(world, namespace, f"as-runner-{unique}", {"token": f"as-runner-{unique}", "user": tenants.users["runner"]})
    _key(
        world,
        namespace,
        f"narrowed-{unique}",
        {"token": f"narrowed-{unique}", "user": tenants.users["runner"], "readOnly": "true"},
    )
    _key(world, namespace, f"no-user-{unique}", {"token": f"no-user-{unique}", "namespace": namespace})
    a = tenants.a
    run = {"cluster": a.cluster, "taskDefinition": a.family, "launchType": "FARGATE", "networkConfiguration": a.net}
    # An unknown token re-reads the Secrets (at most once a second): once one key is known, the adapter
    # has read all three (applied before), so the no-user key below is refused knowingly.
    wait_for(
        "the adapter knows the new keys",
        lambda: rest(adapter, "ListTasks", {"cluster": a.cluster}, f"narrowed-{unique}")[0] == 200,
        timeout=15,
    )
    status, answer = rest(adapter, "RunTask", {**run, "clientToken": f"key-{unique}"}, f"as-runner-{unique}")
    assert status == 200, answer
    status, answer = rest(adapter, "CreateCluster", {"clusterName": f"k-{unique}"}, f"as-runner-{unique}")
    assert status == 403 and 'cannot create resource "fargateclusters"' in answer["message"], "its user may not"
    status, answer = rest(adapter, "RunTask", {**run, "clientToken": f"narrow-{unique}"}, f"narrowed-{unique}")
    assert status == 403 and "read-only" in answer["message"], answer
    assert rest(adapter, "ListTasks", {"cluster": a.cluster}, f"narrowed-{unique}")[0] == 200
    status, answer = rest(adapter, "ListTasks", {"cluster": a.cluster}, f"no-user-{unique}")
    assert (status, answer["__type"]) == (403, "UnrecognizedClientException"), "a key naming no user is no key"
    events = wait_for(
        "the Warning Event on the key without a user",
        lambda: [
            e for e in Kube(world.control_plane, namespace).events(f"no-user-{unique}") if "'user'" in e["message"]
        ],
    )
    assert events[0]["reason"] == "InvalidCredential"


def test_a_changed_rolebinding_takes_effect_within_the_cache_ttl(
    world: World, adapter: OperatorProcess, namespace: str, tenants: Tenants
) -> None:
    cp, a = world.control_plane, tenants.a
    nobody = tenants.tokens["nobody"]
    assert rest(adapter, "ListServices", {"cluster": a.cluster}, nobody)[0] == 403
    binding = ids.rolebinding(namespace, "nobody", ids.READ_ONLY, namespace)
    cp.kubectl("apply", "-f", "-", input=yaml.safe_dump(binding))
    try:
        started = time.monotonic()
        wait_for(
            "the new binding in force",
            lambda: rest(adapter, "ListServices", {"cluster": a.cluster}, nobody)[0] == 200,
            timeout=15,
        )
        assert time.monotonic() - started < 7, "a refusal is kept at most 5 s"
    finally:
        cp.kubectl("delete", "rolebinding", binding["metadata"]["name"], "-n", namespace)
    wait_for(
        "the binding's removal in force",
        lambda: rest(adapter, "ListServices", {"cluster": a.cluster}, nobody)[0] == 403,
        timeout=15,
    )


@pytest.fixture(scope="module", autouse=True)
def _no_secret_or_token_in_the_log(adapter: OperatorProcess, tenants: Tenants) -> Iterator[None]:
    yield
    log = adapter.log_text()
    leaked = [who for who, token in tenants.tokens.items() if token[:40] in log]
    assert not leaked, leaked
