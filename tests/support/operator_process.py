"""Running the real operator (`fargate-operator run`) as a process against the test world."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fargate_devenv import processes
from fargate_devenv.control_plane import ControlPlane
from fargate_devenv.ecs_emulator import ACCESS_KEY, REGION, SECRET_KEY
from fargate_devenv.tenancy import world_sharing

STATUS_CYCLES = "fargate_operator_status_cycles_total"  # handlers/refresh.py: one per completed status-loop cycle


@dataclass
class OperatorProcess:
    control_plane: ControlPlane
    ecs_endpoint: str
    namespace: str
    log: Path
    status_interval: float = 1.0
    rest_port: int = field(default_factory=processes.free_port)
    mcp_port: int = field(default_factory=processes.free_port)
    extra_args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)  # on top of the test's own environment
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def rest_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    @property
    def mcp_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.mcp_port}/mcp"

    def start(self) -> OperatorProcess:
        env = {
            **os.environ,
            "KUBECONFIG": str(self.control_plane.kubeconfig),
            "AWS_ENDPOINT_URL_ECS": self.ecs_endpoint,
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": self.ecs_endpoint,  # the emulator serves CloudWatch Logs too
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "FARGATE_OPERATOR_STATUS_INTERVAL": str(self.status_interval),
            **self.env,
        }
        if "--tenancy-config" not in self.extra_args and "FARGATE_OPERATOR_TENANCY_CONFIG" not in env:
            # Network references need a rule (docs/tenancy.md): the test world's, unless the test brings its own.
            path = self.log.with_name(f"{self.log.stem}-tenancy.yaml")
            path.write_text(yaml.safe_dump(world_sharing()))
            env["FARGATE_OPERATOR_TENANCY_CONFIG"] = str(path)
        cmd = [
            sys.executable,
            "-m",
            "fargate_operator.cli",
            "run",
            "--namespace",
            self.namespace,
            "--rest-host",
            "127.0.0.1",
            "--rest-port",
            str(self.rest_port),
            "--mcp-host",
            "127.0.0.1",
            "--mcp-port",
            str(self.mcp_port),
            *self.extra_args,
        ]
        self.proc = processes.start(cmd, self.log, env=env)
        return self

    def wait_ready(self, timeout: float = 60) -> OperatorProcess:
        """Until /readyz answers 200 (Kopf started, the adapters listen)."""

        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"{self.rest_endpoint}/readyz", timeout=1) as resp:
                    return bool(resp.status == 200)
            except OSError:
                return False

        wait_for("operator ready", ready, timeout=timeout)
        return self

    def metric(self, name: str, **labels: str) -> float:
        """One sample of the operator's /metrics (0 when absent); OSError while it does not answer."""
        with urllib.request.urlopen(f"{self.rest_endpoint}/metrics", timeout=5) as resp:
            text = resp.read().decode()
        want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in text.splitlines():
            if line.startswith("#") or " " not in line:
                continue
            key, value = line.rsplit(" ", 1)
            metric, _, rest = key.partition("{")
            if metric == name and (not labels or ",".join(sorted(rest.rstrip("}").split(","))) == want):
                return float(value)
        return 0.0

    def wait_cycles(self, n: int, timeout: float | None = None) -> None:
        """Until the status loop (this process's; in HA only the leader's runs) has run `n` whole cycles
        after this call: what it would do about the world as it is now, it has done by then.

        The counter rises as a cycle ends. The cycle under way at the call may have taken its snapshot
        before what the caller just did or saw, so it does not count: n + 1 ends are awaited. A restart
        starts the counter again at 0: call this after the restart, not across it.
        """
        budget = timeout if timeout is not None else 60 + n * (self.status_interval + 15)
        deadline = time.monotonic() + budget
        start: float | None = None
        seen: float | None = None
        while time.monotonic() < deadline:
            try:
                seen = self.metric(STATUS_CYCLES)
            except OSError:  # not answering yet: still starting
                seen = None
            if seen is not None:
                start = seen if start is None else start
                if seen >= start + n + 1:
                    return
            time.sleep(0.1)
        raise AssertionError(f"timed out after {budget:.0f}s waiting for {n} status-loop cycles ({start} -> {seen})")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no last writes."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        processes.stop(self.proc)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def operator_for_namespaces(
    control_plane: ControlPlane, ecs_endpoint: str, namespaces: tuple[str, ...], tenancy: Path, log: Path
) -> OperatorProcess:
    """One operator process watching every one of `namespaces`, with the tenancy config file `tenancy`, ready."""
    first, *rest = namespaces
    more = tuple(arg for ns in rest for arg in ("--namespace", ns))
    env = {"FARGATE_OPERATOR_TENANCY_CONFIG": str(tenancy)}
    return OperatorProcess(control_plane, ecs_endpoint, first, log, extra_args=more, env=env).start().wait_ready()


def wait_for(what: str, probe: Callable[..., Any], timeout: float = 60, interval: float = 0.3) -> Any:
    """The probe's first truthy answer (probes say "not yet" with None, False, "" or an empty collection)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


@dataclass
class Kube:
    """kubectl on one namespace, with JSON out."""

    cp: ControlPlane
    namespace: str

    def apply(self, manifest: dict[str, Any]) -> None:
        res = self.cp.kubectl("apply", "-n", self.namespace, "-f", "-", input=yaml.safe_dump(manifest), check=False)
        assert res.returncode == 0, res.stderr

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        res = self.cp.kubectl("get", kind, name, "-n", self.namespace, "-o", "json", check=False)
        if res.returncode != 0:
            return None
        obj: dict[str, Any] = json.loads(res.stdout)
        return obj

    def status(self, kind: str, name: str) -> dict[str, Any]:
        obj = self.get(kind, name) or {}
        status: dict[str, Any] = obj.get("status", {})
        return status

    def delete(self, kind: str, name: str, wait: bool = False) -> None:
        self.cp.kubectl(
            "delete",
            kind,
            name,
            "-n",
            self.namespace,
            f"--wait={str(wait).lower()}",
            "--ignore-not-found",
            "--timeout=60s",
        )

    def handled(self, kind: str, name: str) -> dict[str, Any] | None:
        """The status once Kopf has handled the object and has nothing in progress for it (no retry
        waiting out its delay): else None.

        Kopf keeps both in status (handlers/lifecycle.py) and writes them with a handler's result: a
        handler that finished wrote its outcome in the same patch that emptied its progress. An update
        handler's first attempt leaves no trace until it ends: wait for what it writes as well."""
        status = self.status(kind, name)
        kopf = status.get("kopf") or {}
        return status if kopf.get("last-handled-configuration") and not kopf.get("progress") else None

    def events(self, name: str) -> list[dict[str, Any]]:
        out = self.cp.kubectl(
            "get", "events", "-n", self.namespace, "--field-selector", f"involvedObject.name={name}", "-o", "json"
        ).stdout
        items: list[dict[str, Any]] = json.loads(out)["items"]
        return items


def condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in status.get("conditions", []) if c["type"] == type_), {})


def awsvpc(subnet: str, security_group: str) -> dict[str, Any]:
    return {
        "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [security_group], "assignPublicIp": "DISABLED"}
    }


def manifest(kind: str, name: str, spec: dict[str, Any], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "ecs.fargate.dev/v1alpha1", "kind": kind, "metadata": meta, "spec": spec}


def task_manifest(
    name: str, network: dict[str, Any], cluster: str = "c", td: str = "td", **extra: Any
) -> dict[str, Any]:
    """A FargateTask on Fargate that references a FargateCluster and a FargateTaskDefinition by name."""
    spec = {
        "clusterRef": {"name": cluster},
        "taskDefinitionRef": {"name": td},
        "launchType": "FARGATE",
        "networkConfiguration": network,
        **extra,
    }
    return manifest("FargateTask", name, spec)


def service_manifest(
    name: str, network: dict[str, Any], cluster: str = "c", td: str = "td", desired: int = 1, service: str = ""
) -> dict[str, Any]:
    """A FargateService (ECS name = `service` or the object name) referencing a cluster and a task definition."""
    spec = {
        "serviceName": service or name,
        "clusterRef": {"name": cluster},
        "taskDefinitionRef": {"name": td},
        "desiredCount": desired,
        "networkConfiguration": network,
    }
    return manifest("FargateService", name, spec)


def task_definition_spec(family: str, image: str = "public.ecr.aws/docker/library/busybox:1.36") -> dict[str, Any]:
    """The usual Fargate shape: task-level cpu/memory only (the ECS emulator accepts it, as ECS does)."""
    return {
        "family": family,
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{"name": "app", "image": image, "essential": True}],
    }
