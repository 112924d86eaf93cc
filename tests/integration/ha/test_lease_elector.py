"""The leader elector (leader/elector.py) against the real API server, two candidates in one process.

Real kube-apiserver, real Lease, the operator's own client (kubeclient.py); one candidate can be cut off from the
API server by a TCP fault proxy. Fast durations (lease 3 s, renew deadline 2 s, retry 0.5 s):
this is about the election's rules, the two-process tests (test_ha_*.py) about the operator.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fargate_devenv.control_plane import ControlPlane
from fargate_devenv.fault_proxy import FaultProxy
from fargate_devenv.world import World
from fargate_operator import kubeclient
from fargate_operator.ecs.fence import WriteFence
from fargate_operator.kubeclient import KubeClient
from fargate_operator.leader.elector import LeaseApi, LeaseElector
from fargate_operator.leader.lease import ElectionSettings
from support.ha import api_server_address, proxied_control_plane
from support.operator_process import wait_for

LEASE_SECONDS, RENEW, RETRY = 3, 2.0, 0.5


def client_for(kubeconfig: Path) -> KubeClient:
    return KubeClient(kubeclient.connection(str(kubeconfig)))


@dataclass
class Candidate:
    identity: str
    elector: LeaseElector
    fence: WriteFence
    events: list[tuple[float, str]] = field(default_factory=list)  # (monotonic, "lead" | "follow")
    may: threading.Event = field(default_factory=threading.Event)


def candidate(cp: ControlPlane, namespace: str, name: str, identity: str) -> Candidate:
    fence = WriteFence(open=False)
    settings = ElectionSettings(name, namespace, identity, LEASE_SECONDS, RENEW, RETRY)
    events: list[tuple[float, str]] = []
    may = threading.Event()
    may.set()
    elector = LeaseElector(
        settings,
        LeaseApi(client_for(cp.kubeconfig), namespace, name),
        open_writes_until=fence.open_until,
        close_writes=fence.close,
        on_lead=lambda: events.append((time.monotonic(), "lead")),
        on_follow=lambda: events.append((time.monotonic(), "follow")),
        may_lead=may.is_set,
    )
    return Candidate(identity, elector, fence, events, may)


def a_leading_b_following(cp: ControlPlane, lease_name: str) -> tuple[Candidate, Candidate]:
    """Two candidates on one Lease: a started first and leading, b started after."""
    a = candidate(cp, "default", lease_name, "a")
    b = candidate(cp, "default", lease_name, "b")
    a.elector.start()
    wait_for("a leads", lambda: a.elector.leading, timeout=10, interval=0.05)
    b.elector.start()
    return a, b


@pytest.fixture
def lease_name(world: World) -> str:
    return f"elect-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def cut_off(world: World, tmp_path: Path) -> Iterator[tuple[FaultProxy, ControlPlane]]:
    proxy = FaultProxy(*api_server_address(world.control_plane)).start()
    yield proxy, proxied_control_plane(world.control_plane, proxy, tmp_path / "proxied.kubeconfig")
    proxy.stop()


def test_one_candidate_leads_and_a_release_hands_over_at_once(world: World, lease_name: str) -> None:
    a, b = a_leading_b_following(world.control_plane, lease_name)
    time.sleep(LEASE_SECONDS + 1)  # longer than a lease: a keeps renewing, b must not take over
    assert a.elector.leading and not b.elector.leading
    assert a.fence.is_open() and not b.fence.is_open()
    assert b.elector.holder() == "a" and a.elector.holder() == "a"
    released = time.monotonic()
    assert a.elector.release()
    assert not a.fence.is_open()
    wait_for("b leads", lambda: b.elector.leading, timeout=5, interval=0.01)
    took = b.events[-1][0] - released
    assert took < 1.0, f"a released Lease is taken in {took:.2f}s (the follower watches it)"
    assert b.fence.is_open()
    b.elector.release()


def test_a_candidate_still_stopping_its_last_term_does_not_take_the_lease(world: World, lease_name: str) -> None:
    cp = world.control_plane
    a = candidate(cp, "default", lease_name, "a")
    a.may.clear()
    a.elector.start()
    time.sleep(2 * RETRY + 0.5)
    assert not a.elector.leading, "may_lead() said no"
    a.may.set()
    wait_for("a leads once it may", lambda: a.elector.leading, timeout=5, interval=0.05)
    a.elector.release()


def test_a_partitioned_leader_is_fenced_before_anyone_else_leads(
    world: World, lease_name: str, cut_off: tuple[FaultProxy, ControlPlane]
) -> None:
    proxy, proxied = cut_off
    a = candidate(proxied, "default", lease_name, "a")  # reaches the API server through the fault proxy
    b = candidate(world.control_plane, "default", lease_name, "b")
    a.elector.start()
    wait_for("a leads", lambda: a.elector.leading, timeout=10, interval=0.05)
    b.elector.start()
    time.sleep(1.5)

    fence_closed: list[float] = []

    def watch_fence() -> None:
        while a.fence.is_open():
            time.sleep(0.005)
        fence_closed.append(time.monotonic())

    watcher = threading.Thread(target=watch_fence)
    watcher.start()
    partitioned = time.monotonic()
    proxy.drop()
    wait_for("b leads", lambda: b.elector.leading, timeout=LEASE_SECONDS + 5, interval=0.005)
    b_led = next(t for t, what in b.events if what == "lead")
    watcher.join(5)
    assert fence_closed, "a's fence never closed"
    # a's fence closes at most a renew deadline after the partition (its last renewal came before it) ...
    assert fence_closed[0] - partitioned <= RENEW + 0.1
    # ... and at least lease duration - renew deadline before b takes over.
    assert b_led - fence_closed[0] >= LEASE_SECONDS - RENEW - 0.1, (b_led - partitioned, fence_closed[0] - partitioned)
    wait_for("a notices and follows", lambda: "follow" in [w for _, w in a.events], timeout=5, interval=0.05)
    assert not a.elector.leading

    proxy.heal()
    wait_for("a sees b lead after the partition heals", lambda: a.elector.holder() == "b", timeout=10)
    time.sleep(LEASE_SECONDS + 1)
    assert b.elector.leading and not a.elector.leading, "a healed follower does not take the Lease back"
    a.elector.stop_renewing()  # its loop ends too (it would go on asking a proxy that is about to stop)
    b.elector.release()


def test_once_stepping_down_began_no_renewal_reopens_the_fence(world: World, lease_name: str) -> None:
    """SIGTERM's order: stop renewing, close the fence, drain, release; a renewal in between must not undo the close."""
    a, b = a_leading_b_following(world.control_plane, lease_name)
    a.elector.stop_renewing()
    a.fence.close()
    time.sleep(3 * RETRY)  # several renewal periods
    assert not a.fence.is_open(), "a renewal reopened the fence"
    assert not b.elector.leading, "the Lease is still a's until it is released or expires"
    assert a.elector.release()
    wait_for("b leads", lambda: b.elector.leading, timeout=5, interval=0.01)
    b.elector.release()
