"""Leader election under partition: the leader cut off from the API server (or paused) while it still reaches ECS.

Two replicas (lease 6 s, renew deadline 4 s, retry 1 s); each has its own ECS proxy (so every
ECS write is attributed to a replica, with the time it reached ECS) and the leader's API
traffic goes through a TCP fault proxy. The leader has a backlog of RunTasks (its ECS proxy
adds latency) when it is cut off: it must stop sending ECS writes by its renew deadline --
before its lease can expire -- the other replica takes over, and no RunTask is sent twice.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import yaml

from fargate_devenv.ecs_emulator import Network
from fargate_devenv.ecs_proxy import Faults
from fargate_devenv.world import World
from fargate_operator.reconcile.task import started_by
from support.ha import Durations, Replica, Replicas
from support.operator_process import Kube, awsvpc, condition, manifest, task_definition_spec, task_manifest, wait_for

LEASE = Durations(6, 4.0, 1.0)
LATENCY = 1.5  # seconds the leader's ECS proxy holds each request: a backlog, and writes still in flight
TASKS = 120  # a backlog: the fenced leader must still have RunTasks to send
IN_FLIGHT = 0.5  # seconds after a frozen leader wakes in which requests already past the fence go out


def _setup(world: World, network: Network, tmp_path: Path, partitionable: bool) -> tuple[Replicas, Kube, str, dict]:
    ns = f"part-{uuid.uuid4().hex[:8]}"
    cp = world.control_plane
    cp.kubectl("create", "namespace", ns)
    kube = Kube(cp, ns)
    replicas = Replicas(cp, world.ecs.endpoint, ns, tmp_path, durations=LEASE, partitionable=partitionable).start()
    replicas.wait_ready()
    cluster = f"part-{ns}"
    kube.apply(manifest("FargateCluster", "c", {"clusterName": cluster}))
    kube.apply(manifest("FargateTaskDefinition", "td", task_definition_spec(cluster)))
    # Both Ready before the burst: a FargateTask whose cluster is not made yet backs off and retries later,
    # and the leader must be sending RunTasks all at once when it is cut off (a new cluster looks first,
    # in a batched DescribeClusters, so it takes a moment longer than the task definition).
    for kind, name in (("fargatetaskdefinition", "td"), ("fargatecluster", "c")):
        wait_for(
            f"{kind} Ready",
            lambda k=kind, n=name: condition(kube.status(k, n), "Ready").get("status") == "True",
        )
    return replicas, kube, cluster, awsvpc(network.subnet_id, network.security_group_id)


def _burst(world: World, kube: Kube, net: dict, leader: Replica) -> list[str]:
    """TASKS FargateTasks at once, with the leader's ECS answers slowed; returns their names once it is sending RunTasks."""
    leader.ecs.faults = Faults(latency=LATENCY)
    docs = [task_manifest(f"t{i:03d}", net) for i in range(TASKS)]
    world.control_plane.kubectl("apply", "-n", kube.namespace, "-f", "-", input=yaml.safe_dump_all(docs))
    wait_for("the leader sending RunTasks", lambda: leader.ecs.count("RunTask") >= 3, timeout=60, interval=0.05)
    return [d["metadata"]["name"] for d in docs]


def _converged_once_each(world: World, kube: Kube, cluster: str, names: list[str], replicas: Replicas) -> None:
    wait_for(
        "every FargateTask Running",
        lambda: all(kube.status("fargatetask", n).get("phase") == "Running" for n in names),
        timeout=180,
        interval=1,
    )
    ecs = world.ecs.client()
    counts = {
        n: len(
            ecs.list_tasks(
                cluster=cluster, startedBy=started_by((kube.get("fargatetask", n) or {})["metadata"]["uid"])
            )["taskArns"]
        )
        for n in names
    }
    assert set(counts.values()) == {1}, {n: c for n, c in counts.items() if c != 1}
    assert replicas.duplicate_run_tasks() == {}, "a RunTask sent twice (counted at the ECS proxies)"


def _check_no_write_after_fencing(old: Replica, new: Replica, acquired: float, woke: float | None = None) -> None:
    """The old leader's writes all reached ECS before the new leader could act; the new one's all after.

    `woke`: when a frozen old leader was resumed; requests that had passed the fence's check when it
    froze go out in the IN_FLIGHT seconds after that (docs/high-availability.md "Limits"), and are left to the caller.
    """
    old_writes = [c.at for c in old.writes() if woke is None or not woke <= c.at <= woke + IN_FLIGHT]
    # Fenced at (last renewal sent) + renew deadline <= acquired - (lease - renew deadline); anything sent
    # before that reaches ECS at most LATENCY later (plus scheduling).
    latest_allowed = acquired - (LEASE.lease - LEASE.renew) + LATENCY + 0.5
    late = [round(at - acquired, 2) for at in old_writes if at > latest_allowed]
    assert not late, f"old leader's writes after its fence (seconds after the takeover): {late}"
    early = [round(c.at - acquired, 2) for c in new.writes() if c.at < acquired]
    assert not early, f"new leader's writes before it held the Lease: {early}"
    fenced = old.metric("fargate_operator_ecs_calls_total", operation="RunTask", outcome="fenced")
    assert fenced > 0, "the old leader had RunTasks left to send and was refused by its fence"


def test_a_leader_cut_off_from_the_api_server_stops_ecs_writes_before_its_lease_expires(
    world: World, network: Network, tmp_path: Path
) -> None:
    replicas, kube, cluster, net = _setup(world, network, tmp_path, partitionable=True)
    try:
        old = replicas.leader()
        (new,) = replicas.others(old.name)
        # 6 s - 4 s: a 2 s fencing margin, shorter than the gateway's 5 s ECS connect timeout, is named at start.
        assert "fencing margin (lease duration - renew deadline = 2s)" in old.process.log_text()
        names = _burst(world, kube, net, old)
        assert old.api is not None
        old.api.drop()
        cut = time.time()
        holder, acquired_at = replicas.wait_taken_over(old.name, timeout=LEASE.lease + 20)
        acquired = acquired_at.timestamp()
        assert holder == new.name
        assert acquired - cut >= LEASE.lease - LEASE.retry - 0.5, "not before the old lease could expire"
        wait_for(
            "the old leader following",
            lambda: "follower" in old.readyz()[1] or old.metric("fargate_operator_leader") == 0,
        )
        old.ecs.faults = Faults()
        _check_no_write_after_fencing(old, new, acquired)
        writes_when_cut_off = len(old.writes())

        old.api.heal()
        wait_for(
            "the healed replica sees the new leader", lambda: f"follower of {new.name}" in old.readyz()[1], timeout=60
        )
        _converged_once_each(world, kube, cluster, names, replicas)
        assert len(old.writes()) == writes_when_cut_off, "a healed follower writes nothing to ECS"
        print(
            f"\npartition: takeover {acquired - cut:.2f}s after the cut; old leader's RunTasks sent {old.ecs.count('RunTask')}, "
            f"refused by its fence {old.metric('fargate_operator_ecs_calls_total', operation='RunTask', outcome='fenced'):.0f}; "
            f"new leader's RunTasks {new.ecs.count('RunTask')}; duplicates 0"
        )
    finally:
        replicas.stop()


def test_a_paused_leader_wakes_fenced_and_starts_nothing_twice(world: World, network: Network, tmp_path: Path) -> None:
    """SIGSTOP (a long GC pause, a frozen VM) past its lease: on SIGCONT its fence is shut by the clock.

    Nothing it checks after waking goes out. A request that had passed the fence's check when the
    process froze (in botocore between before-send and the socket write) goes out as it wakes: no
    check can recall it (docs/high-availability.md "Limits"); such RunTasks carry the task's clientToken, so ECS starts
    nothing twice. Seen once here (a burst of 60 tasks): 3 writes 0.00 to 0.05 s after SIGCONT.
    """
    replicas, kube, cluster, net = _setup(world, network, tmp_path, partitionable=False)
    try:
        old = replicas.leader()
        (new,) = replicas.others(old.name)
        names = _burst(world, kube, net, old)
        assert old.process.proc is not None
        os.kill(old.process.proc.pid, signal.SIGSTOP)
        try:
            holder, acquired_at = replicas.wait_taken_over(old.name, timeout=LEASE.lease + 20)
            assert holder == new.name
            time.sleep(2)
        finally:
            old.ecs.faults = Faults()  # what was in flight when it froze reaches ECS at once
            resumed = time.time()
            os.kill(old.process.proc.pid, signal.SIGCONT)
        wait_for("the woken replica following", lambda: f"follower of {new.name}" in old.readyz()[1], timeout=30)
        after = [(round(c.at - resumed, 2), c.action) for c in old.writes() if c.at > resumed]
        late = [(at, action) for at, action in after if at > IN_FLIGHT]
        assert not late, f"ECS writes the paused leader checked after it woke: {late} (all after the wake: {after})"
        assert {action for _, action in after} <= {"RunTask"}, after
        _check_no_write_after_fencing(old, new, acquired_at.timestamp(), woke=resumed)
        _converged_once_each(world, kube, cluster, names, replicas)
        if after:
            print(f"\npaused leader: {len(after)} RunTasks already past the fence went out as it woke: {after}")
    finally:
        replicas.stop()


THROTTLED_TASKS = 8  # RunTasks queued on botocore's rate limiter: ~2 s apart at its floor, past the takeover


def test_a_throttled_leader_cut_off_sends_nothing_after_the_takeover(
    world: World, network: Network, tmp_path: Path
) -> None:
    """ECS throttles every RunTask of the leader, so botocore's adaptive rate limiter paces its client at
    0.5 requests/s and its retries queue on the token bucket, past the fence's first check; then the leader is
    cut off from the API server. Every request that reaches ECS's door counts (a throttled one left the process
    too): none may arrive after the new leader took the Lease."""
    replicas, kube, _, net = _setup(world, network, tmp_path, partitionable=True)
    try:
        old = replicas.leader()
        (new,) = replicas.others(old.name)
        old.ecs.faults = Faults(throttle=1.0, actions=frozenset({"RunTask"}))
        docs = [task_manifest(f"t{i:03d}", net) for i in range(THROTTLED_TASKS)]
        world.control_plane.kubectl("apply", "-n", kube.namespace, "-f", "-", input=yaml.safe_dump_all(docs))
        wait_for(
            "every RunTask throttled once and retries queued on the rate limiter",
            lambda: (
                old.ecs.injected["throttle"] >= THROTTLED_TASKS + 2
                and old.metric("fargate_operator_ecs_writes_in_flight") >= 2
            ),
            timeout=60,
            interval=0.05,
        )
        assert old.api is not None
        old.api.drop()
        cut = time.time()
        holder, acquired_at = replicas.wait_taken_over(old.name, timeout=LEASE.lease + 20)
        acquired = acquired_at.timestamp()
        assert holder == new.name

        def late() -> list[tuple[float, str]]:
            return [(round(c.at - acquired, 2), c.action) for c in old.arrivals() if c.at > acquired]

        # Until the old leader has no write left (each queued one is answered or refused) -- or one arrived late.
        wait_for(
            "the old leader's queued writes all answered or refused",
            lambda: late() or old.metric("fargate_operator_ecs_writes_in_flight") == 0,
            timeout=90,
            interval=0.2,
        )
        assert not late(), f"the old leader's writes that reached ECS after the takeover (s after it): {late()}"
        fenced = old.metric("fargate_operator_ecs_calls_total", operation="RunTask", outcome="fenced")
        assert fenced > 0, "queued RunTasks were refused by the fence after their wait"
        last = max(c.at for c in old.arrivals())
        print(
            f"\nthrottled leader: takeover {acquired - cut:.2f}s after the cut; its last write reached ECS "
            f"{acquired - last:.2f}s before the takeover; {old.ecs.injected['throttle']} RunTasks throttled, "
            f"{fenced:.0f} refused by the fence"
        )
    finally:
        replicas.stop()
