"""A one-node Kubernetes cluster inside a network namespace: the node tier of the test world.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd, kubelet,
kube-proxy (iptables), CoreDNS (a Deployment behind kube-dns), the ECS emulator and
an OCI registry (registry.py; containerd pulls from it over plain HTTP), all inside
one network + mount namespace (devenv/netns.py). Pods reach the API server through
the ``kubernetes`` Service and the emulator at the node address. The host reaches
the API server, the emulator and the registry only through loopback ports that lead
into the namespace (devenv/netns_forward.py): by the network rule, private
addresses exist only inside the namespace the world made.

Used by ``fargate-devenv node`` and the ``node`` pytest fixture (tests/node/).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from fargate_devenv import node_config as cfg
from fargate_devenv import processes
from fargate_devenv.assets import Assets, ensure_assets
from fargate_devenv.ecs_emulator import EcsEmulator
from fargate_devenv.host_packages import CNI_DIR, ensure_host_packages, which
from fargate_devenv.netns import COMPONENT_PATH, NODE_IP, NodeNamespace
from fargate_devenv.node_assets import NodeAssets, ensure_node_assets
from fargate_devenv.oci_archive import write_image
from fargate_devenv.pki import write_client_cert, write_pki
from fargate_devenv.registry import Registry, ensure_registry

ADMIN_USER = "fargate-node-admin"
# Token users of the components; the API server's bootstrap RBAC knows these names.
COMPONENT_USERS = {
    "kubelet": (f"system:node:{cfg.NODE_NAME}", "system:nodes"),
    "kube-proxy": ("system:kube-proxy", ""),
    "kube-controller-manager": ("system:kube-controller-manager", ""),
    "kube-scheduler": ("system:kube-scheduler", ""),
}
# Paths outside the run directory that the components write whatever they are told (real-node.md);
# the namespace bind-mounts them from the run directory, and these are checked empty afterwards.
LEFT_OUTSIDE = ("/var/log/containers", "/var/lib/kubelet/device-plugins", "/var/lib/cni/results")


@dataclass
class NodeWorld:
    run_dir: Path
    startup_timeout: float = 180.0

    assets: Assets | None = None
    node_assets: NodeAssets | None = None
    ns: NodeNamespace | None = None
    ecs: EcsEmulator | None = None
    registry: Registry | None = None
    apiserver_port: int = 0
    kubeconfig: Path = field(default_factory=Path)  # the host's admin kubeconfig (loopback forward)
    admin_token: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    _procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> NodeWorld:
        t0 = time.monotonic()
        ensure_host_packages()
        self.assets = ensure_assets()
        self.node_assets = ensure_node_assets()
        ensure_registry()
        self.timings["provision"] = time.monotonic() - t0
        t1 = time.monotonic()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.ns = NodeNamespace(self.run_dir / "ns").start()
            self.apiserver_port = processes.free_port()
            ecs_port = processes.free_port()
            registry_port = processes.free_port()
            self._start_forwarder(self.apiserver_port, ecs_port, registry_port)
            self.registry = Registry(self.run_dir / "registry", registry_port, tuple(self.ns.enter())).start()
            self._start_control_plane()
            self._start_containerd()
            self._import_node_images()
            self._start_kubelet_and_proxy()
            self._start_ecs(ecs_port)
            self._install_dns()
        except BaseException:
            self.stop()
            raise
        self.timings["start"] = time.monotonic() - t1
        return self

    def stop(self) -> None:
        # Kubelet first (no restarts of what is being stopped), then the runtime, then everything left.
        for name in ("kubelet", "kube-proxy", "kube-scheduler", "kube-controller-manager"):
            processes.stop(self._procs.pop(name, None))
        if self.ecs is not None:
            self.ecs.stop()
            self.ecs = None
        for name in ("containerd", "kube-apiserver", "etcd"):
            processes.stop(self._procs.pop(name, None))
        if self.registry is not None:
            self.registry.stop()
            self.registry = None
        processes.stop(self._procs.pop("forward", None))
        if self.ns is not None:
            self.ns.stop()  # shims, containers, anything still in the namespace
            self.ns = None
        _remove_cgroups(cfg.cgroup_root(self.run_dir))

    def __enter__(self) -> NodeWorld:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what tests use ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"

    @property
    def inside_url(self) -> str:
        return f"https://{NODE_IP}:{self.apiserver_port}"

    @property
    def ecs_inside_endpoint(self) -> str:
        """The emulator as pods see it."""
        assert self.ecs is not None
        return f"http://{NODE_IP}:{self.ecs.port}"

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert self.assets is not None
        return subprocess.run(
            [
                str(self.assets.kubectl),
                f"--kubeconfig={self.kubeconfig}",
                f"--cache-dir={self.run_dir / 'kube-cache'}",
                *args,
            ],
            input=input,
            capture_output=True,
            text=True,
            check=check,
            timeout=300,
        )

    def helm(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        assert self.assets is not None
        env = {
            **os.environ,
            "HELM_CACHE_HOME": str(self.run_dir / "helm" / "cache"),
            "HELM_CONFIG_HOME": str(self.run_dir / "helm" / "config"),
            "HELM_DATA_HOME": str(self.run_dir / "helm" / "data"),
        }
        res = subprocess.run(
            [str(self.assets.helm), f"--kubeconfig={self.kubeconfig}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
        if check and res.returncode != 0:
            raise RuntimeError(f"helm {' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
        return res

    def load_image(self, archive: Path) -> None:
        """Import a `docker save` archive into the node's containerd (namespace k8s.io, where kubelet looks)."""
        assert self.ns is not None
        self.ns.run(
            str(which("ctr")),
            f"--address={self.run_dir / 'containerd' / 'containerd.sock'}",
            "-n",
            "k8s.io",
            "images",
            "import",
            str(archive),
            timeout=300,
        )

    def write_kubeconfig(self, path: Path) -> Path:
        assert self._pki_dir is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            yaml.safe_dump(cfg.kubeconfig(self.url, self._pki_dir / "ca.crt", ADMIN_USER, self.admin_token))
        )
        path.chmod(0o600)
        return path

    def leftovers(self) -> list[str]:
        """What the node left outside its run directory (must be nothing after stop())."""
        found = [p for p in LEFT_OUTSIDE if Path(p).exists() and any(Path(p).iterdir())]
        found += [f"cgroup {c}" for c in _cgroup_dirs(cfg.cgroup_root(self.run_dir)) if Path(c).exists()]
        return found

    # --- parts -------------------------------------------------------------------------------------

    @property
    def _pki_dir(self) -> Path:
        return self.run_dir / "pki"

    def _log(self, name: str) -> Path:
        return self.run_dir / "logs" / f"{name}.log"

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        assert self.ns is not None
        proc = processes.start([*self.ns.enter(), *cmd], self._log(name), env={"PATH": COMPONENT_PATH, "HOME": "/root"})
        self._procs[name] = proc
        return proc

    def _start_forwarder(self, *ports: int) -> None:
        assert self.ns is not None
        self._procs["forward"] = processes.start(
            [
                sys.executable,
                "-m",
                "fargate_devenv.netns_forward",
                "--pid",
                str(self.ns.pid),
                *map(str, ports),
            ],
            self._log("forward"),
        )

    def _start_control_plane(self) -> None:
        assert self.assets is not None
        pki = write_pki(
            self._pki_dir,
            extra_ips=(NODE_IP, cfg.KUBERNETES_SERVICE_IP),
            extra_dns=("kubernetes", "kubernetes.default", f"kubernetes.default.svc.{cfg.CLUSTER_DOMAIN}"),
        )
        kubelet_client = write_client_cert(self._pki_dir, "apiserver-kubelet-client", "kube-apiserver-kubelet-client")
        self.admin_token = secrets.token_hex(24)
        tokens = [f'{self.admin_token},{ADMIN_USER},{ADMIN_USER},"system:masters"']
        self._tokens: dict[str, str] = {}
        for component, (user, group) in COMPONENT_USERS.items():
            token = secrets.token_hex(24)
            self._tokens[component] = token
            tokens.append(f"{token},{user},{user}" + (f',"{group}"' if group else ""))
        token_file = self._pki_dir / "tokens.csv"
        token_file.write_text("\n".join(tokens) + "\n")
        token_file.chmod(0o600)
        for component in COMPONENT_USERS:
            path = self.run_dir / "kubeconfigs" / f"{component}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(
                yaml.safe_dump(
                    cfg.kubeconfig(self.inside_url, pki.ca_cert, COMPONENT_USERS[component][0], self._tokens[component])
                )
            )
            path.chmod(0o600)
        self.kubeconfig = self.write_kubeconfig(self.run_dir / "kubeconfig")

        etcd_data = self.run_dir / "etcd-data"
        shutil.rmtree(etcd_data, ignore_errors=True)
        etcd = self._spawn(
            "etcd",
            [
                str(self.assets.etcd),
                "--name=default",
                f"--data-dir={etcd_data}",
                "--listen-client-urls=http://127.0.0.1:2379",
                "--advertise-client-urls=http://127.0.0.1:2379",
                "--listen-peer-urls=http://127.0.0.1:2380",
                "--initial-advertise-peer-urls=http://127.0.0.1:2380",
                "--initial-cluster=default=http://127.0.0.1:2380",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        apiserver = self._spawn(
            "kube-apiserver",
            [
                str(self.assets.kube_apiserver),
                "--etcd-servers=http://127.0.0.1:2379",
                f"--cert-dir={self._pki_dir}",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca_cert}",
                "--bind-address=0.0.0.0",
                f"--advertise-address={NODE_IP}",
                f"--secure-port={self.apiserver_port}",
                f"--service-cluster-ip-range={cfg.SERVICE_CIDR}",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                f"--token-auth-file={token_file}",
                f"--service-account-issuer=https://kubernetes.default.svc.{cfg.CLUSTER_DOMAIN}",
                f"--service-account-key-file={pki.sa_public}",
                f"--service-account-signing-key-file={pki.sa_private}",
                f"--kubelet-client-certificate={kubelet_client[0]}",
                f"--kubelet-client-key={kubelet_client[1]}",
                "--kubelet-preferred-address-types=InternalIP",
                "--allow-privileged=true",
                "--v=0",
            ],
        )
        context = ssl.create_default_context(cafile=str(pki.ca_cert))

        def ready() -> bool:
            req = urllib.request.Request(f"{self.url}/readyz", headers={"Authorization": f"Bearer {self.admin_token}"})
            with urllib.request.urlopen(req, timeout=2, context=context) as resp:
                return bool(resp.status == 200)

        for name, proc in (("etcd", etcd), ("kube-apiserver", apiserver)):
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited: {processes.tail(self._log(name))}")
        processes.wait_until(ready, apiserver, "kube-apiserver", self._log("kube-apiserver"), self.startup_timeout)
        assert self.node_assets is not None
        kubeconfigs = self.run_dir / "kubeconfigs"
        self._spawn(
            "kube-controller-manager",
            [
                str(self.node_assets.kube_controller_manager),
                f"--kubeconfig={kubeconfigs / 'kube-controller-manager.yaml'}",
                "--use-service-account-credentials",
                f"--service-account-private-key-file={pki.sa_private}",
                f"--root-ca-file={pki.ca_cert}",
                f"--cluster-signing-cert-file={pki.ca_cert}",
                f"--cluster-signing-key-file={self._pki_dir / 'ca.key'}",
                f"--flex-volume-plugin-dir={self.run_dir / 'flex-volume'}",
                f"--cert-dir={self.run_dir / 'kcm-certs'}",
                "--bind-address=127.0.0.1",
                "--leader-elect=false",
                "--v=0",
            ],
        )
        self._spawn(
            "kube-scheduler",
            [
                str(self.node_assets.kube_scheduler),
                f"--kubeconfig={kubeconfigs / 'kube-scheduler.yaml'}",
                f"--cert-dir={self.run_dir / 'scheduler-certs'}",
                "--bind-address=127.0.0.1",
                "--leader-elect=false",
                "--v=0",
            ],
        )

    def _start_containerd(self) -> None:
        c = self.run_dir / "containerd"
        c.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "cni" / "net.d").mkdir(parents=True, exist_ok=True)
        (self.run_dir / "cni" / "net.d" / "10-fargate-node.conflist").write_text(cfg.cni_conflist(self.run_dir))
        config = c / "config.toml"
        config.write_text(cfg.containerd_config(self.run_dir, which("runc"), CNI_DIR))
        assert self.registry is not None
        hosts = cfg.registry_hosts_dir(self.run_dir) / self.registry.host
        hosts.mkdir(parents=True, exist_ok=True)
        (hosts / "hosts.toml").write_text(cfg.registry_hosts_toml(self.registry.host))
        proc = self._spawn("containerd", [str(which("containerd")), f"--config={config}", "--log-level=warn"])
        socket = c / "containerd.sock"
        processes.wait_until(socket.exists, proc, "containerd", self._log("containerd"), 60)

    def _import_node_images(self) -> None:
        assert self.node_assets is not None
        images = self.run_dir / "images"
        pause = write_image(images / "pause.tar", cfg.PAUSE_IMAGE, {"/pause": self.node_assets.pause}, ["/pause"])
        coredns = write_image(
            images / "coredns.tar", cfg.COREDNS_IMAGE, {"/coredns": self.node_assets.coredns}, ["/coredns"]
        )
        for archive in (pause, coredns):
            self.load_image(archive)

    def _start_kubelet_and_proxy(self) -> None:
        assert self.node_assets is not None
        (self.run_dir / "resolv.conf").write_text("")  # no host resolvers in pods: no name leaves the node
        kubelet_config = self.run_dir / "kubelet-config.yaml"
        kubelet_config.write_text(
            cfg.kubelet_config(self.run_dir, self._pki_dir / "ca.crt", self.run_dir / "containerd" / "containerd.sock")
        )
        kubeconfigs = self.run_dir / "kubeconfigs"
        _make_cgroups(cfg.cgroup_root(self.run_dir))
        self._spawn(
            "kubelet",
            [
                str(self.node_assets.kubelet),
                f"--config={kubelet_config}",
                f"--kubeconfig={kubeconfigs / 'kubelet.yaml'}",
                f"--root-dir={self.run_dir / 'kubelet'}",
                f"--cert-dir={self.run_dir / 'kubelet' / 'pki'}",
                f"--hostname-override={cfg.NODE_NAME}",
                f"--node-ip={NODE_IP}",
                "--v=0",
            ],
        )
        proxy_config = self.run_dir / "kube-proxy-config.yaml"
        proxy_config.write_text(cfg.kube_proxy_config(kubeconfigs / "kube-proxy.yaml"))
        self._spawn("kube-proxy", [str(self.node_assets.kube_proxy), f"--config={proxy_config}", "--v=0"])

        def node_ready() -> bool:
            out = self.kubectl("get", "node", cfg.NODE_NAME, "-o", "json", check=False)
            if out.returncode != 0:
                return False
            conditions = json.loads(out.stdout)["status"].get("conditions", [])
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

        processes.wait_until(
            node_ready, self._procs["kubelet"], "node Ready", self._log("kubelet"), self.startup_timeout
        )

    def _start_ecs(self, port: int) -> None:
        assert self.ns is not None
        self.ecs = EcsEmulator(
            port=port, log=self._log("ecs-emulator"), bind_host="0.0.0.0", command_prefix=tuple(self.ns.enter())
        ).start()

    def _install_dns(self) -> None:
        docs = "\n---\n".join(yaml.safe_dump(d) for d in cfg.coredns_manifests())
        self.kubectl("apply", "-f", "-", input=docs)
        self.kubectl(
            "-n", "kube-system", "rollout", "status", "deployment/coredns", f"--timeout={int(self.startup_timeout)}s"
        )


def _cgroup_dirs(root: str) -> list[str]:
    base = Path("/sys/fs/cgroup")
    return [str(base / c.name / root.strip("/")) for c in base.iterdir() if c.is_dir()] if base.exists() else []


def _make_cgroups(root: str) -> None:
    """kubelet refuses a cgroupRoot that does not exist; cpuset needs its cpus and mems filled in (v1)."""
    for top in _cgroup_dirs(root):
        path = Path(top)
        if not path.parent.is_dir() or (path.parent / "cgroup.procs").exists() is False:
            continue
        path.mkdir(exist_ok=True)
        for knob in ("cpuset.cpus", "cpuset.mems"):
            if (path / knob).exists() and not (path / knob).read_text().strip():
                (path / knob).write_text((path.parent / knob).read_text())


def _remove_cgroups(root: str, wait: float = 10.0) -> None:
    """Pod cgroups kubelet made under its cgroupRoot: empty once every process is gone; remove them.

    A killed process leaves its cgroup a moment after the kill returns (rmdir is EBUSY until then),
    so removal is retried for a while rather than leaving empty cgroups behind.
    """
    deadline = time.monotonic() + wait
    while True:
        for top in _cgroup_dirs(root):
            if not Path(top).exists():
                continue
            for dirpath, _, _ in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
                with contextlib.suppress(OSError):
                    os.rmdir(dirpath)
        if not any(Path(top).exists() for top in _cgroup_dirs(root)) or time.monotonic() > deadline:
            return
        time.sleep(0.2)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
