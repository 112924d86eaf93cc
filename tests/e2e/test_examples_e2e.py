"""A user's first minutes: apply the CRDs and the examples with kubectl, list them, delete them."""

from __future__ import annotations

from pathlib import Path

from support.e2e import E2ECluster

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_examples_apply_list_and_delete(e2e_cluster: E2ECluster, unique: str) -> None:
    ns = f"e2e-{unique}"
    e2e_cluster.kubectl("create", "namespace", ns)
    applied = e2e_cluster.kubectl("apply", "-n", ns, "-f", str(EXAMPLES)).stdout
    assert applied.count(" created") == len(list(EXAMPLES.glob("*.yaml"))), applied
    listed = e2e_cluster.kubectl("get", "fargate", "-n", ns, "-o", "name").stdout.split()
    assert sorted(listed) == [
        "fargatecluster.ecs.fargate.dev/demo",
        "fargateservice.ecs.fargate.dev/web",
        "fargatetask.ecs.fargate.dev/web-migrate-001",
        "fargatetaskdefinition.ecs.fargate.dev/web",
    ]
    again = e2e_cluster.kubectl("apply", "-n", ns, "-f", str(EXAMPLES)).stdout
    assert again.count(" unchanged") == len(listed), again  # re-apply is a no-op (GitOps)
    e2e_cluster.kubectl("delete", "-n", ns, "-f", str(EXAMPLES), "--wait=true", "--timeout=60s")
    assert e2e_cluster.kubectl("get", "fargate", "-n", ns, "-o", "name").stdout.strip() == ""
