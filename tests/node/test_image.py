"""The image from the project's Dockerfile, as built here (devenv/image.py): what it runs and as whom.

On the Dockerfile as it was, this build failed: Debian's base-passwd already has a group "operator"
(useradd: group operator exists, exit 9); tests/unit/test_shipping_files.py pins the cause.
"""

from __future__ import annotations

import json
import tarfile

from support.node import NodeImages

SITE_PACKAGES = "opt/venv/lib/python3.11/site-packages/"
# The test world's packages (by their old and new names) and moto: none may be in the image.
NOT_SHIPPED = ("fargate_devenv", "fargate_ecs_sim", "fargate_operator/devenv", "moto")


def site_packages(archive: str) -> set[str]:
    """Paths under the venv's site-packages in any layer of a `docker save` archive."""
    found: set[str] = set()
    with tarfile.open(archive) as tf:
        manifest = json.loads(tf.extractfile("manifest.json").read())  # type: ignore[union-attr]
        for layer in manifest[0]["Layers"]:
            with tarfile.open(fileobj=tf.extractfile(layer)) as lt:
                found |= {n.removeprefix(SITE_PACKAGES) for n in lt.getnames() if n.startswith(SITE_PACKAGES)}
    return found


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


def test_the_image_holds_the_operator_alone(node_images: NodeImages) -> None:
    installed = site_packages(str(node_images.operator.archive))
    assert any(p.startswith("fargate_operator/web/") for p in installed), sorted(installed)[:20]
    shipped = sorted(p for p in installed if any(p == n or p.startswith((n + "/", n + "-")) for n in NOT_SHIPPED))
    assert not shipped, f"the image ships the test world: {shipped[:10]}"
