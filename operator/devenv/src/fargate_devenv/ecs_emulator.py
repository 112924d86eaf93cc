"""The ECS emulator on a loopback port: the ECS endpoint of tests and `make run`.

A separate process (`python -m fargate_ecs_sim`): moto's server with ECS's task
lifecycle, service scheduler and validation added in-process (docs/ecs-emulator.md). It speaks
ECS's real wire protocol over HTTP, so boto3 reaches it exactly as it reaches AWS. moto is
imported only in that process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fargate_devenv import processes

REGION = "us-east-1"
# Seconds per ECS lifecycle transition (PROVISIONING -> PENDING -> ...): quick for tests,
# realistic-but-quick for `make run` (ECS itself takes tens of seconds per task start).
FAST_STEP_SECONDS = 0.2
DEV_STEP_SECONDS = 1.5
# The subnet and security group the manifests in examples/ name: `make run` creates them with these ids.
EXAMPLE_SUBNET = "subnet-0123456789abcdef0"
EXAMPLE_SECURITY_GROUP = "sg-0123456789abcdef0"
# moto's tag for choosing a resource's id (moto.utilities.id_generator.TAG_KEY_CUSTOM_ID).
CUSTOM_ID_TAG = "_custom_id_"
# moto accepts any credentials; these are what `.run/env` exports for local use.
ACCESS_KEY = "testing"
SECRET_KEY = "testing"


@dataclass(frozen=True)
class Network:
    vpc_id: str
    subnet_id: str
    security_group_id: str


@dataclass
class EcsEmulator:
    port: int = 0
    log: Path | None = None
    step_seconds: float = FAST_STEP_SECONDS
    startup_timeout: float = 60.0
    # The node tier runs the emulator inside its network namespace (pods reach it at the node address;
    # the host through a loopback forward of the same port): where to bind, and a prefix such as nsenter.
    bind_host: str = "127.0.0.1"
    command_prefix: tuple[str, ...] = ()
    # At most this many seconds an AssumeRole session lasts (0: as asked), to test refreshes quickly.
    sts_session_seconds: int = 0
    # A trail records management events: ECS API calls reach EventBridge as CloudTrail events (default off).
    cloudtrail_events: bool = False
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> EcsEmulator:
        self.port = self.port or processes.free_port()
        if self.log is None:
            self.log = Path(tempfile.mkdtemp(prefix="fargate-ecs-sim-")) / "ecs-sim.log"
        cmd = [
            *self.command_prefix,
            sys.executable,
            "-m",
            "fargate_ecs_sim",
            "--host",
            self.bind_host,
            "--port",
            str(self.port),
            "--step-seconds",
            str(self.step_seconds),
            "--sts-session-seconds",
            str(self.sts_session_seconds),
            *(["--cloudtrail-events"] if self.cloudtrail_events else []),
        ]
        self._proc = processes.start(cmd, self.log)

        def ready() -> bool:
            with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1) as resp:
                return bool(resp.status == 200)

        processes.wait_until(ready, self._proc, "ECS emulator", self.log, self.startup_timeout)
        return self

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def stop(self) -> None:
        processes.stop(self._proc)
        self._proc = None

    def _post(self, path: str, body: dict[str, Any] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        req = urllib.request.Request(f"{self.endpoint}{path}", data=data, method="POST")
        with urllib.request.urlopen(req, timeout=10):
            pass

    def reset(self) -> None:
        """Forget all state (moto's own reset endpoint)."""
        self._post("/moto-api/reset")

    def client(self, service: str = "ecs", region: str = REGION) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def client_as(self, role_arn: str, service: str = "ecs", region: str = REGION) -> Any:
        """A client with the credentials of a session of `role_arn` (the emulator puts its calls in the
        role's account, as AWS does)."""
        creds = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="test")["Credentials"]
        return self.client_with(creds, service, region)

    def client_with(self, creds: dict[str, Any], service: str = "ecs", region: str = REGION) -> Any:
        """A client signing with STS `Credentials` (AccessKeyId, SecretAccessKey, SessionToken)."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )

    def create_network(
        self, subnet_id: str | None = None, security_group_id: str | None = None, ec2: Any | None = None
    ) -> Network:
        """A VPC, subnet and security group for awsvpc tasks; given ids are kept (the `_custom_id_` tag).
        `ec2`: a client of another account or region (default: the emulator's default account, us-east-1).

        DNS hostnames are enabled because moto's RunTask fails with HTTP 500 on
        a VPC without them.
        """
        ec2 = ec2 or self.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.1.0/24", **_custom_id("subnet", subnet_id))["Subnet"][
            "SubnetId"
        ]
        sg = ec2.create_security_group(
            GroupName="fargate-dev",
            Description="fargate-operator dev",
            VpcId=vpc,
            **_custom_id("security-group", security_group_id),
        )
        return Network(vpc, subnet, sg["GroupId"])

    def create_example_network(self) -> Network:
        """The subnet and security group examples/ names, once (`kubectl apply -f examples/` works unchanged)."""
        ec2 = self.client("ec2")
        found = ec2.describe_subnets(Filters=[{"Name": "subnet-id", "Values": [EXAMPLE_SUBNET]}])["Subnets"]
        if found:
            return Network(found[0]["VpcId"], EXAMPLE_SUBNET, EXAMPLE_SECURITY_GROUP)
        return self.create_network(EXAMPLE_SUBNET, EXAMPLE_SECURITY_GROUP)

    def __enter__(self) -> EcsEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _custom_id(resource: str, wanted: str | None) -> dict[str, Any]:
    if not wanted:
        return {}
    return {"TagSpecifications": [{"ResourceType": resource, "Tags": [{"Key": CUSTOM_ID_TAG, "Value": wanted}]}]}
