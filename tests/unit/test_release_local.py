"""The local release path's pure parts: the registry's configuration, containerd's trust in it, where
`make release-local` finds the registry, the install command it prints (docs/install.md) and the
arguments of install.yaml's one renderer."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml

from fargate_devenv import install_yaml, node_config
from fargate_devenv.oci_push import PushedImage
from fargate_devenv.registry import registry_config
from fargate_devenv.release_local import LocalRelease, registry_from_env_file

RUN = Path("/tmp/run-dir")
DIGEST = "sha256:" + "a" * 64


def test_the_registry_listens_on_loopback_and_stores_in_the_run_directory() -> None:
    config = yaml.safe_load(registry_config(RUN / "registry" / "storage", 5123))
    assert config["http"]["addr"] == "127.0.0.1:5123"
    assert config["storage"]["filesystem"]["rootdirectory"] == str(RUN / "registry" / "storage")
    assert "auth" not in config


def test_containerd_trusts_the_node_registry_over_plain_http() -> None:
    config = tomllib.loads(node_config.containerd_config(RUN, Path("/usr/sbin/runc"), Path("/usr/lib/cni")))
    registry = config["plugins"]["io.containerd.grpc.v1.cri"]["registry"]
    assert registry == {"config_path": str(node_config.registry_hosts_dir(RUN))}
    hosts = tomllib.loads(node_config.registry_hosts_toml("127.0.0.1:5123"))
    assert hosts["server"] == "http://127.0.0.1:5123"
    assert hosts["host"]["http://127.0.0.1:5123"]["capabilities"] == ["pull", "resolve"]


def test_release_local_finds_the_registry_the_node_wrote(tmp_path: Path) -> None:
    env = tmp_path / "node-env"
    assert registry_from_env_file(env) is None
    env.write_text("export PATH=/x:$PATH\nexport KUBECONFIG=/k\nexport FARGATE_REGISTRY=127.0.0.1:5123\n")
    assert registry_from_env_file(env) == "127.0.0.1:5123"


def test_the_install_command_takes_the_chart_by_version_and_the_image_by_digest() -> None:
    image = PushedImage("127.0.0.1:5123/fargate-operator", "1.2.3", DIGEST)
    assert image.ref == f"127.0.0.1:5123/fargate-operator:1.2.3@{DIGEST}"
    args = LocalRelease("1.2.3", "oci://127.0.0.1:5123/charts/fargate-operator", image).helm_install(namespace="ns")
    assert args[:5] == [
        "install",
        "fargate-operator",
        "oci://127.0.0.1:5123/charts/fargate-operator",
        "--version",
        "1.2.3",
    ]
    assert "--plain-http" in args and "pullPolicy" not in " ".join(args)
    assert f"image.tag=1.2.3@{DIGEST}" in args and "image.repository=127.0.0.1:5123/fargate-operator" in args


def test_install_yaml_pins_the_image_by_digest_and_leaves_out_the_test_hook() -> None:
    args = install_yaml.template_args(Path("helm/fargate-operator"), f"ghcr.io/o/fargate-operator:1.2.3@{DIGEST}")
    assert args[:3] == ["template", "fargate-operator", "helm/fargate-operator"]
    assert "--include-crds" in args and "--skip-tests" in args
    assert args[-4:] == ["--set", "image.repository=ghcr.io/o/fargate-operator", "--set", f"image.tag=1.2.3@{DIGEST}"]
    assert install_yaml.namespace_doc("fargate-system").startswith("apiVersion: v1\nkind: Namespace\n")


@pytest.mark.parametrize(
    "image", ["ghcr.io/o/fargate-operator:1.2.3", f"ghcr.io/o/fargate-operator@{DIGEST}", "x:1@sha256:abc"]
)
def test_install_yaml_refuses_an_image_not_pinned_by_tag_and_digest(image: str) -> None:
    with pytest.raises(ValueError, match="pins the image"):
        install_yaml.template_args(Path("helm/fargate-operator"), image)
