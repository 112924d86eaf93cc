"""The ECS write fence: whether this process may send an ECS write *now*.

With leader election (leader/), only the replica holding the Lease may change anything in
ECS, and it must stop before another replica can take the Lease over. The elector opens
the fence until `renewal sent + renew deadline` after every successful renewal; the gateway
checks it right before every HTTP attempt of a write (botocore's `before-send`, so a retry
botocore makes after the deadline is refused too), and again after botocore's rate limiter
waited, as the last thing before sending (ecs/gateway.py). The check reads the monotonic clock
itself, so a leader whose event loop or elector thread stalls, or whose process was paused,
is fenced on time even before anyone notices that the renewal failed.

Reads (Describe*, List*) are never fenced: followers keep their service-task index and the
adapters' task definition lookups warm. ExecuteCommand is not fenced either: it is a
caller's own request answered to that caller (forwarded as ECS would take it from any
client), not a reconcile action on an object.

Without leader election the fence stays open (one replica acts alone, as before).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

UNFENCED = frozenset({"ExecuteCommand"})


def is_write(operation: str) -> bool:
    """Whether an ECS operation changes something (and so needs the Lease)."""
    return not operation.startswith(("Describe", "List")) and operation not in UNFENCED


class Fenced(Exception):
    """An ECS write refused because this replica does not (or no longer) hold the leader Lease."""

    def __init__(self, operation: str) -> None:
        super().__init__(
            f"{operation} not sent: this replica does not hold the leader Lease (another replica reconciles)"
        )
        self.operation = operation


class WriteFence:
    """Open until a monotonic deadline; counts the writes that passed it and are still in flight."""

    def __init__(self, *, open: bool = True, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until = math.inf if open else -math.inf
        self._in_flight = 0
        self._idle = threading.Condition()

    def open_until(self, deadline: float) -> None:
        """Allow writes until `deadline` (monotonic seconds); a later renewal moves it on."""
        self._until = deadline

    def close(self) -> None:
        self._until = -math.inf

    def is_open(self) -> bool:
        return self._clock() < self._until

    def check(self, operation: str) -> None:
        """Raise Fenced unless a write may go out now (reads always may)."""
        if is_write(operation) and not self.is_open():
            raise Fenced(operation)

    def enter(self, operation: str) -> bool:
        """Count a write as in flight (before its first check); returns whether it was counted."""
        if not is_write(operation):
            return False
        with self._idle:
            self._in_flight += 1
        return True

    def leave(self) -> None:
        with self._idle:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.notify_all()

    def in_flight(self) -> int:
        return self._in_flight

    def drain(self, timeout: float) -> bool:
        """Wait (blocking) until no write that passed the fence is in flight; False on timeout.

        Call after close(): a write counted before the close either went out (and is waited
        for here) or meets the closed fence at its check.
        """
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)
