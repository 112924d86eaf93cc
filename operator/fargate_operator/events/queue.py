"""One SQS queue of ECS's events: long polls on a thread of its own, batched deletes.

Receive: WaitTimeSeconds 20, MaxNumberOfMessages 10 (SQS's maxima: the fewest calls for the most
messages), on a daemon thread per queue, so a 20 s poll holds neither the event loop nor the ECS
gateways' pool, and does not hold up the process's exit. Deletes: DeleteMessageBatch, 10 a call,
after the events were handled (at-least-once: a message not deleted comes back after its
visibility timeout). The client signs with the session of the account the queue belongs to
(ecs/gateways.py: the operator's own identity, or the FargateAccount's assumed role); its
endpoint is boto3's own for SQS (AWS_ENDPOINT_URL_SQS, else AWS's). A queue that does not answer
(QueueDoesNotExist, AccessDenied, any error) is retried with backoff; the caller hears of each
failure and of the first answer after one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

log = logging.getLogger(__name__)

WAIT_SECONDS = 20
MAX_MESSAGES = 10
DELETE_BATCH = 10
RETRY_BASE = 1.0
RETRY_MAX = 60.0


@dataclass(frozen=True)
class QueueSource:
    """A queue of ECS's events of one account and region. `identity`: "own" (the operator's account) or the
    FargateAccount role's account id (ecs/settings.py Where.identity); `account_name`: the FargateAccount."""

    identity: str
    region: str
    url: str
    account_name: str | None = None


@dataclass(frozen=True)
class Message:
    source: QueueSource
    receipt: str
    event: dict[str, Any] | None  # None: not an event (a body that is not a JSON object)


class QueueError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class SqsQueue:
    """Blocking calls on one queue (made on threads, never on the event loop)."""

    def __init__(self, source: QueueSource, session: botocore.session.Session) -> None:
        self.source = source
        self._client: Any = boto3.session.Session(botocore_session=session).client(
            "sqs",
            region_name=source.region or None,  # None: boto3's own (AWS_REGION)
            config=Config(
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=5,
                read_timeout=WAIT_SECONDS + 10,  # longer than the long poll
            ),
        )

    def probe(self) -> None:
        """Does the queue answer? (GetQueueAttributes: at once, where an empty long poll takes 20 s to say so.)"""
        self._call("get_queue_attributes", QueueUrl=self.source.url, AttributeNames=["QueueArn"])

    def receive(self, wait_seconds: int = WAIT_SECONDS) -> list[Message]:
        answer = self._call(
            "receive_message",
            QueueUrl=self.source.url,
            MaxNumberOfMessages=MAX_MESSAGES,
            WaitTimeSeconds=wait_seconds,
        )
        return [Message(self.source, m["ReceiptHandle"], _event(m.get("Body"))) for m in answer.get("Messages", [])]

    def delete(self, receipts: list[str]) -> None:
        for start in range(0, len(receipts), DELETE_BATCH):
            batch = receipts[start : start + DELETE_BATCH]
            entries = [{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(batch)]
            answer = self._call("delete_message_batch", QueueUrl=self.source.url, Entries=entries)
            for failed in answer.get("Failed", []):  # comes back after its visibility timeout: a duplicate then
                log.warning("SQS %s: a message was not deleted: %s", self.source.url, failed.get("Code"))

    def _call(self, method: str, **params: Any) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = getattr(self._client, method)(**params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise QueueError(str(error.get("Code") or "Unknown"), str(error.get("Message") or exc)) from exc
        except (BotoCoreError, Exception) as exc:  # unreachable endpoint, refused credentials (AssumeRole)
            raise QueueError(type(exc).__name__, str(exc)) from exc
        return answer


def _event(body: Any) -> dict[str, Any] | None:
    try:
        event = json.loads(body or "")
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def backoff(failures: int) -> float:
    """Seconds before the next receive after `failures` failures in a row: exponential, full jitter, capped."""
    return random.uniform(RETRY_BASE, min(RETRY_MAX, RETRY_BASE * 2 ** min(failures, 10)))


class Reader:
    """Long-polls one queue on a daemon thread; hands what it gets to the event loop.

    `on_messages(source, messages)` after every answer (an empty one too: the queue answers);
    `on_error(source, error)` after every failure. Both are called on `loop`.
    """

    def __init__(
        self,
        queue: SqsQueue,
        loop: asyncio.AbstractEventLoop,
        on_messages: Callable[[QueueSource, list[Message]], None],
        on_error: Callable[[QueueSource, QueueError], None],
    ) -> None:
        self.queue = queue
        self._loop, self._on_messages, self._on_error = loop, on_messages, on_error
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sqs-{queue.source.region}", daemon=True)

    def start(self) -> Reader:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops after the poll in flight (at most WAIT_SECONDS; nothing waits for it)."""
        self._stop.set()

    def _run(self) -> None:
        failures = 0
        answering = False
        source = self.queue.source
        while not self._stop.is_set():
            try:
                if not answering:  # at start and after a failure: its place changes mode at once
                    self.queue.probe()
                    answering, failures = True, 0
                    self._post(self._on_messages, source, [])
                messages = self.queue.receive()
            except QueueError as err:
                answering = False
                failures += 1
                self._post(self._on_error, source, err)
                self._stop.wait(backoff(failures))
                continue
            self._post(self._on_messages, source, messages)

    def _post(self, callback: Callable[..., None], *args: Any) -> None:
        if self._stop.is_set():
            return
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: the process is ending
            self._stop.set()
