"""The node tier's OCI registry: the CNCF distribution registry, plain HTTP, storage in the run directory.

It listens inside the node's network namespace on 127.0.0.1:<port>, and the node's
loopback forwarder (netns_forward.py) makes the same address lead there from the host.
So one name, ``127.0.0.1:<port>/...``, is right on both sides: `helm push` and the image
pusher use it on the host, containerd pulls with it inside the namespace (told by
``hosts.toml`` that it speaks plain HTTP, node_config.registry_hosts_toml).
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen

import yaml

from fargate_devenv import processes, versions
from fargate_devenv.go_tools import ensure_go_tool

# Loopback only: never through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def ensure_registry() -> Path:
    return ensure_go_tool(versions.REGISTRY_PACKAGE, versions.REGISTRY_VERSION)


def registry_config(storage: Path, port: int) -> str:
    """The registry's configuration (pure; unit-tested): filesystem storage, no auth, loopback only."""
    config = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": False}},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}", "debug": {"addr": ""}},
    }
    return yaml.safe_dump(config)


@dataclass
class Registry:
    """One registry process, started with `command_prefix` (the node's `nsenter … --`)."""

    run_dir: Path
    port: int
    command_prefix: tuple[str, ...] = ()
    _proc: Popen[bytes] | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        """The registry's name in image references and oci:// URLs, the same on the host and on the node."""
        return f"127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.run_dir / "registry.log"

    def start(self, timeout: float = 30) -> Registry:
        binary = ensure_registry()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        config = self.run_dir / "config.yml"
        config.write_text(registry_config(self.run_dir / "storage", self.port))
        self._proc = processes.start([*self.command_prefix, str(binary), "serve", str(config)], self.log)

        def ready() -> bool:
            with _OPENER.open(f"http://{self.host}/v2/", timeout=2) as resp:
                return bool(resp.status == 200)

        processes.wait_until(ready, self._proc, "registry", self.log, timeout)
        return self

    def stop(self) -> None:
        processes.stop(self._proc)
        self._proc = None
