"""``fargate-devenv release-local`` (``make release-local``): the release path, to the node's own registry.

What .github/workflows/release.yml does on a tag, at the checkout's version, without GitHub:
the operator image built from the Dockerfile (image.py) pushed to ``<registry>/fargate-operator:<v>``
(oci_push.py), the chart packaged and pushed with ``helm push`` to ``oci://<registry>/charts``, and
``install.yaml`` rendered for that image (pinned by digest) by the workflow's own command
(install_yaml.py), as the workflow attaches it to a release.
The registry is the node tier's (registry.py): ``make run-node`` writes its address into
``.run/node-env`` as ``FARGATE_REGISTRY``, or pass ``--registry``. Users then install from it
exactly as from ghcr.io (docs/install.md), with ``--plain-http``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fargate_devenv import install_yaml
from fargate_devenv.assets import ensure_assets
from fargate_devenv.image import ensure_operator_image
from fargate_devenv.oci_push import PushedImage, push_archive
from fargate_devenv.paths import repo_root
from fargate_devenv.release_version import source_version, stale_stamps

CHART_NAME = "fargate-operator"
IMAGE_NAME = "fargate-operator"
RELEASE_NAME = "fargate-operator"
REGISTRY_VARIABLE = "FARGATE_REGISTRY"


@dataclass(frozen=True)
class LocalRelease:
    version: str
    chart: str  # oci://<registry>/charts/fargate-operator (with --version <version>)
    image: PushedImage

    def helm_install(self, release: str = RELEASE_NAME, namespace: str = "fargate-system") -> list[str]:
        """docs/install.md for this registry: the chart by version, the image pinned by digest."""
        return [
            "install",
            release,
            self.chart,
            "--version",
            self.version,
            "--plain-http",
            "-n",
            namespace,
            "--create-namespace",
            "--set",
            f"image.repository={self.image.repository}",
            "--set",
            f"image.tag={self.image.tag}@{self.image.digest}",
        ]


def _helm_env(home: Path) -> dict[str, str]:
    """helm with a home of its own: nothing from the user's registries or repositories."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }


def _helm(helm: Path, home: Path, *args: str) -> str:
    res = subprocess.run([str(helm), *args], capture_output=True, text=True, env=_helm_env(home), timeout=300)
    if res.returncode != 0:
        raise RuntimeError(f"helm {' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return res.stdout + res.stderr


def release_local(repo: Path, registry: str) -> LocalRelease:
    """Build and push the image and the chart at the checkout's version to `registry` (``host:port``)."""
    version = source_version(repo)
    if stale := stale_stamps(repo):
        raise RuntimeError(f"the version's copies are stale ({', '.join(stale)}): run `make generate` first")
    image = push_archive(ensure_operator_image(repo).archive, registry, IMAGE_NAME, version)
    helm = ensure_assets().helm
    with tempfile.TemporaryDirectory(prefix="release-local-") as tmp:
        home = Path(tmp)
        chart = str(repo / "helm" / CHART_NAME)
        _helm(helm, home, "package", chart, "--version", version, "--app-version", version, "--destination", str(home))
        package = home / f"{CHART_NAME}-{version}.tgz"
        if not package.exists():
            raise RuntimeError(f"helm package wrote no {package.name}: is Chart.yaml's version {version}?")
        _helm(helm, home, "push", str(package), f"oci://{registry}/charts", "--plain-http")
    return LocalRelease(version, f"oci://{registry}/charts/{CHART_NAME}", image)


def write_install_yaml(repo: Path, release: LocalRelease, path: Path, namespace: str = "fargate-system") -> Path:
    """The release's install.yaml, rendered by the command .github/workflows/release.yml runs (install_yaml.py)."""
    with tempfile.TemporaryDirectory(prefix="release-local-") as tmp:
        return install_yaml.render(
            ensure_assets().helm, repo / install_yaml.CHART, release.image.ref, path, namespace, _helm_env(Path(tmp))
        )


def registry_from_env_file(path: Path) -> str | None:
    """``FARGATE_REGISTRY`` from a `source`-able env file (``make run-node`` writes .run/node-env)."""
    if not path.exists():
        return None
    found = re.findall(rf"^export {REGISTRY_VARIABLE}=['\"]?([^'\"\s]+)", path.read_text(), re.M)
    return found[-1] if found else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fargate-devenv release-local", description=__doc__.splitlines()[0])
    parser.add_argument("--registry", help="host:port of a plain-HTTP registry (default: the running node's)")
    parser.add_argument("--run-dir", type=Path, default=Path(".run"), help="where `make run-node` wrote node-env")
    args = parser.parse_args(argv)
    registry = args.registry or registry_from_env_file(args.run_dir / "node-env")
    if not registry:
        print(
            f"no registry: start the node tier (`make run-node`, writes {args.run_dir / 'node-env'}) "
            "or pass --registry host:port",
            file=sys.stderr,
        )
        return 2
    release = release_local(repo_root(), registry)
    print(f"chart  {release.chart} --version {release.version}")
    print(f"image  {release.image.ref}")
    print(f"digest {release.image.digest}")
    install = write_install_yaml(repo_root(), release, args.run_dir / "release" / "install.yaml")
    print(f"install.yaml {install}  (kubectl apply --server-side -f {install})")
    print("install: helm " + " ".join(release.helm_install()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
