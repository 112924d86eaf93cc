"""Two (or more) operator replicas electing a leader on one Lease, for the leader-election (HA) tests.

Each replica is a real `fargate-operator run --leader-elect` process with its own ECS proxy
(journal on: who wrote what, and when) and, optionally, its own fault proxy in front of
kube-apiserver (so it alone can be partitioned from the API server).
"""

from __future__ import annotations

import base64
import datetime
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from fargate_devenv.api_proxy import ApiProxy
from fargate_devenv.control_plane import ControlPlane
from fargate_devenv.ecs_proxy import EcsProxy
from fargate_devenv.fault_proxy import FaultProxy
from fargate_operator.leader.lease import parse_micro_time
from fargate_operator.web.auth import CREDENTIAL_LABEL
from support import identity as identity_support
from support.operator_process import OperatorProcess, wait_for

LEASE = "fargate-operator"
TARGET = "AmazonEC2ContainerServiceV20141113."


@dataclass(frozen=True)
class Durations:
    lease: int = 6
    renew: float = 4.0
    retry: float = 1.0

    def args(self) -> tuple[str, ...]:
        return (
            f"--leader-elect-lease-duration={self.lease}",
            f"--leader-elect-renew-deadline={self.renew}",
            f"--leader-elect-retry-period={self.retry}",
        )


def proxied_control_plane(cp: ControlPlane, proxy: FaultProxy | ApiProxy, path: Path) -> ControlPlane:
    """The same API server, reached through `proxy` on 127.0.0.1 (the certificate names 127.0.0.1)."""
    config = yaml.safe_load(cp.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"
    path.write_text(yaml.safe_dump(config))
    proxied = type(cp)(cp.assets)
    proxied.kubeconfig = path
    return proxied


def api_server_address(cp: ControlPlane) -> tuple[str, int]:
    url = urlsplit(cp.url)
    return url.hostname or "127.0.0.1", int(url.port or 443)


@dataclass
class Replica:
    name: str
    process: OperatorProcess
    ecs: EcsProxy
    api: FaultProxy | None = None

    def start(self) -> Replica:
        self.process.start()
        return self

    def readyz(self) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"{self.process.rest_endpoint}/readyz", timeout=2) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()
        except OSError as err:
            return 0, str(err)

    def metric(self, name: str, **labels: str) -> float:
        """One sample of the replica's /metrics (0 when absent)."""
        return self.process.metric(name, **labels)

    def writes(self) -> list[Any]:
        """ECS writes this replica's proxy forwarded (journal), in order."""
        return [c for c in self.arrivals() if c.fault is None]

    def arrivals(self) -> list[Any]:
        """ECS writes that reached this replica's proxy (journal), in order: forwarded, or answered with a fault
        (a throttled write left the process all the same)."""
        from fargate_operator.ecs.fence import is_write

        assert self.ecs.journal is not None
        return [c for c in list(self.ecs.journal) if is_write(c.action)]

    def stop(self) -> None:
        self.process.stop()


@dataclass
class Replicas:
    """N replicas of one operator (one watched namespace), electing on Lease `namespace`/fargate-operator."""

    cp: ControlPlane
    ecs_endpoint: str
    namespace: str
    workdir: Path
    durations: Durations = field(default_factory=Durations)
    names: tuple[str, ...] = ("replica-a", "replica-b")
    partitionable: bool = False
    extra_args: tuple[str, ...] = ()
    members: dict[str, Replica] = field(default_factory=dict)

    def start(self) -> Replicas:
        for name in self.names:
            ecs = EcsProxy(self.ecs_endpoint, journal=True).start()
            cp, api = self.cp, None
            if self.partitionable:
                api = FaultProxy(*api_server_address(self.cp)).start()
                cp = proxied_control_plane(self.cp, api, self.workdir / f"{name}.kubeconfig")
            process = OperatorProcess(
                cp,
                ecs.endpoint,
                self.namespace,
                self.workdir / f"{name}.log",
                extra_args=(
                    "--leader-elect",
                    f"--leader-elect-identity={name}",
                    f"--leader-elect-resource-namespace={self.namespace}",
                    f"--credentials-namespace={self.namespace}",
                    "--mcp-write",
                    *self.durations.args(),
                    *self.extra_args,
                ),
            )
            self.members[name] = Replica(name, process, ecs, api).start()
        return self

    def __getitem__(self, name: str) -> Replica:
        return self.members[name]

    def lease(self) -> dict[str, Any]:
        out = self.cp.kubectl("get", "lease", LEASE, "-n", self.namespace, "-o", "json", check=False)
        spec: dict[str, Any] = json.loads(out.stdout).get("spec", {}) if out.returncode == 0 else {}
        return spec

    def holder(self) -> str:
        return str(self.lease().get("holderIdentity") or "")

    def leader(self, timeout: float = 60) -> Replica:
        name = wait_for("a leader", lambda: self.holder() in self.members and self.holder(), timeout=timeout)
        return self.members[name]

    def others(self, name: str) -> list[Replica]:
        return [r for n, r in self.members.items() if n != name]

    def wait_taken_over(self, old: str, timeout: float) -> tuple[str, datetime.datetime]:
        """Until another replica holds the Lease; returns it and its acquireTime (its own clock, this host)."""

        def taken() -> tuple[str, datetime.datetime] | None:
            spec = self.lease()
            holder = spec.get("holderIdentity") or ""
            acquired = parse_micro_time(spec.get("acquireTime"))
            return (holder, acquired) if holder and holder != old and acquired else None

        return wait_for(f"a replica other than {old} holding the Lease", taken, timeout=timeout, interval=0.05)

    def wait_ready(self, timeout: float = 90) -> None:
        for replica in self.members.values():
            replica.process.wait_ready(timeout)

    def stop(self) -> None:
        for replica in self.members.values():
            replica.stop()
            replica.ecs.stop()
            if replica.api is not None:
                replica.api.stop()

    def duplicate_run_tasks(self) -> dict[str, int]:
        """clientTokens RunTask was sent with more than once, over every replica's proxy."""
        tokens = Counter(c.client_token for r in self.members.values() for c in r.writes() if c.action == "RunTask")
        return {t: n for t, n in tokens.items() if n > 1}


def tenant_namespace(cp: ControlPlane, prefix: str) -> tuple[str, str]:
    """A fresh namespace and a bearer token for it: its key Secret acts as a ServiceAccount there that may
    do everything (a key names its Kubernetes user and RBAC decides); the read load and the
    RunTasks go through it. Returns (namespace, token)."""
    namespace, token = f"{prefix}-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    cp.kubectl("create", "namespace", namespace)
    identity_support.install_roles(cp)
    user = identity_support.service_account(cp, namespace, "ha-client", identity_support.FULL)
    data = {"token": token, "namespace": namespace, "user": user}
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "ha-reader", "labels": {CREDENTIAL_LABEL: "true"}},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }
    cp.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(secret))
    return namespace, token


def rest_call(endpoint: str, token: str, action: str, body: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
    request = urllib.request.Request(
        endpoint + "/",
        data=json.dumps(body).encode(),
        headers={
            "X-Amz-Target": TARGET + action,
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": f"Bearer {token}",
        },
    )
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        answer: dict[str, Any] = json.loads(resp.read())
    return answer


def mcp_call(endpoint: str, token: str, tool: str, arguments: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
    """One tools/call over stateless Streamable HTTP (JSON answers)."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}
    request = urllib.request.Request(
        endpoint,
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "Authorization": f"Bearer {token}",
            "MCP-Protocol-Version": "2025-06-18",
        },
    )
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        answer: dict[str, Any] = json.loads(resp.read())
    if "error" in answer or answer.get("result", {}).get("isError"):
        raise RuntimeError(f"MCP {tool}: {answer}")
    result: dict[str, Any] = answer["result"]
    return result


class ReadLoad:
    """A steady read load (REST DescribeClusters + ListTasks, MCP describeclusters) on one target replica.

    `target` can be switched at any time (to the replica that is not about to be killed);
    every failed or wrong answer is recorded with the replica it came from.
    """

    def __init__(self, token: str, cluster: str, interval: float = 0.1) -> None:
        self.token, self.cluster, self.interval = token, cluster, interval
        self.target: Replica | None = None
        self.ok = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="read-load", daemon=True)

    def start(self) -> ReadLoad:
        self._thread.start()
        return self

    def _one(self, replica: Replica, step: int) -> None:
        proc = replica.process
        if step % 3 == 0:
            found = rest_call(proc.rest_endpoint, self.token, "DescribeClusters", {"clusters": [self.cluster]})
            assert [c["clusterName"] for c in found["clusters"]] == [self.cluster], found
        elif step % 3 == 1:
            rest_call(proc.rest_endpoint, self.token, "ListTasks", {"cluster": self.cluster})
        else:
            result = mcp_call(proc.mcp_endpoint, self.token, "describeclusters", {"clusters": [self.cluster]})
            names = [c["clusterName"] for c in result["structuredContent"]["clusters"]]
            assert names == [self.cluster], result

    def _run(self) -> None:
        step = 0
        while not self._stop.is_set():
            replica = self.target
            if replica is not None:
                try:
                    self._one(replica, step)
                    self.ok += 1
                except Exception as exc:  # any failure counts: the acceptance is zero
                    self.errors.append(f"{time.strftime('%H:%M:%S')} {replica.name}: {type(exc).__name__}: {exc}")
                step += 1
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def distribution(values: list[float]) -> str:
    return (
        f"n={len(values)} min={min(values):.2f}s p50={percentile(values, 0.5):.2f}s "
        f"p90={percentile(values, 0.9):.2f}s max={max(values):.2f}s"
    )


def until(what: str, probe: Callable[[], Any], timeout: float) -> Any:
    return wait_for(what, probe, timeout=timeout, interval=0.05)
