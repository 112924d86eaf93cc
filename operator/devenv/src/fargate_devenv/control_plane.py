"""A node-less Kubernetes control plane: etcd + kube-apiserver as local processes.

The envtest approach: everything an operator talks to is real (structural
schemas, CEL, defaulting, pruning, status subresource, finalizers, watches,
RBAC, events), but no controllers run, so namespaces never finish deleting and
owner references are never garbage-collected.
"""

from __future__ import annotations

import base64
import secrets
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from fargate_devenv import processes
from fargate_devenv.assets import Assets
from fargate_devenv.pki import ControlPlanePKI, write_pki

ADMIN_USER = "fargate-operator-dev-admin"
# What the audit log records (at Metadata level: who, what, the decision; never a request body, so
# no TokenReview's token): writes of the four kinds (not their status), and the reviews the adapters
# ask for. Everything else is left out, to keep the log small on a busy test world.
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [
        {
            "level": "Metadata",
            "verbs": ["create", "update", "patch", "delete"],
            "resources": [
                {
                    "group": "ecs.fargate.dev",
                    "resources": ["fargateclusters", "fargatetaskdefinitions", "fargateservices", "fargatetasks"],
                }
            ],
        },
        {
            "level": "Metadata",
            "resources": [
                {"group": "authentication.k8s.io", "resources": ["tokenreviews"]},
                {"group": "authorization.k8s.io", "resources": ["subjectaccessreviews"]},
            ],
        },
        {"level": "None"},
    ],
}


@dataclass
class ControlPlane:
    assets: Assets
    workdir: Path | None = None
    startup_timeout: float = 120.0

    url: str = ""
    kubeconfig: Path = field(default_factory=Path)
    admin_token: str = ""
    _etcd: subprocess.Popen[bytes] | None = None
    _apiserver: subprocess.Popen[bytes] | None = None
    _owns_workdir: bool = False
    etcd_url: str = ""
    _ports: dict[str, int] = field(default_factory=dict)
    _pki: ControlPlanePKI | None = None
    audit_log: Path = field(default_factory=Path)  # JSON lines, one audit event each (AUDIT_POLICY)

    def start(self) -> ControlPlane:
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="fargate-cp-"))
            self._owns_workdir = True
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._ports = {name: processes.free_port() for name in ("etcd", "peer", "apiserver")}
        shutil.rmtree(self.workdir / "etcd-data", ignore_errors=True)
        self._start_etcd()
        self._start_apiserver()
        return self

    def pids(self) -> dict[str, int]:
        """The running processes by name (benchmarks sample their RSS and CPU)."""
        procs = {"etcd": self._etcd, "kube-apiserver": self._apiserver}
        return {name: p.pid for name, p in procs.items() if p is not None and p.poll() is None}

    def restart(self, downtime: float = 0.0) -> None:
        """Stop kube-apiserver and etcd, wait, start them again: same ports, data, certificates and token."""
        processes.stop(self._apiserver)
        processes.stop(self._etcd)
        time.sleep(downtime)
        self._start_etcd()
        self._start_apiserver(fresh=False)

    def _start_etcd(self) -> None:
        assert self.workdir is not None
        client, peer = self._ports["etcd"], self._ports["peer"]
        self.etcd_url = f"http://127.0.0.1:{client}"
        data = self.workdir / "etcd-data"
        log = self.workdir / "etcd.log"
        self._etcd = processes.start(
            [
                str(self.assets.etcd),
                "--name=default",
                f"--data-dir={data}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=default=http://127.0.0.1:{peer}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
            log,
        )

        def healthy() -> bool:
            with urllib.request.urlopen(f"{self.etcd_url}/health", timeout=1) as resp:
                return bool(resp.status == 200)

        processes.wait_until(healthy, self._etcd, "etcd", log, self.startup_timeout)

    def _start_apiserver(self, fresh: bool = True) -> None:
        assert self.workdir is not None
        if fresh or self._pki is None:
            self._pki = write_pki(self.workdir / "pki")
        pki = self._pki
        tokens = self.workdir / "tokens.csv"
        if fresh:
            self.admin_token = secrets.token_hex(24)
            tokens.write_text(f'{self.admin_token},{ADMIN_USER},{ADMIN_USER},"system:masters"\n')
            tokens.chmod(0o600)
        port = self._ports["apiserver"]
        self.url = f"https://127.0.0.1:{port}"
        log = self.workdir / "kube-apiserver.log"
        policy = self.workdir / "audit-policy.yaml"
        policy.write_text(yaml.safe_dump(AUDIT_POLICY))
        self.audit_log = self.workdir / "audit.log"
        self._apiserver = processes.start(
            [
                str(self.assets.kube_apiserver),
                f"--etcd-servers={self.etcd_url}",
                f"--cert-dir={self.workdir / 'pki'}",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca_cert}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={port}",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--authorization-mode=RBAC",
                f"--token-auth-file={tokens}",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-account-key-file={pki.sa_public}",
                f"--service-account-signing-key-file={pki.sa_private}",
                "--disable-admission-plugins=ServiceAccount",
                "--allow-privileged=true",
                "--enable-priority-and-fairness=false",
                f"--audit-policy-file={policy}",
                f"--audit-log-path={self.audit_log}",
                "--audit-log-mode=blocking",  # an event is on disk before the answer: tests read it at once
                "--v=0",
            ],
            log,
        )
        context = ssl.create_default_context(cafile=str(pki.ca_cert))

        def ready() -> bool:
            req = urllib.request.Request(f"{self.url}/readyz", headers={"Authorization": f"Bearer {self.admin_token}"})
            with urllib.request.urlopen(req, timeout=2, context=context) as resp:
                return bool(resp.status == 200)

        processes.wait_until(ready, self._apiserver, "kube-apiserver", log, self.startup_timeout)
        self.kubeconfig = self.workdir / "kubeconfig"
        self.write_kubeconfig(self.kubeconfig)

    def write_kubeconfig(self, path: Path) -> Path:
        assert self.workdir is not None
        ca = base64.b64encode((self.workdir / "pki" / "ca.crt").read_bytes()).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fargate-dev", "cluster": {"server": self.url, "certificate-authority-data": ca}}],
            "users": [{"name": ADMIN_USER, "user": {"token": self.admin_token}}],
            "contexts": [{"name": "fargate-dev", "context": {"cluster": "fargate-dev", "user": ADMIN_USER}}],
            "current-context": "fargate-dev",
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config))
        path.chmod(0o600)
        return path

    def kubectl_command(self) -> list[str]:
        """kubectl with this control plane's kubeconfig, for callers that run it themselves (e.g. a watch)."""
        return [str(self.assets.kubectl), f"--kubeconfig={self.kubeconfig}", f"--cache-dir={self.workdir}/kube-cache"]

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.kubectl_command(), *args],
            input=input,
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def stop(self) -> None:
        processes.stop(self._apiserver)
        processes.stop(self._etcd)
        self._apiserver = self._etcd = None
        if self._owns_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
