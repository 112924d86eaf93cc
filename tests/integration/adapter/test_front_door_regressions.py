"""Front-door regressions through the real adapter: SigV4, bearer tokens and credential Secrets,
service tasks of another namespace, task definitions as ECS registered them, RunTask failures, StopTask.

Real kube-apiserver, the operator as a process, moto over HTTP behind an ECS proxy (which
can hold an answer back), boto3 or raw HTTP as the client. The adapter here waits at most
ADAPTER_WAIT seconds for the operator, and the module's boto3 clients never retry, so a
write that stalls until the wait runs out fails with ServerException instead of passing slowly.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from fargate_devenv.ecs_emulator import REGION, Network
from fargate_devenv.ecs_proxy import EcsProxy
from fargate_devenv.world import World
from fargate_operator.web.auth import CREDENTIAL_LABEL
from support.operator_process import Kube, OperatorProcess, awsvpc, condition, manifest, wait_for

ADAPTER_WAIT = 10


# The admin shares the tenant-b-* clusters (tenancy config), so team-a may run a service in team-b's cluster.
TENANCY_CONFIG = """
clusters:
  - namespaces: ["*"]
    names: ["tenant-b-*"]
"""


@pytest.fixture(scope="module")
def ecs_proxy(world: World) -> Iterator[EcsProxy]:
    proxy = EcsProxy(world.ecs.endpoint).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def ecs_for(adapter: OperatorProcess, credentials: dict[str, dict[str, str]]) -> Callable[[str], Any]:
    """boto3 on the adapter with no retry at all: a stalled answer must show, not be retried into success.

    (`retries={"max_attempts": 1}` still allows one retry: botocore counts retries there.)
    """

    def make(who: str) -> Any:
        cred = credentials[who]
        return boto3.client(
            "ecs",
            endpoint_url=adapter.rest_endpoint,
            region_name=REGION,
            aws_access_key_id=cred["accessKeyId"],
            aws_secret_access_key=cred["secretAccessKey"],
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=60),
        )

    return make


@pytest.fixture(scope="module")
def adapter_ecs_endpoint(ecs_proxy: EcsProxy) -> str:
    """This module's operator reaches ECS through a proxy that can hold an answer back."""
    return ecs_proxy.endpoint


def container(image: str = "busybox") -> list[dict[str, Any]]:
    return [{"name": "app", "image": image, "memory": 256, "essential": True}]


def fargate_family(ecs: Any, family: str, **extra: Any) -> str:
    """Register a Fargate task definition through the adapter; its revision ARN."""
    arn: str = ecs.register_task_definition(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=container(),
        **extra,
    )["taskDefinition"]["taskDefinitionArn"]
    return arn


def task_object(kube: Kube, task_arn: str) -> dict[str, Any] | None:
    """The FargateTask whose status holds `task_arn`."""
    out = kube.cp.kubectl("get", "fargatetasks", "-n", kube.namespace, "-o", "json").stdout
    return next(
        (
            o
            for o in json.loads(out)["items"]
            if any(t.get("taskArn") == task_arn for t in o.get("status", {}).get("tasks", []))
        ),
        None,
    )


def ecs_task(world: World, cluster: str, arn: str) -> dict[str, Any]:
    task: dict[str, Any] = world.ecs.client().describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
    return task


def test_stoptask_stops_only_the_named_task(
    world: World, ecs_for: Callable[[str], Any], namespace: str, network: Network, unique: str
) -> None:
    """RunTask count=2, StopTask of the first: only the first is stopped in ECS, with its own reason.

    ECS StopTask stops "a running task" (botocore model, StopTask documentation): one task per call.
    """
    ecs, kube = ecs_for("writer"), Kube(world.control_plane, namespace)
    cluster, family = f"stop-{unique}", f"stopfam-{unique}"
    ecs.create_cluster(clusterName=cluster)
    fargate_family(ecs, family)
    net = awsvpc(network.subnet_id, network.security_group_id)
    run = ecs.run_task(cluster=cluster, taskDefinition=family, count=2, launchType="FARGATE", networkConfiguration=net)
    first, second = sorted(t["taskArn"] for t in run["tasks"])
    obj, other = task_object(kube, first), task_object(kube, second)
    assert obj is not None and other is not None
    name = obj["metadata"]["name"]
    assert other["metadata"]["name"] == name, "one FargateTask holds both tasks"

    answer = ecs.stop_task(cluster=cluster, task=first, reason="only the first")
    assert answer["task"]["taskArn"] == first and answer["task"]["desiredStatus"] == "STOPPED"
    wait_for("first task stopped in ECS", lambda: ecs_task(world, cluster, first)["desiredStatus"] == "STOPPED")
    # The handler posts its Event after all its StopTask calls: by then a wrong stop has happened.
    wait_for("Stopped event", lambda: any(e["reason"] == "Stopped" for e in kube.events(name)))
    assert ecs_task(world, cluster, second)["desiredStatus"] == "RUNNING", "StopTask of one task stopped the other"
    assert ecs_task(world, cluster, first)["stoppedReason"] == "only the first"

    ecs.stop_task(cluster=cluster, task=second.rsplit("/", 1)[-1], reason="now the second")  # by task id, as ECS allows
    wait_for("second task stopped in ECS", lambda: ecs_task(world, cluster, second)["desiredStatus"] == "STOPPED")
    assert ecs_task(world, cluster, second)["stoppedReason"] == "now the second"
    assert ecs_task(world, cluster, first)["stoppedReason"] == "only the first"


def test_register_waits_on_its_own_generation_not_a_stale_digest(
    world: World, ecs_for: Callable[[str], Any], ecs_proxy: EcsProxy, namespace: str, unique: str
) -> None:
    """RegisterTaskDefinition omitting CRD-defaulted members answers as soon as its generation is registered.

    Before the fix the adapter waited for a hash computed from the watch cache's snapshot merged
    with the request. When the snapshot is older than the adapter's own write (the cache lags under
    load: on `make run` this took the full 30 s), the hash names content nobody registers and the
    answer only comes when the wait runs out. The proxy makes the lag certain: it holds the answer of
    the operator's RegisterTaskDefinition for another writer's change while the adapter writes, so the
    object's watch events queue behind that handler.
    """
    ecs, kube = ecs_for("writer"), Kube(world.control_plane, namespace)
    family = f"nodefaults-{unique}"
    base = dict(family=family, cpu="256", memory="512")  # no requiresCompatibilities, no networkMode
    first = ecs.register_task_definition(**base, containerDefinitions=container(), volumes=[{"name": "scratch"}])
    assert first["taskDefinition"]["revision"] == 1
    obj = wait_for("the family's object", lambda: kube.get("fargatetaskdefinition", family))

    ecs_proxy.hold_response("RegisterTaskDefinition")
    answer: dict[str, Any] = {}
    try:
        patch = {"spec": {"containerDefinitions": container("busybox:2")}}  # another writer, e.g. GitOps
        kube.cp.kubectl(
            "patch",
            "fargatetaskdefinition",
            obj["metadata"]["name"],
            "-n",
            namespace,
            "--type=merge",
            "-p",
            json.dumps(patch),
        )
        assert ecs_proxy.held.wait(30), "the operator registers the other writer's change"

        def register() -> None:
            try:
                answer["ok"] = ecs.register_task_definition(**base, containerDefinitions=container("busybox:3"))
            except Exception as exc:
                answer["error"] = exc

        writer = threading.Thread(target=register)
        writer.start()
        time.sleep(1.5)  # the adapter has written its generation and computed what it waits for
    finally:
        ecs_proxy.release()
    writer.join(ADAPTER_WAIT + 30)
    assert "error" not in answer, f"RegisterTaskDefinition failed: {answer.get('error')}"
    registered = answer["ok"]["taskDefinition"]
    assert registered["revision"] == 3
    assert registered["containerDefinitions"][0]["image"] == "busybox:3"
    assert not registered.get("volumes"), "the request replaced the whole definition"


# -- SigV4 -----------------------------------------------------------------------------------------


class SignsListedHeaders(SigV4Auth):
    """botocore's signer, signing every header given, user-agent included (as the Java SDK v1 does)."""

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        signed = HTTPHeaders()
        for name, value in request.headers.items():
            signed[name.lower()] = value
        return signed


def signed_headers(
    adapter: OperatorProcess, cred: dict[str, str], body: bytes, extra: dict[str, str], target: str = "DescribeClusters"
) -> dict[str, str]:
    """Headers of a request signed over exactly `body` and these headers (Host, X-Amz-Date, ...)."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {
        "Host": f"127.0.0.1:{adapter.rest_port}",
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Date": stamp,
        "X-Amz-Target": f"AmazonEC2ContainerServiceV20141113.{target}",
        **extra,
    }
    request = AWSRequest(method="POST", url=f"{adapter.rest_endpoint}/", data=body, headers=headers)
    request.context["timestamp"] = stamp
    signer = SignsListedHeaders(Credentials(cred["accessKeyId"], cred["secretAccessKey"]), "ecs", REGION)
    signature = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    listed = signer.signed_headers(signer.headers_to_sign(request))
    headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={signer.scope(request)}, SignedHeaders={listed}, Signature={signature}"
    )
    return headers


def post(adapter: OperatorProcess, body: bytes, headers: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """One raw HTTP request with exactly these headers (str, or bytes to send as they are)."""
    conn = http.client.HTTPConnection("127.0.0.1", adapter.rest_port, timeout=30)
    try:
        conn.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        resp = conn.getresponse()
        answer: dict[str, Any] = json.loads(resp.read() or b"{}")
        return resp.status, answer
    finally:
        conn.close()


def test_sigv4_accepts_a_signed_user_agent(adapter: OperatorProcess, credentials: dict[str, dict[str, str]]) -> None:
    """SignedHeaders may list user-agent: SigV4 signs whatever headers the client lists.

    AWS SigV4 documentation ("Create a canonical request"): SignedHeaders is "the list of headers
    that you included in CanonicalHeaders"; host and x-amz-date are required, any others are the
    client's choice. botocore's own signer leaves user-agent out (SIGNED_HEADERS_BLACKLIST), the AWS
    SDK for Java v1 signs it.
    """
    body = b'{"clusters": ["default"]}'
    headers = signed_headers(adapter, credentials["writer"], body, {"User-Agent": "aws-sdk-java/1.12.780 Linux/6.1"})
    assert "user-agent" in headers["Authorization"]
    status, answer = post(adapter, body, headers)
    assert status == 200, answer
    assert "failures" in answer


def test_sigv4_refuses_a_swapped_body_under_a_signed_content_hash(
    adapter: OperatorProcess, credentials: dict[str, dict[str, str]]
) -> None:
    """A captured request's body cannot be replaced while its signed x-amz-content-sha256 stays.

    The header only claims a hash; the signature covers the body through the payload hash in the
    canonical request, which the adapter computes from the bytes it received.
    """
    signed_body = b'{"clusters": ["default"]}'
    digest = hashlib.sha256(signed_body).hexdigest()
    headers = signed_headers(adapter, credentials["writer"], signed_body, {"X-Amz-Content-Sha256": digest})
    assert post(adapter, signed_body, headers)[0] == 200, "the genuine request passes"
    status, answer = post(adapter, b'{"clusters": ["someone-elses"]}', headers)
    assert (status, answer.get("__type")) == (403, "InvalidSignatureException"), answer


# -- bearer tokens and credential Secrets ----------------------------------------------------------


def credential_secret(world: World, namespace: str, name: str, data: dict[str, bytes]) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "labels": {CREDENTIAL_LABEL: "true"}},
        "data": {k: base64.b64encode(v).decode() for k, v in data.items()},
    }
    world.control_plane.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(secret))


def bearer_call(adapter: OperatorProcess, authorization: bytes) -> tuple[int, dict[str, Any]]:
    headers = {
        "Host": f"127.0.0.1:{adapter.rest_port}",
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DescribeClusters",
        "Authorization": authorization,
    }
    return post(adapter, b"{}", headers)


def test_an_empty_token_authenticates_nobody(
    world: World, adapter: OperatorProcess, namespace: str, unique: str
) -> None:
    """A credential Secret whose `token` is empty must not let `Authorization: Bearer <nothing>` in.

    HTTP servers drop trailing spaces of a header value, but a byte such as 0xA0 (obs-text, allowed
    in header values by RFC 9110) survives the wire and was stripped as whitespace afterwards.
    """
    name = f"cred-empty-{unique}"
    # A user, so that the empty token (not a missing user) is what makes this Secret no key.
    data = {"token": b"", "namespace": namespace.encode(), "user": f"system:serviceaccount:{namespace}:x".encode()}
    credential_secret(world, namespace, name, data)
    kube = Kube(world.control_plane, namespace)

    def read_and_refused() -> list[dict[str, Any]]:
        bearer_call(adapter, b"Bearer not-a-known-token")  # an unknown token re-reads the Secrets (at most 1/s)
        return [e for e in kube.events(name) if e.get("reason") == "InvalidCredential"]

    try:
        # The adapter has read the Secret and judged it no key: its Warning Event says why.
        [event, *_] = wait_for("the Secret read and refused", read_and_refused, timeout=15)
        assert "'token'" in event["message"], event
        for authorization in (b"Bearer ", b"Bearer \xa0", b"Bearer \t\xa0"):
            status, answer = bearer_call(adapter, authorization)
            assert status == 403, (authorization, answer)
    finally:
        world.control_plane.kubectl("delete", "secret", name, "-n", namespace, "--ignore-not-found")


def test_a_malformed_credential_secret_is_skipped_and_reported(
    world: World, adapter: OperatorProcess, credentials: dict[str, dict[str, str]], namespace: str, unique: str
) -> None:
    """One labelled Secret with non-UTF-8 data: every other credential keeps working; an Event names it."""
    name = f"cred-binary-{unique}"
    data = {"token": b"\xff\xfe\xfd", "namespace": namespace.encode(), "user": b"system:serviceaccount:x:y"}
    credential_secret(world, namespace, name, data)
    kube = Kube(world.control_plane, namespace)
    writer = f"Bearer {credentials['writer']['token']}".encode()
    try:
        deadline = time.monotonic() + 15  # past the credential cache's 10 s refresh
        while time.monotonic() < deadline:
            assert bearer_call(adapter, b"Bearer not-a-known-token")[0] == 403  # forces a re-read
            status, answer = bearer_call(adapter, writer)
            assert status == 200, answer
            time.sleep(1.1)
        events = [e for e in kube.events(name) if e.get("reason") == "InvalidCredential"]
        assert events, "an Event on the Secret says why it is ignored"
        assert "token" in events[0]["message"] and "UTF-8" in events[0]["message"]
        assert events[0]["type"] == "Warning"
    finally:
        world.control_plane.kubectl("delete", "secret", name, "-n", namespace, "--ignore-not-found")


# -- service tasks of another namespace ------------------------------------------------------------


def service_task(world: World, cluster: str, family: str, service: str, network: Network) -> str:
    """A task as ECS's service scheduler starts it (group "service:<name>", startedBy the deployment).

    moto's services start no tasks (../shared/notes/moto-ecs.md), so the test starts it itself.
    """
    arn: str = world.ecs.client().run_task(
        cluster=cluster,
        taskDefinition=family,
        group=f"service:{service}",
        startedBy="ecs-svc/1234567890123456789",
        launchType="FARGATE",
        networkConfiguration=awsvpc(network.subnet_id, network.security_group_id),
    )["tasks"][0]["taskArn"]
    return arn


def index_refreshed(ecs_proxy: EcsProxy) -> None:
    """Until the status loop has listed the clusters' tasks twice more (the index is rebuilt since)."""
    start = ecs_proxy.count("ListTasks")
    wait_for("two more status cycles", lambda: ecs_proxy.count("ListTasks") >= start + 2, timeout=30)


def refused(kube: Kube, kind: str, name: str) -> bool:
    degraded = condition(kube.status(kind, name), "Degraded")
    return degraded.get("status") == "True" and "owned by" in degraded.get("message", "")


def sees(ecs: Any, cluster: str, task_arn: str) -> list[str]:
    """What of `task_arn` a credential learns through ListTasks and DescribeTasks on `cluster`."""
    seen: list[str] = []
    calls = [
        lambda: ecs.list_tasks(cluster=cluster)["taskArns"],
        lambda: ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"],
        lambda: [t["taskArn"] for t in ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"]],
    ]
    for call in calls:
        with contextlib.suppress(ecs.exceptions.ClusterNotFoundException):
            seen += [a for a in call() if a == task_arn]
    return seen


def test_refused_lookalikes_grant_no_view_of_another_namespaces_service_tasks(
    world: World,
    ecs_for: Callable[[str], Any],
    ecs_proxy: EcsProxy,
    namespace: str,
    other_namespace: str,
    network: Network,
    unique: str,
) -> None:
    """team-b names objects like team-a's cluster and service; the operator refuses them; they show nothing.

    Only objects the operator accepted as owners (status ARN set after the owner-tag check) may grant
    visibility of ECS resources.
    """
    team_a, team_b = ecs_for("writer"), ecs_for("other")
    cluster, family = f"tenant-a-{unique}", f"tenant-fam-{unique}"
    team_a.create_cluster(clusterName=cluster)
    fargate_family(team_a, family)
    net = awsvpc(network.subnet_id, network.security_group_id)
    team_a.create_service(cluster=cluster, serviceName="web", taskDefinition=family, networkConfiguration=net)
    task = service_task(world, cluster, family, "web", network)
    wait_for("team-a sees its service task", lambda: team_a.list_tasks(cluster=cluster, serviceName="web")["taskArns"])

    kube_b = Kube(world.control_plane, other_namespace)
    kube_b.apply(manifest("FargateCluster", f"lookalike-{unique}", {"clusterName": cluster}))
    spec = {"serviceName": "web", "cluster": cluster, "taskDefinition": family, "networkConfiguration": net}
    kube_b.apply(manifest("FargateService", f"lookalike-{unique}", spec))
    wait_for("the operator refuses team-b's cluster", lambda: refused(kube_b, "fargatecluster", f"lookalike-{unique}"))
    wait_for("the operator refuses team-b's service", lambda: refused(kube_b, "fargateservice", f"lookalike-{unique}"))
    index_refreshed(ecs_proxy)

    assert sees(team_b, cluster, task) == [], "team-b reads team-a's service task"
    assert sees(team_a, cluster, task) == [task, task, task], "team-a still sees its own"


def test_an_owned_cluster_shows_only_the_service_tasks_of_services_owned_in_the_namespace(
    world: World,
    ecs_for: Callable[[str], Any],
    ecs_proxy: EcsProxy,
    namespace: str,
    other_namespace: str,
    network: Network,
    unique: str,
) -> None:
    """team-b owns a cluster in which a team-a service runs; a refused team-b lookalike of that service shows nothing.

    Here team-a runs its service in team-b's cluster by naming it (spec.cluster): clusters are
    checked per tenant (tenancy), so the admin shares team-b's clusters (TENANCY_CONFIG).
    """
    team_b = ecs_for("other")
    cluster, family = f"tenant-b-{unique}", f"tenant-fam-b-{unique}"
    world.ecs.client().create_cluster(clusterName=cluster)  # unowned; team-b adopts it
    kube_a, kube_b = Kube(world.control_plane, namespace), Kube(world.control_plane, other_namespace)
    kube_b.apply(manifest("FargateCluster", f"mine-{unique}", {"clusterName": cluster, "adoptionPolicy": "Adopt"}))
    wait_for("team-b owns the cluster", lambda: kube_b.status("fargatecluster", f"mine-{unique}").get("clusterArn"))
    fargate_family(ecs_for("writer"), family)
    net = awsvpc(network.subnet_id, network.security_group_id)
    spec = {"serviceName": "web", "cluster": cluster, "taskDefinition": family, "networkConfiguration": net}
    kube_a.apply(manifest("FargateService", f"web-{unique}", spec))
    wait_for("team-a's service exists", lambda: kube_a.status("fargateservice", f"web-{unique}").get("serviceArn"))
    task = service_task(world, cluster, family, "web", network)

    kube_b.apply(manifest("FargateService", f"lookalike-{unique}", spec))
    wait_for("the operator refuses team-b's service", lambda: refused(kube_b, "fargateservice", f"lookalike-{unique}"))
    index_refreshed(ecs_proxy)

    assert team_b.describe_clusters(clusters=[cluster])["clusters"], "team-b's own cluster is visible to it"
    assert sees(team_b, cluster, task) == [], "team-b reads team-a's service task"


# -- task definitions as ECS registered them -------------------------------------------------------


def test_describe_answers_what_ecs_registered_not_a_rejected_spec(ecs_for: Callable[[str], Any], unique: str) -> None:
    """After a change ECS refused, DescribeTaskDefinition still shows revision 1 as ECS registered it.

    ECS refuses pidMode "host" for Fargate (botocore model, pidMode: "On Fargate for Linux
    containers, the only valid value is task"); the CRD leaves that check to ECS.
    """
    ecs = ecs_for("writer")
    family = f"rejected-{unique}"
    fargate_family(ecs, family)
    with pytest.raises(ClientError) as err:
        ecs.register_task_definition(
            family=family,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            containerDefinitions=container("busybox:2"),
            pidMode="host",
        )
    assert err.value.response["Error"]["Code"] == "ClientException"
    for ref in (family, f"{family}:1"):
        registered = ecs.describe_task_definition(taskDefinition=ref)["taskDefinition"]
        assert registered["revision"] == 1, ref
        assert registered["containerDefinitions"][0]["image"] == "busybox", f"{ref}: content ECS never registered"
        assert "pidMode" not in registered, ref


def test_deregistering_the_current_revision_deregisters_exactly_that_revision(
    world: World, ecs_for: Callable[[str], Any], namespace: str, unique: str
) -> None:
    """DeregisterTaskDefinition family:2 (the current revision) leaves revision 1 ACTIVE and the object in place.

    botocore model, DeregisterTaskDefinition: "Deregisters the specified task definition by family and
    revision" -- one revision; DescribeTaskDefinition of a bare family means "the latest ACTIVE revision".
    """
    ecs, kube, moto = ecs_for("writer"), Kube(world.control_plane, namespace), world.ecs.client()
    family = f"dereg-{unique}"
    first = fargate_family(ecs, family)
    second = ecs.register_task_definition(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=container("busybox:2"),
    )["taskDefinition"]["taskDefinitionArn"]

    answer = ecs.deregister_task_definition(taskDefinition=f"{family}:2")["taskDefinition"]
    assert (answer["revision"], answer["status"]) == (2, "INACTIVE")
    assert answer["containerDefinitions"][0]["image"] == "busybox:2"
    wait_for(
        "revision 2 INACTIVE in ECS",
        lambda: moto.describe_task_definition(taskDefinition=second)["taskDefinition"]["status"] == "INACTIVE",
    )

    # The handler deregisters every revision it means to before it writes its verdict, in the write that
    # ends it (Kopf's bookkeeping included): once written, with no retry scheduled, a wrong one has happened.
    def verdict() -> bool:
        status = kube.handled("fargatetaskdefinition", family)
        ready = condition(status or {}, "Ready")
        return "deregistered" in ready.get("message", "")

    wait_for("the handler's verdict", verdict)
    assert moto.describe_task_definition(taskDefinition=first)["taskDefinition"]["status"] == "ACTIVE"

    obj = kube.get("fargatetaskdefinition", family)
    assert obj is not None, "the FargateTaskDefinition stays"
    ready = next(c for c in obj["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and "deregistered" in ready["message"]
    assert ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"] == [first]
    assert ecs.list_task_definitions(familyPrefix=family, status="INACTIVE")["taskDefinitionArns"] == [second]
    assert ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]["revision"] == 1, "latest ACTIVE"
    assert ecs.describe_task_definition(taskDefinition=second)["taskDefinition"]["status"] == "INACTIVE"

    with pytest.raises(ClientError) as err:  # identical content: the object's spec did not change
        ecs.register_task_definition(
            family=family,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            containerDefinitions=container("busybox:2"),
        )
    assert err.value.response["Error"]["Code"] == "ClientException"
    assert "deregistered" in err.value.response["Error"]["Message"]
    third = ecs.register_task_definition(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=container("busybox:3"),
    )["taskDefinition"]
    assert third["revision"] == 3, "a changed definition registers the next revision"
    ready = wait_for(
        "Ready again",
        lambda: condition(kube.status("fargatetaskdefinition", family), "Ready").get("status") == "True",
    )
    assert ready


# -- RunTask failures (adapter part) ---------------------------------------------------------------


def test_runtask_answers_failures_with_200_as_ecs_does(
    ecs_for: Callable[[str], Any], ecs_proxy: EcsProxy, network: Network, unique: str
) -> None:
    """RunTask answers HTTP 200 with `failures` (botocore model, RunTaskResponse), not ClientException."""
    from support.ecs_behaviours import CAPACITY_UNAVAILABLE, PartialRunTask, RunTaskFailures

    ecs = ecs_for("writer")
    cluster, family = f"fail-{unique}", f"failfam-{unique}"
    ecs.create_cluster(clusterName=cluster)
    fargate_family(ecs, family)
    net = awsvpc(network.subnet_id, network.security_group_id)
    run = dict(cluster=cluster, taskDefinition=family, launchType="FARGATE", networkConfiguration=net)
    permanent = {"arn": f"arn:aws:ecs:{REGION}:123456789012:cluster/{cluster}", "reason": "ATTRIBUTE"}
    try:
        ecs_proxy.intercept("RunTask", RunTaskFailures(times=1, failure=permanent))
        answer = ecs.run_task(**run)
        assert answer["tasks"] == [] and [f["reason"] for f in answer["failures"]] == ["ATTRIBUTE"]

        capacity = {"arn": permanent["arn"], "reason": CAPACITY_UNAVAILABLE}
        ecs_proxy.intercept("RunTask", PartialRunTask(capacity))
        answer = ecs.run_task(**run, count=2)
        assert len(answer["tasks"]) == 1
        assert [f["reason"] for f in answer["failures"]] == [CAPACITY_UNAVAILABLE]
    finally:
        if hasattr(ecs_proxy, "intercept"):
            ecs_proxy.intercept("RunTask", None)
