"""EventBridge's delivery played by the test: the real events, passed on to the operator's queue with faults.

An EventBridge rule sends every ECS event to a source queue (support.event_queue.EventQueue); a
`Relay` thread long-polls it and sends each event's body on to the operator's queue with
SendMessage -- unchanged, the same event id -- unless `fault(event)` says otherwise: drop it (a lost
message), delay it (DelaySeconds), or send it more than once. Everything passed on is kept in
`sent`, everything dropped in `dropped`, so a test can send any of them again, late or out of order.
Real SQS (the emulator's), real events; only the route between the two queues is the test's.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from support.event_queue import EventQueue


@dataclass(frozen=True)
class Fault:
    drop: bool = False
    delay_seconds: int = 0  # SQS's DelaySeconds (at most 900)
    copies: int = 1


PASS = Fault()
Event = dict[str, Any]


@dataclass
class Relay:
    source: EventQueue
    target_url: str
    fault: Callable[[Event], Fault] = field(default=lambda _: PASS)
    sent: list[Event] = field(default_factory=list)
    dropped: list[Event] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def start(self) -> Relay:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def send(self, event: Event, delay_seconds: int = 0) -> None:
        """One more delivery of `event` to the operator's queue (a duplicate, a late or a reordered one)."""
        self.source.sqs.send_message(
            QueueUrl=self.target_url, MessageBody=json.dumps(event), DelaySeconds=delay_seconds
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                events = self.source.poll(wait_seconds=1)
            except Exception:  # the emulator is going away at the end of the module
                if self._stop.wait(0.5):
                    return
                continue
            for event in events:
                fault = self.fault(event)
                with self._lock:
                    (self.dropped if fault.drop else self.sent).append(event)
                for _ in range(0 if fault.drop else fault.copies):
                    try:
                        self.send(event, fault.delay_seconds)
                    except Exception:  # the operator's queue was deleted (a test of that): nothing to pass on to
                        break

    def tasks_events(self, task_arn: str, last_status: str | None = None) -> list[Event]:
        """The Task State Changes of `task_arn` passed on or dropped so far (in `detail.version` order)."""
        with self._lock:
            seen = [*self.sent, *self.dropped]
        found = [
            e
            for e in seen
            if e.get("detail-type") == "ECS Task State Change"
            and e["detail"].get("taskArn") == task_arn
            and (last_status is None or e["detail"].get("lastStatus") == last_status)
        ]
        return sorted(found, key=lambda e: int(e["detail"].get("version") or 0))
