"""Leader election under failure: two replicas; the leader SIGKILLed at random moments while the chaos workload runs.

Real kube-apiserver, the ECS emulator behind one counting proxy per replica, two
`fargate-operator run --leader-elect` processes. FARGATE_HA_KILLS rounds (make test: 3, with a
6 s lease; `make ha`: 20, with the chart's 15 s lease, for the takeover distribution). Each round: the chaos suite's batch (200
FargateTasks and 20 FargateServices over the rounds, created, scaled and deleted), a random
pause, SIGKILL of whichever replica holds the Lease, the other takes over, the killed one
comes back as a follower. Meanwhile a steady read load (REST and MCP) runs against the
replica that is *not* killed, and now and then a RunTask is sent to it right after the kill.

Takeover time = the new holder's acquireTime (its clock; same host) - the moment of SIGKILL.
With client-go's semantics the follower takes over a lease duration after it last *saw* a
renewal, so takeovers spread over [lease - retry, lease] plus how late the follower sees the
renewal and acquires (scheduling on this shared machine).
"""

from __future__ import annotations

import datetime
import json
import os
import random
import re
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.world import World
from support.chaos import ChaosWorkload
from support.ha import Durations, ReadLoad, Replica, Replicas, distribution, rest_call, tenant_namespace
from support.operator_process import condition, wait_for

KILLS = int(os.environ.get("FARGATE_HA_KILLS", "3"))  # `make ha`: 20, with the chart's 15 s lease
TASKS, SERVICES = 200, 20
_lease, _renew, _retry = os.environ.get("FARGATE_HA_LEASE", "6,4,1").split(",")
LEASE = Durations(int(_lease), float(_renew), float(_retry))
SLACK = 2.0  # seconds beyond the lease duration: the follower seeing the last renewal late, then acquiring
WAIT = float(os.environ.get("FARGATE_CHAOS_WAIT", "300"))
STARTED = re.compile(r"^(\S+ \S+) INFO \S+ fargate-operator handlers started", re.M)


def _handlers_started_after(replica: Replica, moment: float) -> float | None:
    """Seconds from `moment` (epoch) until the replica's log says Kopf's handlers started after it."""
    for stamp in STARTED.findall(replica.process.log_text()):
        at = datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()  # logging's local time
        if at >= moment:
            return at - moment
    return None


def test_sigkill_the_leader_at_random_moments_the_other_takes_over_and_nothing_runs_twice(
    world: World, network: Network, tmp_path: Path
) -> None:
    rng = random.Random(18)
    cp = world.control_plane
    ns, token = tenant_namespace(cp, "ha")
    replicas = Replicas(cp, world.ecs.endpoint, ns, tmp_path, durations=LEASE).start()
    workload = ChaosWorkload(cp, ns, network, TASKS, SERVICES, KILLS, rng)
    load = ReadLoad(token, workload.cluster)
    takeovers: list[float] = []
    handlers: list[float] = []
    runs: list[tuple[str, float, Any]] = []
    threads: list[threading.Thread] = []

    def run_task_through(replica: Replica) -> None:
        """A RunTask sent to the surviving replica while it takes over; answered once it reconciled."""
        started = time.monotonic()
        body = {
            "cluster": workload.cluster,
            "taskDefinition": f"kill-{ns}",
            "launchType": "FARGATE",
            "clientToken": uuid.uuid4().hex,
            "networkConfiguration": {
                "awsvpcConfiguration": {"subnets": [network.subnet_id], "securityGroups": [network.security_group_id]}
            },
        }
        try:
            answer: Any = rest_call(replica.process.rest_endpoint, token, "RunTask", body, timeout=60)
        except Exception as exc:
            answer = exc
        runs.append((replica.name, time.monotonic() - started, answer))

    def kill_the_leader(round_no: int) -> None:
        leader = replicas.leader()
        (survivor,) = replicas.others(leader.name)
        survivor.process.wait_ready(90)  # back as a follower since the last round, its cache synced
        load.target = survivor
        time.sleep(rng.uniform(0.5, 3.0))
        killed_at = time.time()
        leader.process.kill()
        if round_no % 5 == 2:
            threads.append(threading.Thread(target=run_task_through, args=(survivor,)))
            threads[-1].start()
        holder, acquired = replicas.wait_taken_over(leader.name, timeout=LEASE.lease + 30)
        assert holder == survivor.name
        takeovers.append(acquired.timestamp() - killed_at)
        leader.process.start()  # a follower from now on
        started = wait_for("the new leader's handlers", lambda: _handlers_started_after(survivor, killed_at), 30)
        handlers.append(started)

    try:
        replicas.wait_ready()
        workload.setup()
        wait_for(
            "cluster and task definition accepted",
            lambda: all(
                condition(workload.kube.status(kind, "c" if kind == "fargatecluster" else "td"), "Ready").get("status")
                == "True"
                for kind in ("fargatecluster", "fargatetaskdefinition")
            ),
        )
        load.start()
        workload.play(kill_the_leader)
        for thread in threads:
            thread.join(90)
        replicas.wait_ready()
        load.target = replicas.leader()
        workload.wait_converged(WAIT)
        workload.check_ecs(world.ecs.client())
        load.stop()

        report = {
            "kills": len(takeovers),
            "durations": {"lease": LEASE.lease, "renew": LEASE.renew, "retry": LEASE.retry},
            "takeover_seconds": [round(t, 3) for t in takeovers],
            "handlers_running_seconds": [round(t, 3) for t in handlers],
            "reads_ok": load.ok,
            "read_errors": load.errors,
            "runtasks_through_follower": [(name, round(s, 2), str(a)[:200]) for name, s, a in runs],
            "duplicate_runtask_tokens": replicas.duplicate_run_tasks(),
        }
        (tmp_path / "takeovers.json").write_text(json.dumps(report, indent=2))
        print(
            f"\nHA failover ({LEASE}): {len(takeovers)} SIGKILLs of the leader; takeover (Lease acquired) "
            f"{distribution(takeovers)}; handlers running again {distribution(handlers)}; "
            f"reads on the survivor {load.ok} ok / {len(load.errors)} errors; "
            f"RunTasks through the survivor: {[(n, round(s, 1)) for n, s, _ in runs]}; report {tmp_path / 'takeovers.json'}"
        )
        assert len(takeovers) == KILLS
        assert max(takeovers) <= LEASE.lease + SLACK, takeovers
        assert not load.errors, load.errors[:10]
        assert load.ok > 0
        for name, _, answer in runs:
            assert isinstance(answer, dict) and len(answer.get("tasks", [])) == 1, (name, answer)
        assert report["duplicate_runtask_tokens"] == {}, "a RunTask sent twice under one clientToken"
    finally:
        load.stop()
        replicas.stop()
