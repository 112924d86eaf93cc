"""Leader election on shutdown: SIGTERM the leader (what a rolling upgrade does): it hands the Lease over.

Two replicas with client-go's default durations (lease 15 s, renew deadline 10 s, retry
2 s): without the hand-over a takeover would take ~15 s; with it, the stopping leader ends its
handlers, stops and drains its ECS writes, releases the Lease (holder empty), and the
follower -- watching the Lease -- takes it at once. Reads on the follower never fail.
"""

from __future__ import annotations

import json
import random
import signal
import time
from pathlib import Path

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.world import World
from fargate_operator.reconcile.task import started_by
from support.ha import Durations, ReadLoad, Replica, Replicas, distribution, tenant_namespace
from support.operator_process import Kube, awsvpc, condition, manifest, task_definition_spec, task_manifest, wait_for

ROUNDS = 3
TASKS_PER_ROUND = 8
HANDOVER_LIMIT = 2.0


def _metrics_name(leader: Replica, follower: Replica) -> bool:
    """Each replica's metrics say who leads: fargate_operator_leader, fargate_operator_lease_holder{holder}."""
    return (
        leader.metric("fargate_operator_leader") == 1
        and follower.metric("fargate_operator_leader") == 0
        and follower.metric("fargate_operator_lease_holder", holder=leader.name) == 1
    )


def test_sigterm_hands_the_lease_over_within_two_seconds(world: World, network: Network, tmp_path: Path) -> None:
    rng = random.Random(1818)
    cp = world.control_plane
    ns, token = tenant_namespace(cp, "handover")
    kube = Kube(cp, ns)
    replicas = Replicas(cp, world.ecs.endpoint, ns, tmp_path, durations=Durations(15, 10.0, 2.0)).start()
    cluster = f"handover-{ns}"
    load = ReadLoad(token, cluster)
    net = awsvpc(network.subnet_id, network.security_group_id)
    handovers: list[float] = []
    try:
        replicas.wait_ready()
        kube.apply(manifest("FargateCluster", "c", {"clusterName": cluster}))
        kube.apply(manifest("FargateTaskDefinition", "td", task_definition_spec(cluster)))
        wait_for(
            "cluster Ready", lambda: condition(kube.status("fargatecluster", "c"), "Ready").get("status") == "True"
        )
        load.start()
        names: list[str] = []
        for round_no in range(ROUNDS):
            leader = replicas.leader()
            (survivor,) = replicas.others(leader.name)
            survivor.process.wait_ready(90)
            load.target = survivor
            # Who leads, as a metric on each replica (the status line is /readyz's body).
            wait_for("the leader metrics", lambda a=leader, b=survivor: _metrics_name(a, b), timeout=10)
            batch = [task_manifest(f"r{round_no}-{i}", net) for i in range(TASKS_PER_ROUND)]
            names += [d["metadata"]["name"] for d in batch]
            cp.kubectl("apply", "-n", ns, "-f", "-", input="\n---\n".join(json.dumps(d) for d in batch))
            time.sleep(rng.uniform(0.2, 2.0))  # handlers at work for this batch, or done
            assert leader.process.proc is not None
            sent = time.time()
            leader.process.proc.send_signal(signal.SIGTERM)
            _, acquired = replicas.wait_taken_over(leader.name, timeout=20)
            handovers.append(acquired.timestamp() - sent)
            assert leader.process.proc.wait(30) == 0, "a clean exit"
            assert "Lease released" in leader.process.log_text()
            leader.process.start()
        replicas.wait_ready()

        def all_running() -> bool:
            return all(kube.status("fargatetask", n).get("phase") == "Running" for n in names)

        wait_for("every task Running", all_running, timeout=120, interval=1)
        load.stop()
        print(
            f"\nSIGTERM hand-over (lease 15 s): {distribution(handovers)}; "
            f"reads on the follower {load.ok} ok / {len(load.errors)} errors"
        )
        assert max(handovers) <= HANDOVER_LIMIT, handovers
        # 15 s - 10 s leaves a 5 s fencing margin, as long as the ECS connect timeout: no warning.
        assert all("fencing margin" not in r.process.log_text() for r in replicas.members.values())
        assert not load.errors, load.errors[:10]
        assert replicas.duplicate_run_tasks() == {}
        ecs = world.ecs.client()
        for name in names:
            uid = kube.get("fargatetask", name)["metadata"]["uid"]  # type: ignore[index]
            assert len(ecs.list_tasks(cluster=cluster, startedBy=started_by(uid))["taskArns"]) == 1
    finally:
        load.stop()
        replicas.stop()
