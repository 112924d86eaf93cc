"""One-layer container images written as a ``docker save`` archive, without any engine.

For images that are a single static binary (the pod sandbox's ``pause``, CoreDNS):
``ctr -n k8s.io images import`` reads the archive like one from ``docker save``.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from pathlib import Path


def _add(tf: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0
    tf.addfile(info, io.BytesIO(data))


def write_image(
    archive: Path,
    ref: str,
    files: Mapping[str, Path | bytes],
    entrypoint: list[str],
    env: Mapping[str, str] | None = None,
) -> Path:
    """Write `ref` (e.g. ``fargate-node.local/pause:1``) with `files` (path in image -> host file or bytes)."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.GNU_FORMAT) as tf:
        dirs = sorted({str(Path(p).parent).lstrip("/") for p in files} - {""})
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            tf.addfile(info)
        for path, content in sorted(files.items()):
            data = content.read_bytes() if isinstance(content, Path) else content
            mode = 0o755 if isinstance(content, Path) and content.stat().st_mode & 0o111 else 0o644
            _add(tf, path.lstrip("/"), data, mode)
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": entrypoint, "Env": [f"{k}={v}" for k, v in (env or {}).items()]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    manifest = [{"Config": config_name, "RepoTags": [ref], "Layers": ["layer.tar"]}]
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w") as tf:
        _add(tf, config_name, config_bytes, 0o644)
        _add(tf, "layer.tar", layer_bytes, 0o644)
        _add(tf, "manifest.json", json.dumps(manifest).encode(), 0o644)
    return archive
