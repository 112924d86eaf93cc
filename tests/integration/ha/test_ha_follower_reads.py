"""A follower reads ECS for its front doors only when they ask.

Two replicas; the leader runs a FargateService with two tasks. The follower's own ECS proxy counts
what it sends: nothing while nobody asks (it used to list and describe every service's tasks each
status interval, in Events mode too), one ListTasks and one DescribeTasks when a caller asks for the
service's tasks, and nothing again for a second question within the status interval. Its answers
name the same tasks the leader's do.
"""

from __future__ import annotations

import time
from pathlib import Path

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.world import World
from support.ha import Replica, Replicas, rest_call, tenant_namespace
from support.operator_process import Kube, awsvpc, manifest, service_manifest, task_definition_spec, wait_for

STATUS_INTERVAL = 3.0
READS = ("ListTasks", "DescribeTasks")


def _reads(replica: Replica) -> dict[str, int]:
    return {op: replica.ecs.count(op) for op in READS}


def _service_tasks(replica: Replica, token: str, cluster: str) -> list[str]:
    listed = rest_call(replica.process.rest_endpoint, token, "ListTasks", {"cluster": cluster, "serviceName": "web"})
    return sorted(listed["taskArns"])


def test_a_follower_reads_service_tasks_from_ecs_only_when_asked(
    world: World, network: Network, tmp_path: Path
) -> None:
    cp = world.control_plane
    ns, token = tenant_namespace(cp, "follower")
    kube = Kube(cp, ns)
    extra = ("--status-interval", str(STATUS_INTERVAL))
    replicas = Replicas(cp, world.ecs.endpoint, ns, tmp_path, extra_args=extra).start()
    cluster = f"follower-{ns}"
    try:
        replicas.wait_ready()
        kube.apply(manifest("FargateCluster", "c", {"clusterName": cluster}))
        kube.apply(manifest("FargateTaskDefinition", "td", task_definition_spec(cluster)))
        net = awsvpc(network.subnet_id, network.security_group_id)
        kube.apply(service_manifest("web", net, desired=2))
        wait_for(
            "the service's two tasks running", lambda: kube.status("fargateservice", "web").get("runningCount") == 2
        )
        leader = replicas.leader()
        (follower,) = replicas.others(leader.name)
        on_leader = wait_for(
            "the leader's answer", lambda: len(got := _service_tasks(leader, token, cluster)) == 2 and got
        )

        before = _reads(follower)
        time.sleep(3 * STATUS_INTERVAL)
        assert _reads(follower) == before, "the follower read ECS while nobody asked it anything"

        assert _service_tasks(follower, token, cluster) == on_leader
        asked = _reads(follower)
        assert asked == {op: before[op] + 1 for op in READS}, (before, asked)
        assert _service_tasks(follower, token, cluster) == on_leader
        assert _reads(follower) == asked, "asked again within the status interval, the follower read ECS again"
        time.sleep(STATUS_INTERVAL)
        assert _service_tasks(follower, token, cluster) == on_leader
        assert _reads(follower) == {op: asked[op] + 1 for op in READS}, "older than the status interval: read again"
    finally:
        kube.delete("fargateservice", "web", wait=True)
        kube.delete("fargatecluster", "c", wait=True)
        kube.delete("fargatetaskdefinition", "td", wait=True)
        replicas.stop()
