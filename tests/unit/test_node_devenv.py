"""The node tier's pure parts: what the namespace holder runs, the components' configuration, image archives.

Everything a component writes must be under the run directory (real-node.md); these check the files
that say so, without starting anything (tests/node starts the real thing).
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import yaml

from fargate_devenv import image, netns, node_assets, node_config, node_dev, versions
from fargate_devenv.oci_archive import write_image

RUN = Path("/tmp/run-dir")


def test_holder_script_keeps_the_node_inside_its_namespace() -> None:
    script = netns.holder_script(RUN, {"/var/lib/kubelet": RUN / "host" / "var_lib_kubelet"})
    assert "ip netns add" not in script, "no /run/netns entry: the namespace lives with its holder"
    assert f"ip addr add {netns.NODE_IP}/{netns.NODE_PREFIX} dev {netns.NODE_LINK}" in script
    assert f"type veth peer name {netns.PEER_LINK}" in script and "dummy" not in script
    assert f"mount --bind {RUN}/host/var_lib_kubelet /var/lib/kubelet" in script
    assert "mount -t cgroup2 none /sys/fs/cgroup/unified" in script and script.rstrip().endswith("sleep infinity")


def _paths(value: object) -> list[str]:
    if isinstance(value, dict):
        return [p for v in value.values() for p in _paths(v)]
    if isinstance(value, list):
        return [p for v in value for p in _paths(v)]
    return [value] if isinstance(value, str) and value.startswith("/") else []


def test_kubelet_and_proxy_configuration_stay_in_the_run_directory() -> None:
    kubelet = yaml.safe_load(node_config.kubelet_config(RUN, RUN / "pki" / "ca.crt", RUN / "containerd.sock"))
    paths = _paths(kubelet)
    assert paths and all(p.startswith(str(RUN)) for p in paths if p != node_config.cgroup_root(RUN)), paths
    assert node_config.cgroup_root(RUN) != node_config.cgroup_root(RUN / "other"), "one cgroup root per node"
    assert kubelet["failCgroupV1"] is False and kubelet["cgroupDriver"] == "cgroupfs"
    assert kubelet["authentication"]["anonymous"]["enabled"] is False
    assert kubelet["imageGCHighThresholdPercent"] == 100, "imported images can never be pulled again"
    proxy = yaml.safe_load(node_config.kube_proxy_config(RUN / "kp.yaml"))
    assert proxy["conntrack"] == {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"}


def test_containerd_and_cni_configuration_stay_in_the_run_directory() -> None:
    config = node_config.containerd_config(RUN, Path("/usr/sbin/runc"), Path("/usr/lib/cni"))
    for key in ("root", "state", "address", "path", "conf_dir", "config_path"):
        values = [
            line.split("=", 1)[1].strip().strip('"')
            for line in config.splitlines()
            if line.strip().startswith(f"{key} =")
        ]
        assert values and all(v.startswith(str(RUN)) for v in values), (key, values)
    assert "restrict_oom_score_adj = true" in config and "SystemdCgroup = false" in config
    cni = json.loads(node_config.cni_conflist(RUN))
    assert cni["plugins"][0]["ipam"]["dataDir"].startswith(str(RUN))


def test_cluster_dns_answers_only_for_the_cluster() -> None:
    assert "forward" not in node_config.COREFILE, "no query may leave the node"
    kinds = {d["kind"] for d in node_config.coredns_manifests()}
    assert {"Deployment", "Service", "ConfigMap", "ClusterRole"} <= kinds
    service = next(d for d in node_config.coredns_manifests() if d["kind"] == "Service")
    assert service["spec"]["clusterIP"] == node_config.DNS_SERVICE_IP


def test_coredns_is_built_with_only_the_plugins_the_corefile_uses() -> None:
    main = node_assets.coredns_main()
    assert f'"{versions.COREDNS_MODULE}/coremain"' in main and "core/plugin" not in main
    for plugin in ("kubernetes", "cache", "health", "ready", "errors"):
        assert f"{versions.COREDNS_MODULE}/plugin/{plugin}" in main
        assert plugin in node_config.COREFILE


def test_image_archive_is_what_docker_save_writes(tmp_path: Path) -> None:
    binary = tmp_path / "pause"
    binary.write_bytes(b"\x7fELF fake")
    binary.chmod(0o755)
    archive = write_image(tmp_path / "img.tar", "fargate-node.local/pause:1", {"/pause": binary}, ["/pause"])
    with tarfile.open(archive) as tf:
        manifest = json.loads(tf.extractfile("manifest.json").read())  # type: ignore[union-attr]
        (entry,) = manifest
        config = json.loads(tf.extractfile(entry["Config"]).read())  # type: ignore[union-attr]
        layer = tf.extractfile(entry["Layers"][0]).read()  # type: ignore[union-attr]
    assert entry["RepoTags"] == ["fargate-node.local/pause:1"] and config["config"]["Entrypoint"] == ["/pause"]
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(layer).hexdigest()]


def test_debian_mirror_comes_from_apt_sources(tmp_path: Path) -> None:
    d = tmp_path / "sources.list.d"
    d.mkdir()
    (d / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n"
    )
    assert image.debian_mirror(d, tmp_path / "none") == "http://mirror.example/debian"
    (tmp_path / "sources.list").write_text("deb http://old.example/debian bookworm main\n")
    assert image.debian_mirror(tmp_path / "nothing", tmp_path / "sources.list") == "http://old.example/debian"


def test_image_tag_follows_the_build_context(tmp_path: Path) -> None:
    pkg = tmp_path / "operator" / "fargate_operator"
    pkg.mkdir(parents=True)
    for name in ("Dockerfile", ".dockerignore", "requirements.lock", "pyproject.toml", "README.md"):
        (tmp_path / name).write_text(name)
    (pkg / "a.py").write_text("x = 1\n")
    first = image.context_digest(tmp_path)
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "a.pyc").write_bytes(b"junk")
    assert image.context_digest(tmp_path) == first, "bytecode is not part of the image"
    (tmp_path / "operator" / "devenv").mkdir()
    (tmp_path / "operator" / "devenv" / "b.py").write_text("y = 1\n")
    assert image.context_digest(tmp_path) == first, "the test world is not part of the image"
    (pkg / "a.py").write_text("x = 2\n")
    assert image.context_digest(tmp_path) != first


def test_helm_install_is_the_documented_command() -> None:
    args = node_dev.helm_install_args("repo/img:1.2", "http://10.200.0.1:5000", Path("helm/fargate-operator"))
    assert args[:3] == ["install", node_dev.RELEASE, "helm/fargate-operator"]
    joined = " ".join(args)
    for value in (
        "image.repository=repo/img",
        "image.tag=1.2",
        "image.pullPolicy=Never",
        "envFrom[0].secretRef.name=ecs-credentials",
    ):
        assert value in joined
    assert args[-2:] == ["--wait", "--timeout=5m"]


def test_mountpoints_are_removed_by_the_last_user_only(tmp_path: Path) -> None:
    from fargate_devenv.host_mounts import SharedMountpoints

    paths = (str(tmp_path / "run" / "containerd"), str(tmp_path / "var" / "lib" / "kubelet"))
    first, second = SharedMountpoints(paths, tmp_path / "state"), SharedMountpoints(paths, tmp_path / "state")
    first.acquire()
    second.acquire()
    assert all(Path(p).is_dir() for p in paths)
    first.release()
    assert all(Path(p).is_dir() for p in paths), "still a mountpoint of the second user's namespace"
    second.release()
    assert not any(Path(p).exists() for p in paths)
