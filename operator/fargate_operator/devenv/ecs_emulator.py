"""moto in server mode on a loopback port: the ECS endpoint of tests and `make run`.

It speaks ECS's real wire protocol over HTTP, so boto3 reaches it exactly as it
reaches AWS. See ../shared/notes/moto-ecs.md for its fidelity gaps.
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

from fargate_operator.devenv import processes

REGION = "us-east-1"
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
    startup_timeout: float = 60.0
    # The node tier runs the emulator inside its network namespace (pods reach it at the node address;
    # the host through a loopback forward of the same port): where to bind, and a prefix such as nsenter.
    bind_host: str = "127.0.0.1"
    command_prefix: tuple[str, ...] = ()
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> EcsEmulator:
        self.port = self.port or processes.free_port()
        if self.log is None:
            self.log = Path(tempfile.mkdtemp(prefix="fargate-moto-")) / "moto.log"
        self._proc = processes.start(
            [*self.command_prefix, sys.executable, "-m", "moto.server", "-H", self.bind_host, "-p", str(self.port)],
            self.log,
        )

        def ready() -> bool:
            with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1) as resp:
                return bool(resp.status == 200)

        processes.wait_until(ready, self._proc, "moto server", self.log, self.startup_timeout)
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

    def set_task_transition(self, progression: dict[str, Any]) -> None:
        """How tasks advance, e.g. {"progression": "manual", "times": 1} (moto's state manager)."""
        self._post("/moto-api/state-manager/set-transition", {"model_name": "ecs::task", "transition": progression})

    def client(self, service: str = "ecs") -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def create_network(self) -> Network:
        """A VPC, subnet and security group for awsvpc tasks.

        DNS hostnames are enabled because moto's RunTask fails with HTTP 500 on
        a VPC without them.
        """
        ec2 = self.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.1.0/24")["Subnet"]["SubnetId"]
        sg = ec2.create_security_group(GroupName="fargate-dev", Description="fargate-operator dev", VpcId=vpc)
        return Network(vpc, subnet, sg["GroupId"])

    def __enter__(self) -> EcsEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
