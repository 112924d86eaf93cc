"""An EventBridge rule with an SQS queue as its target, made with boto3 over HTTP, and reading that queue.

The usual way to consume ECS's events: a rule on the default bus whose event pattern picks them,
an SQS queue as its target, a consumer that long-polls the queue. Tests read what arrives, as the
operator would, and never reach into the emulator.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from support.emulator import DEADLINE


@dataclass
class EventQueue:
    sqs: Any
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def create(cls, events: Any, sqs: Any, pattern: dict[str, Any]) -> EventQueue:
        """A fresh queue and a rule with `pattern` on the default bus that targets it."""
        name = f"ecs-events-{uuid.uuid4().hex[:8]}"
        url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
        events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
        return cls(sqs, url)

    def poll(self, wait_seconds: int = 1) -> list[dict[str, Any]]:
        """One long poll: the events it returns (deleted from the queue, kept in `received`)."""
        out = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds)
        found = [json.loads(m["Body"]) for m in out.get("Messages", [])]
        if found:
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(out["Messages"])]
            self.sqs.delete_message_batch(QueueUrl=self.url, Entries=entries)
        self.received += found
        return found

    def until(
        self, what: str, done: Callable[[list[dict[str, Any]]], bool], timeout: float = DEADLINE
    ) -> list[dict[str, Any]]:
        """Poll until `done(everything received so far)`; return everything received."""
        deadline = time.monotonic() + timeout
        while not done(self.received):
            if time.monotonic() > deadline:
                kinds = [
                    (e["detail-type"], e["detail"].get("eventName") or e["detail"].get("lastStatus"))
                    for e in self.received
                ]
                raise TimeoutError(f"{what}: not within {timeout} s; received {kinds}")
            self.poll()
        return self.received

    def quiet(self, seconds: float) -> list[dict[str, Any]]:
        """Everything that arrives within `seconds` (for "nothing else was delivered")."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.poll()
        return self.received
