"""Provisioning logic that needs no network: the wrapper module and the KUBEBUILDER_ASSETS contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from fargate_devenv import assets, cache, kube_build, versions

KUBERNETES_GOMOD = """module k8s.io/kubernetes

go 1.24.0

require (
\tk8s.io/api v0.0.0
\tk8s.io/apimachinery v0.0.0
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/apimachinery => ./staging/src/k8s.io/apimachinery
\tk8s.io/kms => ./staging/src/k8s.io/kms
)
"""


def test_wrapper_gomod_pins_every_staging_module_to_its_tag() -> None:
    gomod = kube_build.wrapper_gomod(KUBERNETES_GOMOD)
    assert f"require k8s.io/kubernetes {versions.KUBERNETES_VERSION}" in gomod
    for module in ("k8s.io/api", "k8s.io/apimachinery", "k8s.io/kms"):
        assert f"\t{module} => {module} {versions.STAGING_VERSION}\n" in gomod
    assert "./staging" not in gomod


def test_staging_version_follows_kubernetes_version() -> None:
    major_minor_patch = versions.KUBERNETES_VERSION.lstrip("v").split(".")
    assert versions.STAGING_VERSION == f"v0.{major_minor_patch[1]}.{major_minor_patch[2]}"


def test_kubebuilder_assets_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("etcd", "kube-apiserver", "kubectl", "helm"):
        (tmp_path / name).write_text("#!/bin/sh\n")
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(tmp_path))
    found = assets.ensure_assets()
    assert found.source == "KUBEBUILDER_ASSETS"
    assert found.kube_apiserver == tmp_path / "kube-apiserver" and found.helm == tmp_path / "helm"


def test_kubebuilder_assets_missing_binary_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "etcd").write_text("")
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(tmp_path))
    with pytest.raises(RuntimeError, match="lacks kube-apiserver, kubectl"):
        assets.ensure_assets()


def test_cache_root_is_outside_the_repo_and_overridable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FARGATE_OPERATOR_CACHE", str(tmp_path / "c"))
    assert cache.cache_root() == tmp_path / "c"
    monkeypatch.delenv("FARGATE_OPERATOR_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_root() == tmp_path / "xdg" / "fargate-operator"
