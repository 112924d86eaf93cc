"""The operator with its ECS-compatible REST adapter, credentials in Secrets, and a boto3 client on it."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import yaml

from fargate_devenv.ecs_emulator import REGION
from fargate_devenv.tenancy import with_sharing, world_sharing
from fargate_devenv.world import World
from fargate_operator.web.auth import CREDENTIAL_LABEL
from support import identity as identity_support
from support.operator_process import OperatorProcess


def _secret(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "labels": {CREDENTIAL_LABEL: "true"}},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


@pytest.fixture(scope="module")
def namespace(world: World) -> str:
    ns = f"api-{uuid.uuid4().hex[:8]}"
    world.control_plane.kubectl("create", "namespace", ns)
    return ns


@pytest.fixture(scope="module")
def other_namespace(world: World) -> str:
    ns = f"api2-{uuid.uuid4().hex[:8]}"
    world.control_plane.kubectl("create", "namespace", ns)
    return ns


@pytest.fixture(scope="module")
def credentials(world: World, namespace: str, other_namespace: str) -> dict[str, dict[str, str]]:
    """Access keys and tokens kept as Secrets in the adapter's credentials namespace (= `namespace`).

    Each key acts as a ServiceAccount whose RBAC decides: writer and other may do
    everything in their namespace (exec included), reader has the chart's read-only role and
    its key is readOnly too.
    """
    import yaml

    cp = world.control_plane
    identity_support.install_roles(cp)
    writer = identity_support.service_account(cp, namespace, "writer", identity_support.FULL)
    reader = identity_support.service_account(cp, namespace, "reader", identity_support.READ_ONLY)
    other = identity_support.service_account(cp, other_namespace, "other", identity_support.FULL)
    creds = {
        "writer": {
            "accessKeyId": f"AKW{uuid.uuid4().hex[:12].upper()}",
            "secretAccessKey": uuid.uuid4().hex,
            "token": uuid.uuid4().hex,
            "namespace": namespace,
            "user": writer,
        },
        "reader": {
            "accessKeyId": f"AKR{uuid.uuid4().hex[:12].upper()}",
            "secretAccessKey": uuid.uuid4().hex,
            "token": uuid.uuid4().hex,
            "namespace": namespace,
            "readOnly": "true",
            "user": reader,
        },
        "other": {
            "accessKeyId": f"AKO{uuid.uuid4().hex[:12].upper()}",
            "secretAccessKey": uuid.uuid4().hex,
            "token": uuid.uuid4().hex,
            "namespace": other_namespace,
            "user": other,
        },
    }
    docs = [_secret(f"cred-{name}", data) for name, data in creds.items()]
    world.control_plane.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(docs))
    return creds


@pytest.fixture(scope="module")
def adapter_ecs_endpoint(world: World) -> str:
    """Where the adapter's operator reaches ECS; a module may override it (e.g. with an EcsProxy)."""
    return world.ecs.endpoint


@pytest.fixture(scope="module")
def adapter(
    world: World,
    adapter_ecs_endpoint: str,
    namespace: str,
    other_namespace: str,
    credentials: dict[str, dict[str, str]],
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[OperatorProcess]:
    """The operator with both adapters; a test module may set ADAPTER_WAIT (seconds, default 20),
    TENANCY_CONFIG (the admin's --tenancy-config, as YAML text; the sections it leaves out are the test
    world's, which give every namespace the emulator's networks) and ADAPTER_ENV (environment)."""
    tenancy: tuple[str, ...] = ()
    if config := getattr(request.module, "TENANCY_CONFIG", None):
        path = tmp_path_factory.mktemp("tenancy") / "tenancy.yaml"
        path.write_text(yaml.safe_dump(with_sharing(yaml.safe_load(config), world_sharing())))
        tenancy = ("--tenancy-config", str(path))
    op = OperatorProcess(
        world.control_plane,
        adapter_ecs_endpoint,
        namespace,
        tmp_path_factory.mktemp("adapter") / "operator.log",
        env=dict(getattr(request.module, "ADAPTER_ENV", {})),
        extra_args=(
            "--namespace",
            other_namespace,
            "--credentials-namespace",
            namespace,
            "--adapter-wait",
            str(getattr(request.module, "ADAPTER_WAIT", 20)),
            "--mcp-write",
            *tenancy,
        ),
    ).start()
    op.wait_ready()
    yield op
    op.stop()


@pytest.fixture(scope="module")
def ecs_for(adapter: OperatorProcess, credentials: dict[str, dict[str, str]]) -> Callable[[str], Any]:
    def make(who: str) -> Any:
        cred = credentials[who]
        return boto3.client(
            "ecs",
            endpoint_url=adapter.rest_endpoint,
            region_name=REGION,
            aws_access_key_id=cred["accessKeyId"],
            aws_secret_access_key=cred["secretAccessKey"],
            config=botocore_config(),
        )

    return make


def botocore_config() -> Any:
    from botocore.config import Config

    return Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=60)
