"""Build k8s.io/kubernetes commands (kube-apiserver, kubelet & co.) with Go from the module proxy.

k8s.io/kubernetes replaces its staging modules with local ./staging paths, so ``go install`` of it
refuses; a wrapper module requires it and pins each staging module to its tag instead.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from fargate_devenv import versions
from fargate_devenv.cache import go, log


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


def _version_ldflags() -> str:
    major, minor = versions.KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    return " ".join(
        f"-X {pkg}.{k}={v}"
        for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
        for k, v in (("gitVersion", versions.KUBERNETES_VERSION), ("gitMajor", major), ("gitMinor", minor))
    )


def build_kubernetes(target_dir: Path, commands: tuple[str, ...]) -> None:
    """Build k8s.io/kubernetes/cmd/<command> for each command into target_dir, through the wrapper module."""
    if shutil.which("go") is None:
        raise RuntimeError(f"{', '.join(commands)} must be built with Go, and `go` is not on PATH")
    log(f"building {', '.join(commands)} {versions.KUBERNETES_VERSION} with Go (a cold build takes minutes)")
    target_dir.mkdir(parents=True, exist_ok=True)
    work = target_dir / "build"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    info = json.loads(go(["mod", "download", "-json", f"k8s.io/kubernetes@{versions.KUBERNETES_VERSION}"], work))
    (work / "go.mod").write_text(wrapper_gomod(Path(info["GoMod"]).read_text()))
    imports = "\n".join(f'\t_ "k8s.io/kubernetes/cmd/{c}"' for c in commands)
    (work / "tools.go").write_text(f"//go:build tools\n\npackage tools\n\nimport (\n{imports}\n)\n")
    go(["mod", "tidy", "-e"], work)
    out = target_dir / "build-out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    go(
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
