"""Find or build AWS's session-manager-plugin, the client `aws ecs execute-command` runs.

Built from the Go module proxy, never committed: the proxy serves the plugin (SSM_PLUGIN_MODULE at
SSM_PLUGIN_VERSION) and its dependencies but one: the plugin builds against a 2016
github.com/twinj/uuid (`uuid.SwitchFormat(uuid.CleanHyphen)`, `uuid.New(bytes)`, `uuid.NewV4()`,
a UUID with `Bytes()` and `String()`), and the proxy's only version, v1.0.0, has another API. So
the build swaps in, with a `replace` directive, a small module of our own (UUID_SHIM below) that
provides exactly what the plugin calls. The binary lands in
<cache>/tools/session-manager-plugin-<version>/ (cache as cache.cache_root()).
`FARGATE_SSM_PLUGIN` names a binary to use instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from fargate_devenv.cache import cache_root, go, locked, log

SSM_PLUGIN_MODULE = "github.com/aws/session-manager-plugin"
SSM_PLUGIN_VERSION = "v0.0.0-20260401221635-b79d06c1d3a2"

# What the plugin calls of github.com/twinj/uuid, written here: random version-4 UUIDs from
# crypto/rand, printed in the canonical hyphenated form (the only format the plugin switches to).
UUID_SHIM = """package uuid

import (
\t"crypto/rand"
\t"encoding/hex"
)

type Format string

const CleanHyphen Format = "canonical"

type UUID interface {
\tBytes() []byte
\tString() string
}

type value [16]byte

func (v value) Bytes() []byte { out := v; return out[:] }

func (v value) String() string {
\ts := hex.EncodeToString(v[:])
\treturn s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

func SwitchFormat(Format) {}

func New(b []byte) UUID {
\tvar v value
\tcopy(v[:], b)
\treturn v
}

func NewV4() UUID {
\tvar v value
\tif _, err := rand.Read(v[:]); err != nil {
\t\tpanic(err)
\t}
\tv[6] = v[6]&0x0f | 0x40
\tv[8] = v[8]&0x3f | 0x80
\treturn v
}
"""


def _uuid_shim(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "go.mod").write_text("module github.com/twinj/uuid\n\ngo 1.22\n")
    (dest / "uuid.go").write_text(UUID_SHIM)


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
    with locked(target_dir / ".lock"):
        if target.exists():
            return target
        log(f"building session-manager-plugin {SSM_PLUGIN_VERSION} from the Go module proxy")
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            _uuid_shim(work / "twinj-uuid")
            (work / "go.mod").write_text(
                "module ssmpluginbuild\n\ngo 1.22\n\nreplace github.com/twinj/uuid => ./twinj-uuid\n"
            )
            main = f"{SSM_PLUGIN_MODULE}/src/sessionmanagerplugin-main"
            go(["get", f"{main}@{SSM_PLUGIN_VERSION}"], work)
            go(["build", "-o", str(target.with_suffix(".tmp")), main], work)
        target.with_suffix(".tmp").replace(target)
    return target
