"""The ECS write fence (ecs/fence.py) in the gateway, per HTTP attempt.

Unit tests with a real boto3 client and a real HTTP server on loopback standing in for
ECS (nothing mocked): they count what actually reaches the wire. The integration tests
(tests/integration/ha/) show the same at the ECS proxy with two operator processes.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from fargate_operator.ecs.errors import FENCED_CODE, EcsError
from fargate_operator.ecs.fence import WriteFence, is_write
from fargate_operator.ecs.gateway import EcsGateway
from fargate_operator.ecs.settings import GatewaySettings


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Ecs:
    """Answers every request with `status`; counts what arrives; can move a clock per request."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.status = 200
        self.error = "ServerException"  # the error answered when status is not 200
        self.on_request: Any = None
        ecs = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                return

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ecs.received.append(self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1])
                if ecs.on_request is not None:
                    ecs.on_request()
                body = json.dumps({"tasks": [], "failures": []} if ecs.status == 200 else {"__type": ecs.error})
                self.send_response(ecs.status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def ecs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ecs]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    server = Ecs()
    yield server
    server.server.shutdown()


def gateway(ecs: Ecs, fence: WriteFence, max_attempts: int = 3) -> EcsGateway:
    settings = GatewaySettings(region="us-east-1", endpoint_url=ecs.endpoint, max_attempts=max_attempts)
    return EcsGateway(settings, fence=fence)


def run_task(gw: EcsGateway) -> dict[str, Any]:
    return asyncio.run(gw.call("RunTask", cluster="c", taskDefinition="td"))


def test_a_closed_fence_stops_writes_before_the_wire_but_not_reads(ecs: Ecs) -> None:
    gw = gateway(ecs, WriteFence(open=False))
    with pytest.raises(EcsError) as refused:
        run_task(gw)
    assert refused.value.code == FENCED_CODE and refused.value.transient
    assert "does not hold the leader Lease" in refused.value.message
    asyncio.run(gw.call("DescribeTasks", cluster="c", tasks=["t"]))
    asyncio.run(gw.call("ExecuteCommand", cluster="c", task="t", command="sh", interactive=True))
    assert ecs.received == ["DescribeTasks", "ExecuteCommand"], "the RunTask never left the process"
    assert gw.fence.in_flight() == 0


def test_the_fence_closes_by_the_clock_alone(ecs: Ecs) -> None:
    """A stalled elector cannot keep it open: the deadline, read at each send, decides."""
    clock = FakeClock()
    fence = WriteFence(open=False, clock=clock)
    fence.open_until(10.0)
    gw = gateway(ecs, fence)
    clock.now = 9.9
    run_task(gw)
    clock.now = 10.0
    with pytest.raises(EcsError):
        run_task(gw)
    assert ecs.received == ["RunTask"]


def test_a_retry_after_the_deadline_is_not_sent(ecs: Ecs) -> None:
    """botocore retries a 500 inside one call; the attempt after the deadline passed is refused."""
    clock = FakeClock()
    fence = WriteFence(open=False, clock=clock)
    fence.open_until(10.0)
    gw = gateway(ecs, fence)
    ecs.status = 500

    def deadline_passes() -> None:
        clock.now = 11.0

    ecs.on_request = deadline_passes
    with pytest.raises(EcsError) as refused:
        run_task(gw)
    assert refused.value.code == FENCED_CODE
    assert ecs.received == ["RunTask"], "one attempt went out before the deadline, none after it"


def test_a_write_that_waited_on_the_rate_limiter_is_checked_again_before_it_leaves(ecs: Ecs) -> None:
    """botocore's adaptive rate limiter waits on its token bucket in a handler of the generic `before-send`,
    which runs after `before-send.ecs`: the fence must be read again after that wait, not only before it."""
    fence = WriteFence()  # the real monotonic clock: the limiter's wait is real time too
    gw = gateway(ecs, fence, max_attempts=1)  # botocore's retries: one attempt, one retry
    ecs.status, ecs.error = 400, "ThrottlingException"
    with pytest.raises(EcsError):
        asyncio.run(gw.call("DescribeTasks", cluster="c", tasks=["t"]))
    # Throttled: the limiter now paces this client at 1.12 requests/s or less, from an empty bucket, so the next
    # request waits 0.9 s or more -- past a deadline 0.3 s away.
    ecs.status = 200
    fence.open_until(time.monotonic() + 0.3)
    with pytest.raises(EcsError) as refused:
        run_task(gw)
    assert refused.value.code == FENCED_CODE
    assert "RunTask" not in ecs.received, "the RunTask never left the process"
    assert fence.in_flight() == 0


def test_drain_waits_for_writes_already_sent(ecs: Ecs) -> None:
    fence = WriteFence()
    gw = gateway(ecs, fence)
    arrived, answer = threading.Event(), threading.Event()

    def hold() -> None:
        arrived.set()
        answer.wait(5)

    ecs.on_request = hold
    done: list[Any] = []
    caller = threading.Thread(target=lambda: done.append(run_task(gw)))
    caller.start()
    assert arrived.wait(5)
    fence.close()
    assert fence.in_flight() == 1 and not fence.drain(0.2), "the sent RunTask is still out"
    answer.set()
    assert fence.drain(5) and fence.in_flight() == 0
    caller.join(5)
    assert done == [{"tasks": [], "failures": []}]


@pytest.mark.parametrize(
    ("operation", "write"),
    [
        ("RunTask", True),
        ("StopTask", True),
        ("TagResource", True),
        ("DeleteTaskDefinitions", True),
        ("UpdateService", True),
        ("DescribeTasks", False),
        ("ListTaskDefinitions", False),
        ("ExecuteCommand", False),  # a caller's own request, answered to the caller
    ],
)
def test_which_ecs_operations_count_as_writes(operation: str, write: bool) -> None:
    assert is_write(operation) is write
