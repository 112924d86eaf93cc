"""Every operation through an unmodified boto3 ECS client pointed at the adapter; answers checked against botocore's output shapes."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.world import World
from support.operator_process import Kube, OperatorProcess, awsvpc, wait_for

MODEL = botocore.session.get_session().get_service_model("ecs")


def check_shape(operation: str, response: dict[str, Any]) -> dict[str, Any]:
    """The parsed answer fits ECS's output shape exactly: known members, right types."""
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    report = ParamValidator().validate(body, MODEL.operation_model(operation).output_shape)
    assert not report.has_errors(), report.generate_report()
    return body


def container(image: str) -> list[dict[str, Any]]:
    return [{"name": "app", "image": image, "memory": 256, "essential": True}]


def test_every_operation_end_to_end(
    world: World, adapter: OperatorProcess, ecs_for: Callable[[str], Any], namespace: str, network: Network, unique: str
) -> None:
    ecs = ecs_for("writer")
    kube = Kube(world.control_plane, namespace)
    cluster = f"api-{unique}"

    created = check_shape(
        "CreateCluster", ecs.create_cluster(clusterName=cluster, tags=[{"key": "team", "value": "a"}])
    )
    assert created["cluster"]["clusterName"] == cluster and created["cluster"]["clusterArn"].endswith(cluster)
    assert kube.get("fargatecluster", cluster) is not None, "the write became a custom resource"
    described = check_shape("DescribeClusters", ecs.describe_clusters(clusters=[cluster, "nope"], include=["TAGS"]))
    assert [c["clusterName"] for c in described["clusters"]] == [cluster]
    assert described["clusters"][0]["tags"] == [{"key": "team", "value": "a"}]
    assert described["failures"] == [{"arn": "nope", "reason": "MISSING"}]

    family = f"Fam_{unique}"  # not a valid Kubernetes name: exercises the name mapping
    td = dict(family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512")
    r1 = check_shape(
        "RegisterTaskDefinition", ecs.register_task_definition(**td, containerDefinitions=container("busybox:1"))
    )
    assert r1["taskDefinition"]["revision"] == 1
    again = ecs.register_task_definition(**td, containerDefinitions=container("busybox:1"))
    assert again["taskDefinition"]["revision"] == 1, "identical content registers no new revision"
    r2 = check_shape(
        "RegisterTaskDefinition", ecs.register_task_definition(**td, containerDefinitions=container("busybox:2"))
    )
    assert r2["taskDefinition"]["revision"] == 2
    current = check_shape(
        "DescribeTaskDefinition", ecs.describe_task_definition(taskDefinition=family, include=["TAGS"])
    )
    assert current["taskDefinition"]["containerDefinitions"][0]["image"] == "busybox:2"
    old = check_shape("DescribeTaskDefinition", ecs.describe_task_definition(taskDefinition=f"{family}:1"))
    assert old["taskDefinition"]["containerDefinitions"][0]["image"] == "busybox:1"
    listed = check_shape("ListTaskDefinitions", ecs.list_task_definitions(familyPrefix=family))
    assert [a.rsplit(":", 1)[1] for a in listed["taskDefinitionArns"]] == ["1", "2"]
    page = ecs.list_task_definitions(familyPrefix=family, maxResults=1)
    assert len(page["taskDefinitionArns"]) == 1 and page["nextToken"]
    rest = ecs.list_task_definitions(familyPrefix=family, maxResults=1, nextToken=page["nextToken"])
    assert rest["taskDefinitionArns"] == listed["taskDefinitionArns"][1:] and "nextToken" not in rest

    net = awsvpc(network.subnet_id, network.security_group_id)
    svc = check_shape(
        "CreateService",
        ecs.create_service(
            cluster=cluster,
            serviceName="web",
            taskDefinition=f"{family}:2",
            desiredCount=1,
            launchType="FARGATE",
            networkConfiguration=net,
        ),
    )
    assert svc["service"]["serviceName"] == "web" and svc["service"]["taskDefinition"].endswith(f"{family}:2")
    ds = check_shape("DescribeServices", ecs.describe_services(cluster=cluster, services=["web", "ghost"]))
    assert ds["services"][0]["serviceArn"] == svc["service"]["serviceArn"] and ds["failures"][0]["reason"] == "MISSING"
    ls = check_shape("ListServices", ecs.list_services(cluster=cluster))
    assert ls["serviceArns"] == [svc["service"]["serviceArn"]]
    up = check_shape("UpdateService", ecs.update_service(cluster=cluster, service="web", desiredCount=3))
    assert up["service"]["desiredCount"] == 3

    run = check_shape(
        "RunTask",
        ecs.run_task(
            cluster=cluster,
            taskDefinition=family,
            launchType="FARGATE",
            networkConfiguration=net,
            startedBy="nightly",
            clientToken=f"token-{unique}",
        ),
    )
    arn = run["tasks"][0]["taskArn"]
    rerun = ecs.run_task(
        cluster=cluster,
        taskDefinition=family,
        launchType="FARGATE",
        networkConfiguration=net,
        startedBy="nightly",
        clientToken=f"token-{unique}",
    )
    assert [t["taskArn"] for t in rerun["tasks"]] == [arn], "same clientToken: the same task, not a new one"
    dt = check_shape("DescribeTasks", ecs.describe_tasks(cluster=cluster, tasks=[arn, "0000"], include=["TAGS"]))
    assert dt["tasks"][0]["taskArn"] == arn and dt["tasks"][0]["startedBy"] == "nightly"
    assert dt["failures"] == [{"arn": "0000", "reason": "MISSING"}]
    lt = check_shape("ListTasks", ecs.list_tasks(cluster=cluster, family=family, startedBy="nightly"))
    assert lt["taskArns"] == [arn]
    stopped = check_shape("StopTask", ecs.stop_task(cluster=cluster, task=arn, reason="done"))
    assert stopped["task"]["desiredStatus"] == "STOPPED"
    wait_for(
        "StopTask reached ECS",
        lambda: (
            world.ecs.client().describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]["desiredStatus"] == "STOPPED"
        ),
    )

    dereg = check_shape("DeregisterTaskDefinition", ecs.deregister_task_definition(taskDefinition=f"{family}:1"))
    assert dereg["taskDefinition"]["status"] == "INACTIVE"
    with pytest.raises(ClientError) as err:
        ecs.delete_service(cluster=cluster, service="web")
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"
    gone = check_shape("DeleteService", ecs.delete_service(cluster=cluster, service="web", force=True))
    assert gone["service"]["status"] == "DRAINING"
    wait_for("service object deleted", lambda: kube.get("fargateservice", "web") is None)


def test_reads_come_from_the_watch_cache(adapter: OperatorProcess, ecs_for: Callable[[str], Any]) -> None:
    """A read costs no ECS call: the adapter's own ECS call counter does not move."""
    ecs = ecs_for("reader")

    def ecs_calls() -> float:
        with urllib.request.urlopen(f"{adapter.rest_endpoint}/metrics", timeout=5) as resp:
            text = resp.read().decode()
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("fargate_operator_ecs_calls_total{") and "Describe" not in line and "List" not in line
        )

    before = ecs_calls()
    for _ in range(20):
        ecs.describe_clusters(clusters=["default"])
        ecs.list_task_definitions()
    assert ecs_calls() == before


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda e: e.describe_services(cluster="no-such-cluster", services=["x"]), "ClusterNotFoundException"),
        (lambda e: e.update_service(cluster="default-missing", service="x"), "ClusterNotFoundException"),
        (lambda e: e.describe_task_definition(taskDefinition="no-such-family"), "ClientException"),
        (lambda e: e.list_task_definitions(maxResults=1000), "InvalidParameterException"),
    ],
)
def test_ecs_error_codes(ecs_for: Callable[[str], Any], call: Callable[[Any], Any], code: str) -> None:
    with pytest.raises(ClientError) as err:
        call(ecs_for("writer"))
    assert err.value.response["Error"]["Code"] == code
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_unknown_service_in_known_cluster(ecs_for: Callable[[str], Any], unique: str) -> None:
    ecs = ecs_for("writer")
    ecs.create_cluster(clusterName=f"svcless-{unique}")
    with pytest.raises(ClientError) as err:
        ecs.update_service(cluster=f"svcless-{unique}", service="nope", desiredCount=1)
    assert err.value.response["Error"]["Code"] == "ServiceNotFoundException"
    with pytest.raises(ecs.exceptions.ServiceNotFoundException):
        ecs.delete_service(cluster=f"svcless-{unique}", service="nope")


def test_access_control(ecs_for: Callable[[str], Any], unique: str) -> None:
    writer, reader, other = ecs_for("writer"), ecs_for("reader"), ecs_for("other")
    name = f"acl-{unique}"
    writer.create_cluster(clusterName=name)
    assert reader.describe_clusters(clusters=[name])["clusters"][0]["clusterName"] == name
    with pytest.raises(ClientError) as err:
        reader.create_cluster(clusterName=f"ro-{unique}")
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # Another namespace's credential sees nothing of this one.
    assert other.describe_clusters(clusters=[name])["failures"][0]["reason"] == "MISSING"


def test_raw_protocol_errors(adapter: OperatorProcess, credentials: dict[str, dict[str, str]]) -> None:
    url = f"{adapter.rest_endpoint}/"
    token = credentials["writer"]["token"]

    def post(body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        req = urllib.request.Request(url, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    target = "AmazonEC2ContainerServiceV20141113."
    base = {"Content-Type": "application/x-amz-json-1.1", "Authorization": f"Bearer {token}"}
    cases = [
        (b"{not json", {**base, "X-Amz-Target": target + "ListClusters"}, 400, "UnknownOperationException"),
        (b"{not json", {**base, "X-Amz-Target": target + "DescribeClusters"}, 400, "SerializationException"),
        (b"{}", {**base, "X-Amz-Target": target + "Nope"}, 400, "UnknownOperationException"),
        (
            b"{}",
            {**base, "Content-Type": "text/plain", "X-Amz-Target": target + "DescribeClusters"},
            415,
            "UnsupportedMediaTypeException",
        ),
        (b"{}", {**base, "X-Amz-Target": target + "DescribeTasks"}, 400, "InvalidParameterException"),  # tasks missing
        (b'{"tasks": "x"}', {**base, "X-Amz-Target": target + "DescribeTasks"}, 400, "InvalidParameterException"),
        (b"x" * (2 * 1024 * 1024), {**base, "X-Amz-Target": target + "DescribeClusters"}, 413, "ClientException"),
        (
            b"{}",
            {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target + "DescribeClusters"},
            403,
            "MissingAuthenticationTokenException",
        ),
        (
            b"{}",
            {**base, "Authorization": "Bearer wrong", "X-Amz-Target": target + "DescribeClusters"},
            403,
            "UnrecognizedClientException",
        ),
    ]
    for body, headers, status, code in cases:
        got_status, got = post(body, headers)
        assert (got_status, got["__type"]) == (status, code), (headers.get("X-Amz-Target"), got)
        assert got["message"]


def test_sigv4_rejects_bad_and_expired_signatures(
    adapter: OperatorProcess, credentials: dict[str, dict[str, str]]
) -> None:
    import datetime

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    cred = credentials["writer"]
    url = f"{adapter.rest_endpoint}/"

    def signed(secret: str, when: datetime.datetime, target: str = "DescribeClusters") -> AWSRequest:
        """A request signed with botocore's SigV4 signer as of `when` (a clock in the past for expiry)."""
        stamp = when.strftime("%Y%m%dT%H%M%SZ")
        req = AWSRequest(
            method="POST",
            url=url,
            data=b"{}",
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Date": stamp,
                "X-Amz-Target": f"AmazonEC2ContainerServiceV20141113.{target}",
            },
        )
        req.context["timestamp"] = stamp
        signer = SigV4Auth(Credentials(cred["accessKeyId"], secret), "ecs", "us-east-1")
        signature = signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req)
        headers = signer.signed_headers(signer.headers_to_sign(req))
        req.headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={signer.scope(req)}, SignedHeaders={headers}, Signature={signature}"
        )
        return req

    def send(req: AWSRequest) -> tuple[int, str]:
        prepared = req.prepare()
        r = urllib.request.Request(prepared.url, data=prepared.body, method="POST", headers=dict(prepared.headers))
        try:
            with urllib.request.urlopen(r, timeout=10) as resp:
                return resp.status, "OK"
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())["__type"]

    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    assert send(signed(cred["secretAccessKey"], now)) == (200, "OK")
    assert send(signed("wrong-secret", now)) == (403, "InvalidSignatureException")
    assert send(signed(cred["secretAccessKey"], now - datetime.timedelta(minutes=16))) == (
        403,
        "InvalidSignatureException",
    )
    run = signed(cred["secretAccessKey"], now, target="RunTask")
    first = send(run)
    assert first == (400, "InvalidParameterException")  # past auth; the empty body itself is refused
    # It started nothing, so sending it again changes nothing: refused the same way. A replay of a
    # RunTask that ran is refused as such (test_runtask_replay.py).
    assert send(run) == first


def test_tasks_a_service_started_are_listed_and_described(
    world: World, ecs_for: Callable[[str], Any], network: Network, unique: str
) -> None:
    """The tasks ECS's scheduler starts for a service (group service:<name>) show through the adapter."""
    ecs = ecs_for("writer")
    cluster, family = f"svc-tasks-{unique}", f"svcfam-{unique}"
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=container("busybox"),
    )
    net = awsvpc(network.subnet_id, network.security_group_id)
    ecs.create_service(
        cluster=cluster, serviceName="api", taskDefinition=family, desiredCount=2, networkConfiguration=net
    )
    in_ecs = wait_for(
        "the scheduler's two tasks",
        lambda: (
            len(arns := world.ecs.client().list_tasks(cluster=cluster, serviceName="api")["taskArns"]) == 2
            and sorted(arns)
        ),
    )
    listed = wait_for(
        "service tasks in ListTasks",
        lambda: sorted(a := ecs.list_tasks(cluster=cluster, serviceName="api")["taskArns"]) == in_ecs and a,
    )
    described = check_shape("DescribeTasks", ecs.describe_tasks(cluster=cluster, tasks=listed))
    assert {t["group"] for t in described["tasks"]} == {"service:api"} and not described["failures"]
    assert ecs.list_tasks(cluster=cluster, serviceName="other")["taskArns"] == []


def test_no_secret_in_logs_events_or_status(
    world: World, adapter: OperatorProcess, credentials: dict[str, dict[str, str]], namespace: str
) -> None:
    """Runs last in this module: after every call above, no credential secret shows anywhere an operator writes."""
    secrets = [c[k] for c in credentials.values() for k in ("secretAccessKey", "token") if k in c]
    cp = world.control_plane
    places = {
        "operator log": adapter.log_text(),
        "events": cp.kubectl("get", "events", "-A", "-o", "json").stdout,
        "resources": cp.kubectl("get", "fargate", "-A", "-o", "json").stdout,
        "metrics": urllib.request.urlopen(f"{adapter.rest_endpoint}/metrics", timeout=5).read().decode(),
    }
    leaks = [(where, s[:4] + "…") for where, text in places.items() for s in secrets if s in text]
    assert not leaks, leaks
    assert len(places["operator log"]) > 0 and len(secrets) >= 5
