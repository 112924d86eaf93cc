"""A deleted object is answered as ECS answers it by every replica, and after a restart of them all.

The records of deleted objects live in the API server (a ConfigMap per namespace), not in a process:
the leader writes them, each replica's watch cache reads them.
"""

from __future__ import annotations

from pathlib import Path

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.world import World
from support.ha import Durations, Replicas, rest_call, tenant_namespace
from support.operator_process import awsvpc, wait_for


def _status(endpoint: str, token: str, cluster: str, service: str) -> str:
    answer = rest_call(endpoint, token, "DescribeServices", {"cluster": cluster, "services": [service]})
    return "MISSING" if answer["failures"] else str(answer["services"][0]["status"])


def test_a_deleted_service_is_inactive_on_every_replica_and_after_restarts(
    world: World, network: Network, tmp_path: Path
) -> None:
    cp = world.control_plane
    ns, token = tenant_namespace(cp, "records")
    replicas = Replicas(cp, world.ecs.endpoint, ns, tmp_path, durations=Durations(6, 4.0, 1.0)).start()
    cluster = f"records-{ns}"
    try:
        replicas.wait_ready()
        leader = replicas.leader()
        (follower,) = replicas.others(leader.name)
        endpoint = follower.process.rest_endpoint  # writes through the follower too: they are the caller's
        rest_call(endpoint, token, "CreateCluster", {"clusterName": cluster}, timeout=60)
        td = {
            "family": cluster,
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "512",
            "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 256}],
        }
        rest_call(endpoint, token, "RegisterTaskDefinition", td, timeout=60)
        net = awsvpc(network.subnet_id, network.security_group_id)
        create = {"cluster": cluster, "serviceName": "web", "taskDefinition": cluster, "desiredCount": 0}
        rest_call(endpoint, token, "CreateService", {**create, "networkConfiguration": net}, timeout=60)
        rest_call(endpoint, token, "DeleteService", {"cluster": cluster, "service": "web"}, timeout=60)
        for replica in replicas.members.values():
            wait_for(
                f"{replica.name} answers the deleted service INACTIVE",
                lambda r=replica: _status(r.process.rest_endpoint, token, cluster, "web") == "INACTIVE",
            )
        for replica in replicas.members.values():
            replica.stop()
        for replica in replicas.members.values():
            replica.start()
        replicas.wait_ready()
        for replica in replicas.members.values():
            assert _status(replica.process.rest_endpoint, token, cluster, "web") == "INACTIVE", replica.name
    finally:
        replicas.stop()
