"""Leader election on a coordination.k8s.io/v1 Lease: the timing decisions, as pure functions.

client-go's semantics (k8s.io/client-go/tools/leaderelection), which controller-runtime,
ACK and Crossplane use:

- The holder renews the Lease every `retry_period` seconds (renewTime). A renewal needs the
  resourceVersion it last saw, so two replicas can never both succeed.
- A candidate takes the Lease over only after it has not seen the record change for the
  holder's `leaseDurationSeconds`, counted on the candidate's own monotonic clock from the
  moment it *saw* the change -- never from the renewTime written in the record, so the
  replicas' wall clocks need not agree (client-go's observedTime).
- A released Lease (holderIdentity empty) can be taken at once.
- A holder that has not renewed successfully within `renew_deadline` of the last successful
  renewal stops leading.

Fencing (what client-go leaves to the program): the ECS write fence closes at
`sent + renew_deadline`, where `sent` is when the last successful renewal was *sent*. Any
candidate sees that renewal no earlier than the API server stored it, which is after it was
sent, so its takeover comes no earlier than `sent + lease_duration`: the old leader's last
ECS write goes out at least `lease_duration - renew_deadline` seconds before anyone else
may act, whatever the two replicas' clocks say.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, replace
from typing import Any

JITTER_FACTOR = 1.2  # client-go: RenewDeadline must exceed JitterFactor * RetryPeriod
MICRO_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"  # metav1.MicroTime as the API server writes it


@dataclass(frozen=True)
class ElectionSettings:
    """Which Lease, who we are, and the three durations (seconds)."""

    name: str
    namespace: str
    identity: str
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def problems(self) -> list[str]:
        """What is wrong with these settings, each naming its flag and what is allowed (empty: fine)."""
        found = []
        if not self.identity:
            found.append("--leader-elect-identity must not be empty (default: POD_NAME, else host name and pid)")
        if not self.name:
            found.append("--leader-elect-resource-name must not be empty")
        if not self.namespace:
            found.append("--leader-elect-resource-namespace must not be empty (default: POD_NAMESPACE)")
        if self.lease_duration < 1 or self.lease_duration != int(self.lease_duration):
            # Lease.spec.leaseDurationSeconds is an integer.
            found.append(
                f"--leader-elect-lease-duration must be a whole number of seconds >= 1, not {self.lease_duration}"
            )
        if self.retry_period <= 0:
            found.append(f"--leader-elect-retry-period must be > 0, not {self.retry_period}")
        if not self.renew_deadline < self.lease_duration:
            found.append(
                f"--leader-elect-renew-deadline ({self.renew_deadline}) must be less than "
                f"--leader-elect-lease-duration ({self.lease_duration}): the difference is the fencing margin"
            )
        if not self.renew_deadline > JITTER_FACTOR * self.retry_period:
            found.append(
                f"--leader-elect-renew-deadline ({self.renew_deadline}) must exceed {JITTER_FACTOR} x "
                f"--leader-elect-retry-period ({self.retry_period}), so a renewal can be retried"
            )
        return found

    def margin_note(self, connect_timeout: float) -> str | None:
        """A warning when the fencing margin is shorter than an ECS request can take to reach ECS.

        The fence is checked before a request is sent; opening its connection may take up to the
        gateway's connect timeout, so a write let through just before the deadline can reach ECS
        that much later. RunTask and CreateService stay idempotent (clientToken) even then.
        """
        margin = self.lease_duration - self.renew_deadline
        if margin >= connect_timeout:
            return None
        return (
            f"fencing margin (lease duration - renew deadline = {margin:g}s) is shorter than the ECS connect "
            f"timeout ({connect_timeout:g}s): a write let through just before the deadline could reach ECS after "
            "another replica took over"
        )


@dataclass(frozen=True)
class LeaseRecord:
    """The Lease's spec, as the election reads and writes it."""

    holder: str  # "" when nobody holds it (never held, or released)
    duration_seconds: int
    acquire_time: str | None = None
    renew_time: str | None = None
    transitions: int = 0

    @classmethod
    def from_spec(cls, spec: dict[str, Any] | None) -> LeaseRecord:
        spec = spec or {}
        return cls(
            holder=str(spec.get("holderIdentity") or ""),
            duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
            acquire_time=spec.get("acquireTime"),
            renew_time=spec.get("renewTime"),
            transitions=int(spec.get("leaseTransitions") or 0),
        )

    def to_spec(self) -> dict[str, Any]:
        return {
            "holderIdentity": self.holder or None,
            "leaseDurationSeconds": self.duration_seconds,
            "acquireTime": self.acquire_time,
            "renewTime": self.renew_time,
            "leaseTransitions": self.transitions,
        }


@dataclass(frozen=True)
class Observation:
    """A record and when (monotonic, this process) it was first seen in this form."""

    record: LeaseRecord | None  # None: no Lease object exists
    observed_at: float


def observe(previous: Observation | None, record: LeaseRecord | None, now: float) -> Observation:
    """The observation after reading `record` at `now`: the clock restarts only when the record changed.

    Reading an unchanged record again (a poll, a reconnected watch) must not extend the
    holder's lease, or a dead holder would never expire.
    """
    if previous is not None and previous.record == record:
        return previous
    return Observation(record, now)


def expires_at(obs: Observation) -> float:
    """When, on this process's monotonic clock, the observed holder's lease runs out."""
    if obs.record is None or not obs.record.holder:
        return -math.inf
    return obs.observed_at + obs.record.duration_seconds


def may_acquire(obs: Observation, identity: str, now: float) -> bool:
    """Whether `identity` may take the Lease now: free, released, ours already, or expired."""
    record = obs.record
    if record is None or not record.holder or record.holder == identity:
        return True
    return now >= expires_at(obs)


def wait_before_acquiring(obs: Observation, identity: str, now: float) -> float:
    """Seconds until may_acquire() can turn true without a change of the record (0: now)."""
    return 0.0 if may_acquire(obs, identity, now) else expires_at(obs) - now


def micro_time(when: datetime.datetime) -> str:
    return when.astimezone(datetime.UTC).strftime(MICRO_TIME)


def acquired(previous: LeaseRecord | None, settings: ElectionSettings, wall: datetime.datetime) -> LeaseRecord:
    """The record that takes (or re-takes) the Lease for settings.identity."""
    now = micro_time(wall)
    if previous is not None and previous.holder == settings.identity:
        return renewed(replace(previous, duration_seconds=int(settings.lease_duration)), wall)
    transitions = previous.transitions + 1 if previous is not None else 0  # as client-go counts them
    return LeaseRecord(settings.identity, int(settings.lease_duration), now, now, transitions)


def renewed(record: LeaseRecord, wall: datetime.datetime) -> LeaseRecord:
    return replace(record, renew_time=micro_time(wall))


def released(record: LeaseRecord, wall: datetime.datetime) -> LeaseRecord:
    """What a holder writes when it steps down on purpose: nobody holds it, any candidate may take it now.

    As client-go's ReleaseOnCancel: holder empty, leaseDurationSeconds 1.
    """
    now = micro_time(wall)
    return LeaseRecord("", 1, now, now, record.transitions)


def fence_deadline(renewal_sent: float, settings: ElectionSettings) -> float:
    """Until when (monotonic) ECS writes may go out after a renewal sent at `renewal_sent` succeeded."""
    return renewal_sent + settings.renew_deadline


def leadership_lost(last_renewal_sent: float, now: float, settings: ElectionSettings) -> bool:
    """Whether a leader whose last successful renewal was sent at `last_renewal_sent` must stop leading."""
    return now >= fence_deadline(last_renewal_sent, settings)


def renewal_timeout(last_renewal_sent: float, now: float, settings: ElectionSettings) -> float:
    """How long one renewal request may take: never past the deadline, and at most half the deadline.

    A request that hangs (a dropped connection that was not reset) then leaves room for
    another attempt on a fresh connection before the deadline.
    """
    left = fence_deadline(last_renewal_sent, settings) - now
    return max(0.1, min(left, settings.renew_deadline / 2))


def parse_micro_time(value: str | None) -> datetime.datetime | None:
    """A MicroTime (or RFC 3339 time) as an aware datetime; None when absent."""
    if not value:
        return None
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
