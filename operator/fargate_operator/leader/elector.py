"""The elector: campaigns for, renews and releases the Lease, on a thread of its own.

A thread, not a coroutine: the event loops that serve REST/MCP and run Kopf's handlers can
be busy for seconds under a burst, and a renewal that waits for a busy loop is a renewal
that misses its deadline. The timing decisions are lease.py's; this module does the calls
(with timeouts, on its own connection pool) and tells the rest of the process:

- `on_lead()` once it holds the Lease (the ECS write fence is already open);
- `on_follow()` once it lost it (the fence is already closed);
- `may_lead()` is asked before taking the Lease: a replica still stopping its last term
  must not start another.

A follower watches the Lease (one object, by field selector) instead of polling it, so it
sees a release at once and measures the holder's renewals from the moment they happen.
"""

from __future__ import annotations

import datetime
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter, Gauge

from fargate_operator import kubeclient
from fargate_operator.kubeclient import KubeClient
from fargate_operator.leader import lease as logic

log = logging.getLogger(__name__)

IS_LEADER = Gauge("fargate_operator_leader", "1 while this replica holds the leader Lease, else 0")
LEASE_HOLDER = Gauge("fargate_operator_lease_holder", "1 for the replica that holds the leader Lease", ["holder"])
ACQUIRED = Counter("fargate_operator_leader_acquisitions_total", "Times this replica took the leader Lease")
LOST = Counter("fargate_operator_leader_losses_total", "Times this replica lost the Lease without releasing it")

LEASES = "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
CONNECT_TIMEOUT = 5.0


class LeaseApiError(Exception):
    """The API server did not answer a Lease request (or refused it for another reason than a conflict)."""


class LeaseApi:
    """GET / POST / PUT / watch of one Lease, with timeouts, through a client of its own."""

    def __init__(self, client: KubeClient, namespace: str, name: str) -> None:
        self._client = client
        self.namespace, self.name = namespace, name
        self._collection = LEASES.format(namespace=namespace)

    def _request(
        self,
        method: str,
        path: str,
        timeout: float,
        body: dict[str, Any] | None = None,
        query: list[tuple[str, str]] | None = None,
    ) -> Any:
        try:
            return self._client.request(
                method, path, query=query, body=body, timeout=(min(CONNECT_TIMEOUT, timeout), timeout)
            )
        except Exception as exc:  # no answer: urllib3's timeouts and connection errors (ApiError status 0)
            raise LeaseApiError(f"{method} Lease {self.namespace}/{self.name}: {exc}") from exc

    def _answer(self, response: Any, method: str, allowed: tuple[int, ...] = ()) -> dict[str, Any] | None:
        data = response.data
        if response.status in allowed:
            return None
        if response.status >= 400:
            detail = json.loads(data).get("message", "") if data else ""
            raise LeaseApiError(f"{method} Lease {self.namespace}/{self.name}: HTTP {response.status} {detail}")
        obj: dict[str, Any] = json.loads(data)
        return obj

    def get(self, timeout: float) -> dict[str, Any] | None:
        """The Lease, or None when it does not exist."""
        return self._answer(self._request("GET", f"{self._collection}/{self.name}", timeout), "GET", (404,))

    def create(self, spec: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        """A new Lease with `spec`; None when one exists already (another replica was faster)."""
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": spec,
        }
        return self._answer(self._request("POST", self._collection, timeout, body), "POST", (409,))

    def replace(self, current: dict[str, Any], spec: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        """`spec` written onto `current` only if the Lease is still at its resourceVersion; None on a conflict."""
        body = {**current, "spec": spec}
        return self._answer(self._request("PUT", f"{self._collection}/{self.name}", timeout, body), "PUT", (409,))

    def wait_for_change(self, resource_version: str, seconds: float) -> None:
        """Return at the first change of the Lease after `resource_version`, or after `seconds`."""
        query = [
            ("watch", "true"),
            ("fieldSelector", f"metadata.name={self.name}"),
            ("resourceVersion", resource_version),
            ("timeoutSeconds", str(max(1, math.ceil(seconds)))),
        ]
        try:
            response = self._client.request(
                "GET", self._collection, query=query, timeout=(CONNECT_TIMEOUT, max(0.05, seconds)), stream=True
            )
        except Exception as exc:
            if _is_read_timeout(exc):
                return
            raise LeaseApiError(f"watch Lease {self.namespace}/{self.name}: {exc}") from exc
        try:
            if response.status >= 400:
                raise LeaseApiError(f"watch Lease {self.namespace}/{self.name}: HTTP {response.status}")
            for _ in kubeclient.lines(response):
                return  # any event (a renewal, a release, an error such as 410): look again
        except Exception as exc:
            if not _is_read_timeout(exc):
                raise LeaseApiError(f"watch Lease {self.namespace}/{self.name}: {exc}") from exc
        finally:  # closed, not returned to the pool: the rest of the stream must not meet the next request
            response.close()
            response.release_conn()


def _is_read_timeout(exc: BaseException) -> bool:
    import urllib3

    while exc is not None:
        if isinstance(exc, (urllib3.exceptions.ReadTimeoutError, TimeoutError)):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class LeaseElector:
    def __init__(
        self,
        settings: logic.ElectionSettings,
        api: LeaseApi,
        *,
        open_writes_until: Callable[[float], None],
        close_writes: Callable[[], None],
        on_lead: Callable[[], None],
        on_follow: Callable[[], None],
        may_lead: Callable[[], bool],
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime.datetime] = _now,
    ) -> None:
        self.settings = settings
        # The ECS write fence, as two callables: the elector opens and closes it, knowing nothing of ECS.
        self._api, self._open_writes_until, self._close_writes = api, open_writes_until, close_writes
        self._on_lead, self._on_follow, self._may_lead = on_lead, on_follow, may_lead
        self._clock, self._wall = clock, wall
        self._lease: dict[str, Any] | None = None  # the object as last read or written (resourceVersion)
        self._obs: logic.Observation | None = None
        self._leading = False
        self._last_sent = -math.inf  # when the last successful renewal (or the acquisition) was sent
        self._last_attempt = -math.inf
        self._lock = threading.Lock()  # Lease writes vs release()
        self._released = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leader-election", daemon=True)
        self._holder_shown = ""

    # -- what the rest of the process reads -----------------------------------------------------

    @property
    def leading(self) -> bool:
        return self._leading

    def holder(self) -> str:
        """Who holds the Lease as this replica last saw it ("" when nobody does, or nothing seen yet)."""
        record = self._obs.record if self._obs is not None else None
        return record.holder if record is not None else ""

    def start(self) -> LeaseElector:
        IS_LEADER.set(0)
        self._thread.start()
        return self

    # -- the loop ----------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._leading:
                    self._renew_once()
                else:
                    self._campaign_once()
            except LeaseApiError as exc:
                log.warning("leader election: %s", exc)
                self._stop.wait(self.settings.retry_period)
            except Exception:
                log.exception("leader election step failed")
                self._stop.wait(self.settings.retry_period)

    def _see(self, lease: dict[str, Any] | None) -> None:
        self._lease = lease
        record = logic.LeaseRecord.from_spec(lease.get("spec")) if lease is not None else None
        self._obs = logic.observe(self._obs, record, self._clock())
        holder = record.holder if record is not None else ""
        if holder != self._holder_shown:
            LEASE_HOLDER.clear()
            if holder:
                LEASE_HOLDER.labels(holder).set(1)
            self._holder_shown = holder

    def _campaign_once(self) -> None:
        timeout = max(1.0, self.settings.renew_deadline / 2)
        lease = self._api.get(timeout)
        self._see(lease)
        assert self._obs is not None
        may_lead = self._may_lead()
        if may_lead and logic.may_acquire(self._obs, self.settings.identity, self._clock()):
            record = logic.acquired(self._obs.record, self.settings, self._wall())
            sent = self._clock()
            with self._lock:  # the fence opens under the lock too: never after stop_renewing()
                if self._released:
                    return
                if lease is None:
                    taken = self._api.create(record.to_spec(), timeout)
                else:
                    taken = self._api.replace(lease, record.to_spec(), timeout)
                if taken is not None:
                    self._see(taken)
                    self._last_sent = self._last_attempt = sent
                    self._open_writes_until(logic.fence_deadline(sent, self.settings))
                    self._leading = True
            if taken is not None:
                self._became_leader()
            return  # taken, or somebody else wrote first: read again at once
        if lease is None:  # nothing to watch yet (we may not lead now): look again soon
            self._stop.wait(self.settings.retry_period)
            return
        wait = logic.wait_before_acquiring(self._obs, self.settings.identity, self._clock())
        if not may_lead:
            wait = self.settings.retry_period  # our last term is still stopping
        self._api.wait_for_change(lease["metadata"]["resourceVersion"], min(max(wait, 0.05), 60.0))

    def _became_leader(self) -> None:
        IS_LEADER.set(1)
        ACQUIRED.inc()
        log.info(
            "leading: took Lease %s/%s as %s (lease %ss, renew deadline %ss, retry %ss)",
            self._api.namespace,
            self._api.name,
            self.settings.identity,
            int(self.settings.lease_duration),
            self.settings.renew_deadline,
            self.settings.retry_period,
        )
        self._on_lead()

    def _renew_once(self) -> None:
        delay = self._last_attempt + self.settings.retry_period - self._clock()
        if delay > 0 and self._stop.wait(delay):
            return
        now = self._clock()
        if logic.leadership_lost(self._last_sent, now, self.settings):
            self._lose(f"no renewal succeeded within the renew deadline ({self.settings.renew_deadline}s)")
            return
        assert self._lease is not None and self._obs is not None and self._obs.record is not None
        record = logic.renewed(self._obs.record, self._wall())
        sent = self._last_attempt = self._clock()
        with self._lock:
            if self._released:
                return
            try:
                renewed = self._api.replace(
                    self._lease, record.to_spec(), logic.renewal_timeout(self._last_sent, sent, self.settings)
                )
            except LeaseApiError as exc:
                left = logic.fence_deadline(self._last_sent, self.settings) - self._clock()
                log.warning("leader election: renewal failed (%.1fs left before fencing): %s", left, exc)
                return
            if renewed is not None:
                self._see(renewed)
                self._last_sent = sent
                self._open_writes_until(logic.fence_deadline(sent, self.settings))
                return
        current = self._api.get(logic.renewal_timeout(self._last_sent, self._clock(), self.settings))
        self._see(current)
        holder = self.holder()
        if holder != self.settings.identity:
            self._lose(f"the Lease was taken by {holder or 'nobody'}")

    def _lose(self, why: str) -> None:
        self._close_writes()
        self._leading = False
        IS_LEADER.set(0)
        LOST.inc()
        log.warning("stopped leading: %s; ECS writes fenced, following", why)
        self._on_follow()

    # -- stepping down on purpose ----------------------------------------------------------------

    def stop_renewing(self) -> None:
        """No more Lease writes from the loop: the fence is never opened again (blocking, brief).

        The first step of stepping down: then close the fence, wait for the writes already
        sent, and release() -- or, if they do not finish, let the Lease expire by itself.
        """
        self._stop.set()
        with self._lock:
            self._released = True

    def release(self) -> bool:
        """Hand the Lease over (holder empty) so a follower takes it at once; after stop_renewing().

        Call after every ECS write stopped (fence closed and drained): a follower may act the
        moment this returns. Blocking; True when the Lease was released.
        """
        self.stop_renewing()
        with self._lock:
            if not self._leading:
                return False
            self._leading = False
            self._close_writes()
            IS_LEADER.set(0)
            assert self._lease is not None and self._obs is not None and self._obs.record is not None
            try:
                done = self._api.replace(
                    self._lease, logic.released(self._obs.record, self._wall()).to_spec(), CONNECT_TIMEOUT
                )
            except LeaseApiError as exc:
                log.warning("could not release the Lease (it expires by itself): %s", exc)
                return False
        if done is None:
            log.warning("could not release the Lease: it changed meanwhile")
            return False
        self._see(done)
        log.info("released Lease %s/%s", self._api.namespace, self._api.name)
        return True
