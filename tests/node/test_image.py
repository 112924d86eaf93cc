"""The image from the project's Dockerfile, as built here (devenv/image.py): what it runs and as whom.

On the Dockerfile as it was, this build failed: Debian's base-passwd already has a group "operator"
(useradd: group operator exists, exit 9); tests/unit/test_shipping_files.py pins the cause.
"""

from __future__ import annotations

import json
import tarfile

from node_support import NodeImages


def _config(archive: str) -> dict[str, object]:
    with tarfile.open(archive) as tf:
        manifest = json.loads(tf.extractfile("manifest.json").read())  # type: ignore[union-attr]
        config: dict[str, object] = json.loads(tf.extractfile(manifest[0]["Config"]).read())  # type: ignore[union-attr]
    return config


def test_image_builds_from_the_dockerfile_and_runs_as_its_own_user(node_images: NodeImages) -> None:
    built = node_images.operator
    config = _config(str(built.archive))["config"]
    assert isinstance(config, dict)
    assert config["User"] == "10001" and config["Entrypoint"] == ["fargate-operator"] and config["Cmd"] == ["run"]
    assert config["Labels"]["org.opencontainers.image.title"] == "fargate-operator"
    assert any(e.startswith("PATH=/opt/venv/bin:") for e in config["Env"])
    # Multi-stage: the final image is the base plus the venv, not the build stage's sources.
    assert 150_000_000 < built.size_bytes < 600_000_000, built.size_bytes
