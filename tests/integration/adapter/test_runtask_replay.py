"""A signed RunTask without clientToken runs once, whichever replica receives it and however often.

Two replicas (`--leader-elect`, as the chart runs them) serve the REST adapter behind one name, as a
Kubernetes Service would: the request is signed for that Host and the same bytes go to each
replica's port. A captured request replayed to the other replica must not start a second task.
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
import uuid
from pathlib import Path
from typing import Any

from fargate_devenv.ecs_emulator import REGION, Network
from fargate_devenv.world import World
from fargate_operator.web.auth import CREDENTIAL_LABEL
from support import identity as identity_support
from support.ha import Replica, Replicas
from support.operator_process import Kube, awsvpc, condition, manifest, task_definition_spec, wait_for

SERVICE_HOST = "fargate-operator.fargate-system.svc:8080"  # what clients of the chart's Service sign
TARGET = "AmazonEC2ContainerServiceV20141113.RunTask"


def _key(cp: Any, namespace: str) -> tuple[str, str]:
    """An access key acting as a ServiceAccount of `namespace` that may do everything there."""
    user = identity_support.service_account(cp, namespace, "runner", identity_support.FULL)
    key, secret = f"AKRP{uuid.uuid4().hex[:12].upper()}", uuid.uuid4().hex
    data = {"accessKeyId": key, "secretAccessKey": secret, "user": user, "namespace": namespace}
    doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "runner-key", "labels": {CREDENTIAL_LABEL: "true"}},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }
    cp.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(doc))
    return key, secret


def signed_run_task(key: str, secret: str, params: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """A RunTask without clientToken, signed with botocore's SigV4 signer for the Service's Host."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = json.dumps(params).encode()
    request = AWSRequest(
        method="POST",
        url=f"http://{SERVICE_HOST}/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET},
    )
    SigV4Auth(Credentials(key, secret), "ecs", REGION).add_auth(request)  # signs host, date, target, body
    headers = {name: str(value) for name, value in request.headers.items()}
    headers["Host"] = SERVICE_HOST
    return body, headers


def send(replica: Replica, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """The exact bytes, to one replica's port (Host stays the Service's, as signed)."""
    conn = http.client.HTTPConnection("127.0.0.1", replica.process.rest_port, timeout=60)
    try:
        conn.request("POST", "/", body=body, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def test_a_replayed_signed_runtask_starts_no_second_task_on_either_replica(
    world: World, network: Network, tmp_path: Path
) -> None:
    cp = world.control_plane
    ns = f"replay-{uuid.uuid4().hex[:8]}"
    cp.kubectl("create", "namespace", ns)
    identity_support.install_roles(cp)
    key, secret = _key(cp, ns)
    kube = Kube(cp, ns)
    cluster, family = f"replay-{ns}", f"replayfam-{ns}"
    replicas = Replicas(cp, world.ecs.endpoint, ns, tmp_path).start()
    try:
        replicas.wait_ready()
        kube.apply(manifest("FargateCluster", "c", {"clusterName": cluster}))
        kube.apply(manifest("FargateTaskDefinition", "td", task_definition_spec(family)))
        for kind, name in (("fargatecluster", "c"), ("fargatetaskdefinition", "td")):
            wait_for(
                f"{kind} Ready", lambda k=kind, n=name: condition(kube.status(k, n), "Ready").get("status") == "True"
            )
        params = {
            "cluster": cluster,
            "taskDefinition": family,
            "launchType": "FARGATE",
            "networkConfiguration": awsvpc(network.subnet_id, network.security_group_id),
        }
        body, headers = signed_run_task(key, secret, params)
        a, b = replicas["replica-a"], replicas["replica-b"]

        # The same request reaches both replicas at once (a replay racing the original).
        answers: dict[str, tuple[int, dict[str, Any]]] = {}
        start = threading.Barrier(2)

        def race(replica: Replica) -> None:
            start.wait()
            answers[replica.name] = send(replica, body, headers)

        threads = [threading.Thread(target=race, args=(r,)) for r in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        statuses = sorted(status for status, _ in answers.values())
        assert statuses == [200, 403], answers
        ran = next(answer for status, answer in answers.values() if status == 200)
        refused = next(answer for status, answer in answers.values() if status == 403)
        assert len(ran["tasks"]) == 1 and ran["failures"] == [], ran
        assert refused["__type"] == "InvalidSignatureException" and "replayed" in refused["message"], refused

        # Replayed later, to each replica: refused, nothing new.
        for replica in (a, b):
            status, answer = send(replica, body, headers)
            assert (status, answer.get("__type")) == (403, "InvalidSignatureException"), (replica.name, answer)

        objects = json.loads(cp.kubectl("get", "fargatetasks", "-n", ns, "-o", "json").stdout)["items"]
        assert len(objects) == 1, [o["metadata"]["name"] for o in objects]
        in_ecs = world.ecs.client().list_tasks(cluster=cluster, desiredStatus="RUNNING")["taskArns"]
        in_ecs += world.ecs.client().list_tasks(cluster=cluster, desiredStatus="STOPPED")["taskArns"]
        assert in_ecs == [t["taskArn"] for t in ran["tasks"]], "ECS started exactly the one task answered"
    finally:
        replicas.stop()
