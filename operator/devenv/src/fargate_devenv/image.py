"""Container images for the node tier, built with a Docker engine from Debian's ``docker.io``.

- The base: the Dockerfile's ``BASE_IMAGE`` build argument defaults to the official
  ``python:3.11-slim`` for users. No registry is reachable here, so the stand-in is
  made from Debian's packages: ``debootstrap --variant=minbase`` of bookworm with
  python3 (3.11), venv and ca-certificates, imported with ``docker import``. It
  trusts what this machine trusts (its CA bundle), so ``pip`` in a build step
  reaches PyPI through this workplace's egress proxy.
- The operator image: ``docker build`` of the project's own Dockerfile, unchanged
  but for that argument, saved with ``docker save`` for ``ctr images import``.
- The clients image (AWS CLI + the MCP Python client) for in-cluster callers.

The engine is started only to build, as its own process: its own socket, data
root (kept in the cache, so warm builds reuse layers), exec root, cgroup parent,
no bridge, no iptables; build steps use the host network (PyPI). It runs in a
private mount namespace where /run/containerd (hard-coded shim sockets) comes
from the cache too, and is stopped after the build.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from fargate_devenv import processes, versions
from fargate_devenv.cache import cache_root, locked
from fargate_devenv.host_mounts import SharedMountpoints
from fargate_devenv.host_packages import ensure_host_packages, which
from fargate_devenv.release_version import source_version

BASE_REF = f"fargate-operator.local/python:3.11-{versions.DEBIAN_SUITE}-debootstrap"
OPERATOR_REPOSITORY = "fargate-operator.local/fargate-operator"
CLIENTS_REPOSITORY = "fargate-operator.local/clients"
# What the Dockerfile copies: a change to any of these is a new image.
# What the Dockerfile can see (.dockerignore keeps operator/devenv and operator/ecs-sim out).
OPERATOR_CONTEXT = (
    "Dockerfile",
    ".dockerignore",
    "requirements.lock",
    "pyproject.toml",
    "README.md",
    "operator/fargate_operator",
)
CGROUP_PARENT = "/fargate-image-build"
_FALLBACK_MIRROR = "http://deb.debian.org/debian"


@dataclass(frozen=True)
class BuiltImage:
    ref: str
    archive: Path  # `docker save` output, for `ctr images import`
    size_bytes: int
    build_seconds: float  # 0 when the archive came from the cache
    cached: bool


def _log(msg: str) -> None:
    print(f"[image] {msg}", file=sys.stderr, flush=True)


def image_root() -> Path:
    return cache_root() / "images"


def debian_mirror(
    sources_dir: Path = Path("/etc/apt/sources.list.d"), sources_list: Path = Path("/etc/apt/sources.list")
) -> str:
    """The Debian mirror apt uses here (deb822 .sources or one-line sources.list), for debootstrap."""
    texts = [p.read_text() for p in sorted(sources_dir.glob("*.sources"))] if sources_dir.is_dir() else []
    for text in texts:
        for stanza in text.split("\n\n"):
            fields = dict(
                line.split(":", 1) for line in stanza.splitlines() if ":" in line and not line.startswith("#")
            )
            uri, suites = fields.get("URIs", "").split(), fields.get("Suites", "").split()
            if uri and versions.DEBIAN_SUITE in suites:
                return uri[0].strip()
    if sources_list.exists():
        for line in sources_list.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb" and parts[2] == versions.DEBIAN_SUITE:
                return parts[1]
    return _FALLBACK_MIRROR


def _base_key() -> str:
    return hashlib.sha256(json.dumps([versions.DEBIAN_SUITE, versions.BASE_IMAGE_PACKAGES]).encode()).hexdigest()[:12]


def ensure_base_rootfs() -> Path:
    """A tarball of the debootstrap root filesystem (cached: about a minute to make)."""
    target = image_root() / f"base-{versions.DEBIAN_SUITE}-{_base_key()}.tar"
    if target.exists():
        return target
    ensure_host_packages()
    work = image_root() / "debootstrap"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    mirror = debian_mirror()
    _log(f"debootstrap {versions.DEBIAN_SUITE} from {mirror} (+ {', '.join(versions.BASE_IMAGE_PACKAGES)})")
    # In a private mount namespace: the /proc and /sys that debootstrap mounts in the target vanish with it,
    # even when it is interrupted.
    subprocess.run(
        [
            str(which("unshare")),
            "--mount",
            "--propagation",
            "private",
            str(which("debootstrap")),
            "--variant=minbase",
            f"--include={','.join(versions.BASE_IMAGE_PACKAGES)}",
            versions.DEBIAN_SUITE,
            str(work),
            mirror,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    # This machine's trust: its egress proxy re-signs TLS with CAs of its own.
    local_cas = Path("/usr/local/share/ca-certificates")
    if local_cas.is_dir():
        for ca in local_cas.glob("*.crt"):
            shutil.copy(ca, work / "usr/local/share/ca-certificates" / ca.name)
        subprocess.run(["chroot", str(work), "update-ca-certificates"], check=True, stdout=subprocess.DEVNULL)
    for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for p in (work / junk).glob("*"):
            if p.is_file():
                p.unlink()
    tmp = target.with_suffix(".tmp")
    with tarfile.open(tmp, "w") as tf:
        tf.add(work, arcname=".")
    tmp.replace(target)
    shutil.rmtree(work, ignore_errors=True)
    return target


@dataclass
class DockerEngine:
    """dockerd as a build tool: started for a build, stopped after; state under the cache."""

    root: Path
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    def start(self) -> DockerEngine:
        ensure_host_packages()
        run_containerd = self.root / "run-containerd"
        for d in (self.root / "data", self.root / "exec", run_containerd, self.root / "cli"):
            d.mkdir(parents=True, exist_ok=True)
        self._mountpoints = SharedMountpoints(("/run/containerd",))
        self._mountpoints.acquire()
        self.socket.unlink(missing_ok=True)
        script = (
            "set -eu\n"
            f"mount --bind '{run_containerd}' /run/containerd\n"
            f"exec '{which('dockerd')}' -H 'unix://{self.socket}' --data-root '{self.root / 'data'}'"
            f" --exec-root '{self.root / 'exec'}' --pidfile '{self.root / 'dockerd.pid'}'"
            f" --cgroup-parent {CGROUP_PARENT} --exec-opt native.cgroupdriver=cgroupfs --storage-driver overlay2"
            " --bridge=none --iptables=false --ip-forward=false --ip-masq=false --userland-proxy=false"
            " --log-level=warn\n"
        )
        log = self.root / "dockerd.log"
        self._proc = processes.start(
            [str(which("unshare")), "--mount", "--propagation", "private", "/bin/sh", "-c", script],
            log,
            env={"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
        )
        processes.wait_until(lambda: self.docker("version").returncode == 0, self._proc, "dockerd", log, 60)
        return self

    def docker(
        self, *args: str, input: bytes | None = None, timeout: float = 1800
    ) -> subprocess.CompletedProcess[bytes]:
        env = {**os.environ, "DOCKER_HOST": f"unix://{self.socket}", "DOCKER_CONFIG": str(self.root / "cli")}
        env.pop("DOCKER_BUILDKIT", None)
        return subprocess.run([str(which("docker")), *args], input=input, capture_output=True, timeout=timeout, env=env)

    def check(self, *args: str, timeout: float = 1800) -> str:
        res = self.docker(*args, timeout=timeout)
        if res.returncode != 0:
            raise RuntimeError(
                f"docker {' '.join(args[:3])}… failed ({res.returncode}):\n{res.stdout.decode()[-4000:]}\n"
                f"{res.stderr.decode()[-4000:]}"
            )
        return res.stdout.decode()

    def has_image(self, ref: str) -> bool:
        return self.docker("image", "inspect", ref).returncode == 0

    def stop(self) -> None:
        processes.stop(self._proc, timeout=30)
        self._proc = None
        _remove_empty_tree(Path("/sys/fs/cgroup"), CGROUP_PARENT)
        if hasattr(self, "_mountpoints"):
            self._mountpoints.release()


def _remove_empty_tree(cgroup_fs: Path, parent: str) -> None:
    if not cgroup_fs.is_dir():
        return
    for controller in cgroup_fs.iterdir():
        top = controller / parent.strip("/")
        if top.is_dir():
            for dirpath, _, _ in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
                with suppress(OSError):
                    os.rmdir(dirpath)


@contextmanager
def docker_engine() -> Iterator[DockerEngine]:
    engine = DockerEngine(cache_root() / "docker").start()
    try:
        yield engine
    finally:
        engine.stop()


def context_digest(repo: Path, paths: tuple[str, ...] = OPERATOR_CONTEXT) -> str:
    """A digest of the build context's files (what the Dockerfile can see) and the base."""
    h = hashlib.sha256(_base_key().encode())
    for rel in paths:
        p = repo / rel
        files = sorted(f for f in p.rglob("*") if f.is_file() and "__pycache__" not in f.parts) if p.is_dir() else [p]
        for f in files:
            h.update(str(f.relative_to(repo)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def _ensure_base(engine: DockerEngine) -> None:
    if engine.has_image(BASE_REF):
        return
    rootfs = ensure_base_rootfs()
    _log(f"docker import {rootfs.name} as {BASE_REF}")
    with open(rootfs, "rb") as fh:
        data = fh.read()
    res = engine.docker(
        "import",
        "--change",
        "ENV LANG=C.UTF-8",
        "--change",
        "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
        "--change",
        'CMD ["python3"]',
        "-",
        BASE_REF,
        input=data,
    )
    if res.returncode != 0:
        raise RuntimeError(f"docker import failed: {res.stderr.decode()}")


def _build(engine: DockerEngine, ref: str, context: Path, archive: Path, dockerfile: Path | None = None) -> BuiltImage:
    t0 = time.monotonic()
    _ensure_base(engine)
    args = ["build", "--network", "host", "--build-arg", f"BASE_IMAGE={BASE_REF}", "-t", ref]
    if dockerfile is not None:
        args += ["-f", str(dockerfile)]
    engine.check(*args, str(context))
    seconds = time.monotonic() - t0
    size = int(engine.check("image", "inspect", "--format", "{{.Size}}", ref).strip())
    tmp = archive.with_suffix(".tmp")
    engine.check("save", "-o", str(tmp), ref)
    tmp.replace(archive)
    archive.with_suffix(".json").write_text(json.dumps({"ref": ref, "size_bytes": size, "build_seconds": seconds}))
    _forget_older(engine, ref, archive)
    return BuiltImage(ref, archive, size, seconds, cached=False)


def _forget_older(engine: DockerEngine, ref: str, archive: Path) -> None:
    """Keep the cache bounded: only the newest build of each image (its layers stay for warm builds)."""
    repository = ref.rsplit(":", 1)[0]
    tags = engine.check("image", "ls", repository, "--format", "{{.Repository}}:{{.Tag}}").split()
    old = [t for t in tags if t != ref]
    if old:
        engine.docker("rmi", *old)
    # Dangling images include the build stage that warm builds start from: only old ones go.
    engine.docker("image", "prune", "--force", "--filter", "until=24h")
    prefix = archive.name.rsplit("-", 1)[0]
    for other in archive.parent.glob(f"{prefix}-*"):
        if other.suffix in (".tar", ".json") and other.with_suffix("") != archive.with_suffix(""):
            other.unlink(missing_ok=True)


def _cached(archive: Path) -> BuiltImage | None:
    meta = archive.with_suffix(".json")
    if not (archive.exists() and meta.exists()):
        return None
    info = json.loads(meta.read_text())
    return BuiltImage(info["ref"], archive, info["size_bytes"], 0.0, cached=True)


def ensure_operator_image(repo: Path, rebuild: bool = False, repository: str = OPERATOR_REPOSITORY) -> BuiltImage:
    """The project's Dockerfile built on the debootstrap base; cached by a digest of its context.

    `repository`: another name for another tree (an older commit's, for the upgrade test), so that its
    build and this checkout's are cached side by side instead of replacing each other (_forget_older)."""
    tag = f"{source_version(repo)}-{context_digest(repo)}"
    archive = image_root() / f"{repository.rsplit('/', 1)[-1]}-{tag}.tar"
    with locked(image_root() / ".lock"):
        if not rebuild and (hit := _cached(archive)):
            return hit
        _log(f"docker build {repository}:{tag}")
        with docker_engine() as engine:
            return _build(engine, f"{repository}:{tag}", repo, archive)


CLIENTS_DOCKERFILE = """ARG BASE_IMAGE
FROM ${{BASE_IMAGE}}
# In-cluster callers: the AWS CLI (its own pinned botocore) and the MCP Python client.
COPY requirements-awscli.lock /tmp/
RUN python -m venv /opt/venv \\
 && /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements-awscli.lock "mcp=={mcp}"
RUN useradd --system --uid 10002 --no-create-home --shell /usr/sbin/nologin caller
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1
USER 10002
"""


def ensure_clients_image(repo: Path, rebuild: bool = False) -> BuiltImage:
    mcp = next(
        line.split("==", 1)[1].strip()
        for line in (repo / "requirements.lock").read_text().splitlines()
        if line.startswith("mcp==")
    )
    dockerfile = CLIENTS_DOCKERFILE.format(mcp=mcp)
    h = hashlib.sha256((_base_key() + dockerfile + (repo / "requirements-awscli.lock").read_text()).encode())
    tag = f"1-{h.hexdigest()[:12]}"
    archive = image_root() / f"clients-{tag}.tar"
    with locked(image_root() / ".lock"):
        if not rebuild and (hit := _cached(archive)):
            return hit
        context = image_root() / "clients-context"
        shutil.rmtree(context, ignore_errors=True)
        context.mkdir(parents=True)
        (context / "Dockerfile").write_text(dockerfile)
        shutil.copy(repo / "requirements-awscli.lock", context / "requirements-awscli.lock")
        _log(f"docker build {CLIENTS_REPOSITORY}:{tag}")
        with docker_engine() as engine:
            return _build(engine, f"{CLIENTS_REPOSITORY}:{tag}", context, archive)
