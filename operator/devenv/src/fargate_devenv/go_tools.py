"""Go programs of the lint and test steps, built from the Go module proxy into the cache.

Each lands in ``<cache>/tools/<name>-<version>/`` (versions.py pins the version), so a fresh machine
builds it on first use and a version bump builds the new one beside the old. A program whose source
is in this repository (tools/<name>/, its dependencies locked by its go.sum) is keyed by a digest of
that source instead, so an edit builds anew.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from fargate_devenv import versions
from fargate_devenv.cache import cache_root, locked, log


def _build_once(name: str, target_dir: Path, what: str, build: Callable[[Path], None]) -> Path:
    """`target_dir`/`name`, built by `build(partial)` unless cached. The lock makes concurrent first uses
    (pytest workers) build once; the build writes a partial file renamed into place, so `target` is
    never half written."""
    target = target_dir / name
    if target.exists():
        return target
    if shutil.which("go") is None:
        raise RuntimeError(f"{name} is built with Go, and `go` is not on PATH")
    with locked(target_dir / ".lock"):
        if not target.exists():
            log(f"building {name} {what}")
            partial = target_dir / f".{name}.partial"
            build(partial)
            partial.rename(target)
    return target


def ensure_go_tool(package: str, version: str) -> Path:
    """The binary of `package` (a main package path) at `version`: from the cache, else built now."""
    name = package.rstrip("/").rsplit("/", 1)[-1]

    def build(partial: Path) -> None:
        # `go build` of a module@version needs a module around it; `go install` does not, but names the
        # binary after the package: install into a scratch GOBIN, then move it to `partial`.
        scratch = partial.parent / ".gobin"
        env = {**os.environ, "GOBIN": str(scratch), "CGO_ENABLED": "0"}
        subprocess.run(["go", "install", f"{package}@{version}"], env=env, check=True)
        (scratch / name).rename(partial)

    return _build_once(name, cache_root() / "tools" / f"{name}-{version}", f"{version} from the Go module proxy", build)


def source_digest(source: Path) -> str:
    """A short digest of a Go program's source directory: go.mod, go.sum and its .go files."""
    digest = hashlib.sha256()
    for path in sorted([source / "go.mod", source / "go.sum", *source.glob("*.go")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def ensure_source_go_tool(source: Path) -> Path:
    """The binary of the Go program in `source` (a main package with its own go.mod): from the cache,
    else built now. -mod=readonly: the committed go.sum is the lock, and a build never edits it."""

    def build(partial: Path) -> None:
        command = ["go", "build", "-mod=readonly", "-trimpath", "-o", str(partial), "."]
        subprocess.run(command, cwd=source, env={**os.environ, "CGO_ENABLED": "0"}, check=True)

    name = source.name
    return _build_once(name, cache_root() / "tools" / f"{name}-{source_digest(source)}", f"from {source}", build)


def ensure_argocd_health(root: Path) -> Path:
    """tools/argocd-health of the checkout at `root`: Argo CD's health-script rules on gopher-lua."""
    return ensure_source_go_tool(root / "tools" / "argocd-health")


def ensure_actionlint() -> Path:
    return ensure_go_tool(versions.ACTIONLINT_PACKAGE, versions.ACTIONLINT_VERSION)


def actionlint(args: list[str], root: Path) -> int:
    """actionlint over `root`'s workflows. shellcheck and pyflakes are off: actionlint runs them only when
    they are on PATH, and `make lint` must judge alike here and on a CI runner that has them."""
    binary = ensure_actionlint()
    return subprocess.run([str(binary), "-shellcheck=", "-pyflakes=", *args], cwd=root).returncode


def main(argv: list[str] | None = None) -> int:
    """``python -m fargate_devenv.go_tools actionlint [args]`` (``make lint``): build if missing, then run."""
    from fargate_devenv.paths import repo_root

    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "actionlint":
        print("usage: python -m fargate_devenv.go_tools actionlint [actionlint args]", file=sys.stderr)
        return 2
    return actionlint(args[1:], repo_root())


if __name__ == "__main__":
    raise SystemExit(main())
