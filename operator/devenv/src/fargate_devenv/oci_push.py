"""Push a ``docker save`` archive to an OCI registry over its HTTP API (distribution spec), no engine.

The archive's ``manifest.json`` names the config and the layer tars (legacy or OCI layout
alike); each is uploaded as a blob (monolithic POST + PUT, skipped when the registry has it)
and an OCI image manifest naming them is PUT under the tag. Layers go up uncompressed
(``application/vnd.oci.image.layer.v1.tar``): the digest is then a function of the archive
alone, and a local registry gains nothing from gzip. Returns the manifest's digest, the
name the kubelet pulls by.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.client import HTTPResponse
from pathlib import Path
from typing import IO, cast

CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
_CHUNK = 1 << 20
# Loopback registries only: never through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class PushedImage:
    repository: str  # <registry>/<name>
    tag: str
    digest: str  # sha256:... of the manifest

    @property
    def ref(self) -> str:
        """Tag and digest: readable, and the digest is what a runtime resolves."""
        return f"{self.repository}:{self.tag}@{self.digest}"


def _sha256(fh: IO[bytes]) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    while chunk := fh.read(_CHUNK):
        h.update(chunk)
        size += len(chunk)
    return "sha256:" + h.hexdigest(), size


def _request(
    method: str, url: str, data: bytes | IO[bytes] | None = None, headers: dict[str, str] | None = None
) -> HTTPResponse:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    return cast(HTTPResponse, _OPENER.open(req, timeout=600))


def _has_blob(base: str, name: str, digest: str) -> bool:
    try:
        with _request("HEAD", f"{base}/v2/{name}/blobs/{digest}"):
            return True
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return False
        raise


def _upload_blob(base: str, name: str, digest: str, size: int, body: bytes | IO[bytes]) -> None:
    if _has_blob(base, name, digest):
        return
    with _request("POST", f"{base}/v2/{name}/blobs/uploads/", data=b"") as resp:
        location = resp.headers["Location"]
    url = urllib.parse.urljoin(f"{base}/", location)
    url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"digest": digest})
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
    with _request("PUT", url, data=body, headers=headers) as resp:
        if resp.status != 201:
            raise RuntimeError(f"blob {digest}: registry answered {resp.status}")


def push_archive(archive: Path, registry: str, name: str, tag: str) -> PushedImage:
    """Push the one image in `archive` to ``http://<registry>/<name>:<tag>``."""
    base = f"http://{registry}"
    with tarfile.open(archive) as tf:

        def member(path: str) -> IO[bytes]:
            fh = tf.extractfile(path)
            if fh is None:
                raise ValueError(f"{archive}: {path} is not a file")
            return fh

        (entry,) = json.load(member("manifest.json"))
        config = member(entry["Config"]).read()
        config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
        _upload_blob(base, name, config_digest, len(config), config)
        layers = []
        for path in entry["Layers"]:
            digest, size = _sha256(member(path))
            _upload_blob(base, name, digest, size, member(path))
            layers.append({"mediaType": LAYER_TYPE, "digest": digest, "size": size})
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": config_digest, "size": len(config)},
        "layers": layers,
    }
    body = json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode()
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    with _request("PUT", f"{base}/v2/{name}/manifests/{tag}", data=body, headers={"Content-Type": MANIFEST_TYPE}) as r:
        returned = r.headers.get("Docker-Content-Digest", digest)
    if returned != digest:
        raise RuntimeError(f"registry stored the manifest as {returned}, not {digest}")
    return PushedImage(f"{registry}/{name}", tag, digest)
