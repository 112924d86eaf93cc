"""Find or build AWS's session-manager-plugin, the client `aws ecs execute-command` runs.

Built from its public source, never committed: the Go module proxy serves the plugin
(SSM_PLUGIN_MODULE at SSM_PLUGIN_VERSION) and its dependencies, except one it needs older than
any the proxy has: the plugin builds against the github.com/twinj/uuid it vendors (2016, with
`uuid.CleanHyphen`; the proxy's only version, v1.0.0, lacks it). That package is taken from the
plugin's own git repository (FARGATE_SSM_PLUGIN_GIT: a URL or a local clone; default GitHub) at
SSM_PLUGIN_COMMIT and swapped in with a `replace` directive. The binary lands in
<cache>/tools/session-manager-plugin-<version>/ (cache as assets.cache_root()).
`FARGATE_SSM_PLUGIN` names a binary to use instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from fargate_devenv.assets import _go, _locked, _log, cache_root

SSM_PLUGIN_MODULE = "github.com/aws/session-manager-plugin"
SSM_PLUGIN_VERSION = "v0.0.0-20260401221635-b79d06c1d3a2"
SSM_PLUGIN_COMMIT = "61cf1288c7c66b4cbff922b7ed8a6604b3a3c2ea"  # any commit whose vendor/ holds twinj/uuid
SSM_PLUGIN_GIT = "https://github.com/aws/session-manager-plugin.git"
_UUID_PATH = "vendor/src/github.com/twinj/uuid"


def _twinj_uuid(dest: Path) -> None:
    """The plugin's vendored twinj/uuid, out of its git history, as a module of its own."""
    source = os.environ.get("FARGATE_SSM_PLUGIN_GIT") or SSM_PLUGIN_GIT
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(source) if Path(source).is_dir() else Path(tmp) / "plugin.git"
        if not Path(source).is_dir():
            subprocess.run(["git", "clone", "--bare", "--filter=blob:none", source, str(repo)], check=True)
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", SSM_PLUGIN_COMMIT, _UUID_PATH],
            check=True,
            stdout=subprocess.PIPE,
        ).stdout
    tar_path = dest.parent / "twinj-uuid.tar"
    tar_path.write_bytes(archive)
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tar_path) as tar:
        for member in tar.getmembers():
            parts = member.name.split("/")[5:]
            if parts and member.isfile():
                member.name = "/".join(parts)
                tar.extract(member, dest, filter="data")
    (dest / "go.mod").write_text("module github.com/twinj/uuid\n")


def cached_session_manager_plugin() -> Path | None:
    """The plugin if it is already there (FARGATE_SSM_PLUGIN, else the cache); nothing is built."""
    if configured := os.environ.get("FARGATE_SSM_PLUGIN"):
        return Path(configured)
    target = _target()
    return target if target.exists() else None


def _target() -> Path:
    return cache_root() / "tools" / f"session-manager-plugin-{SSM_PLUGIN_VERSION}" / "session-manager-plugin"


def ensure_session_manager_plugin() -> Path:
    """The plugin binary: FARGATE_SSM_PLUGIN, else the cache, else built into the cache now."""
    if (found := cached_session_manager_plugin()) is not None:
        return found
    target = _target()
    target_dir = target.parent
    if shutil.which("go") is None:
        raise RuntimeError("session-manager-plugin must be built with Go, and `go` is not on PATH")
    with _locked(target_dir / ".lock"):
        if target.exists():
            return target
        _log(f"building session-manager-plugin {SSM_PLUGIN_VERSION} from the Go module proxy")
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            _twinj_uuid(work / "twinj-uuid")
            (work / "go.mod").write_text(
                "module ssmpluginbuild\n\ngo 1.22\n\nreplace github.com/twinj/uuid => ./twinj-uuid\n"
            )
            main = f"{SSM_PLUGIN_MODULE}/src/sessionmanagerplugin-main"
            _go(["get", f"{main}@{SSM_PLUGIN_VERSION}"], work)
            _go(["build", "-o", str(target.with_suffix(".tmp")), main], work)
        target.with_suffix(".tmp").replace(target)
    return target
