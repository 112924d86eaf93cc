"""The node tier's binaries: built once with Go and cached per version, like kube-apiserver.

- kube-controller-manager, kube-scheduler, kubelet, kube-proxy: one ``go build``
  through the same wrapper module as kube-apiserver (devenv/kube_build.py), pinned
  to the same version (devenv/versions.py);
- CoreDNS (cluster DNS) from the Go module proxy, built as CoreDNS documents for
  a custom plugin set: a main package importing ``coremain`` and only the plugins
  a test cluster's Corefile uses (no cloud providers' SDKs to download and build);
- ``pause``: the pod sandbox's process, a few lines of Go that wait for SIGTERM
  and reap children (no registry is reachable for ``registry.k8s.io/pause``).

Host programs (containerd, runc, CNI plugins, iptables, conntrack, docker,
debootstrap) come from Debian's packages: devenv/host_packages.py.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from fargate_devenv import versions
from fargate_devenv.cache import cache_root, go, locked, log
from fargate_devenv.kube_build import build_kubernetes

COREDNS_PLUGINS = ("errors", "health", "ready", "kubernetes", "cache", "loadbalance", "log")

PAUSE_GO = """package main

// The pod sandbox's process: hold the namespaces, reap orphans, exit on SIGTERM/SIGINT.

import (
\t"os"
\t"os/signal"
\t"syscall"
)

func main() {
\tsignals := make(chan os.Signal, 8)
\tsignal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
\tfor s := range signals {
\t\tif s != syscall.SIGCHLD {
\t\t\tos.Exit(0)
\t\t}
\t\tfor {
\t\t\tvar status syscall.WaitStatus
\t\t\tif pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil); pid <= 0 || err != nil {
\t\t\t\tbreak
\t\t\t}
\t\t}
\t}
}
"""


@dataclass(frozen=True)
class NodeAssets:
    kube_controller_manager: Path
    kube_scheduler: Path
    kubelet: Path
    kube_proxy: Path
    coredns: Path
    pause: Path


def coredns_main() -> str:
    imports = "\n".join(f'\t_ "{versions.COREDNS_MODULE}/plugin/{p}"' for p in COREDNS_PLUGINS)
    return (
        "package main\n\nimport (\n"
        f'\t"{versions.COREDNS_MODULE}/coremain"\n{imports}\n)\n\n'
        "func main() {\n\tcoremain.Run()\n}\n"
    )


def _build_main(target: Path, module: str, main_go: str, requires: tuple[str, ...] = ()) -> None:
    """A one-file Go program in a throwaway module; the binary appears only when the build succeeded."""
    work = target.parent / f"build-{target.name}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    require = "".join(f"require {r}\n" for r in requires)
    (work / "go.mod").write_text(f"module {module}\n\ngo 1.24\n\n{require}")
    (work / "main.go").write_text(main_go)
    if requires:
        go(["mod", "tidy"], work)
    tmp = target.with_suffix(".tmp")
    go(["build", "-trimpath", "-ldflags", "-s -w", "-o", str(tmp), "."], work)
    tmp.replace(target)
    shutil.rmtree(work, ignore_errors=True)


def _provision_kubernetes_node(root: Path) -> dict[str, Path]:
    target_dir = root / f"kube-node-{versions.KUBERNETES_VERSION}"
    binaries = {c: target_dir / c for c in versions.NODE_COMPONENTS}
    if not all(p.exists() for p in binaries.values()):
        build_kubernetes(target_dir, versions.NODE_COMPONENTS)
    return binaries


def _provision_coredns(root: Path) -> Path:
    target = root / f"coredns-{versions.COREDNS_VERSION}" / "coredns"
    if not target.exists():
        log(f"building CoreDNS {versions.COREDNS_VERSION} ({', '.join(COREDNS_PLUGINS)}) with Go")
        target.parent.mkdir(parents=True, exist_ok=True)
        _build_main(
            target,
            "fargate-operator.dev/coredns-build",
            coredns_main(),
            (f"{versions.COREDNS_MODULE} {versions.COREDNS_VERSION}",),
        )
    return target


def _provision_pause(root: Path) -> Path:
    target = root / "pause-1" / "pause"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        _build_main(target, "fargate-operator.dev/pause", PAUSE_GO)
    return target


def ensure_node_assets() -> NodeAssets:
    root = cache_root() / "assets"
    with locked(root / ".lock"):
        kube = _provision_kubernetes_node(root)
        coredns = _provision_coredns(root)
        pause = _provision_pause(root)
    return NodeAssets(
        kube_controller_manager=kube["kube-controller-manager"],
        kube_scheduler=kube["kube-scheduler"],
        kubelet=kube["kubelet"],
        kube_proxy=kube["kube-proxy"],
        coredns=coredns,
        pause=pause,
    )


def describe(assets: NodeAssets) -> str:
    return json.dumps({k: str(v) for k, v in assets.__dict__.items()}, indent=2)
