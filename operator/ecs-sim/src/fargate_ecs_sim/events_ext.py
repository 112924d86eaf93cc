"""moto's EventBridge where ECS's events pass through it: the envelope it delivers, and SQS delivery cost.

- A target without an input transformer gets the whole event (version, id, detail-type, source,
  account, time, region, resources, detail: "Amazon EventBridge events", event structure). moto renders
  a template through jsonpath parsers for that (about 1.5 ms an event) and leaves `account` out.
- moto's SendMessage reads the queue's attributes, counting every queued message each time: a burst of
  events into an unread queue costs O(n^2) (5,000 messages: 374 s). EventBridge's delivery to a standard
  queue appends the message instead; FIFO queues (MessageGroupId) keep moto's path and its deduplication.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from moto.events.models import Rule
from moto.events.utils import EventTemplateParser
from moto.sqs.models import Message, sqs_backends

ENVELOPE = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")


def install() -> None:
    parse = EventTemplateParser.parse
    if not getattr(parse, "__sim__", False):

        def envelope(input_template: str, input_paths_map: dict[str, Any], event: Any) -> dict[str, Any]:
            if input_template or input_paths_map:
                return parse(input_template, input_paths_map, event)
            return {key: event[key] for key in ENVELOPE}

        envelope.__sim__ = True  # type: ignore[attr-defined]
        EventTemplateParser.parse = staticmethod(envelope)  # type: ignore[method-assign]

    send = Rule._send_to_sqs_queue
    if not getattr(send, "__sim__", False):

        def to_queue(self: Rule, resource_id: str, event: dict[str, Any], group_id: str | None = None) -> None:
            if group_id:
                send(self, resource_id, event, group_id)
                return
            queue = sqs_backends[self.account_id][self.region_name].get_queue(resource_id)
            if "time" in event:  # EventBridge's `time`: ISO 8601 to the second
                event["time"] = datetime.fromtimestamp(float(event["time"]), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            message = Message(str(uuid.uuid4()), json.dumps(event))
            message.mark_sent(delay_seconds=int(getattr(queue, "delay_seconds", 0) or 0))  # set from attributes
            queue.add_message(message)

        to_queue.__sim__ = True  # type: ignore[attr-defined]
        Rule._send_to_sqs_queue = to_queue  # type: ignore[method-assign]
