"""Freshness probes for bench/event_status.py: change ECS, time until an object's status shows it.

- `ProbeWatch`: one kind's probe-labelled objects, looked at every POLL seconds; an `expect(name, predicate)` made
  before acting is met (wall time) by the first status seen that satisfies it.
- `task_stops`: StopTask out of band (boto3 on the emulator, not through the operator); latency from
  ECS's own stoppedAt (the time of the task's STOPPED event) to the FargateTask showing STOPPED.
- `steady_states`: scale a FargateService by one (the operator's UpdateService); latency from the
  SERVICE_STEADY_STATE event (its createdAt, read from a queue of the bench's own) to the status
  showing the new runningCount.
- `drifts`: a console-style UpdateService out of band; latency from the call to Drifted=True.

Wall clock throughout: the emulator stamps events with the same machine's clock.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import kubernetes
import urllib3

PROBE_LABEL = "bench.fargate.dev/probe"
POLL = 0.1  # seconds between two looks at the probes: the resolution of every latency
Status = dict[str, Any]


@dataclass
class Expectation:
    predicate: Callable[[Status], bool]
    met: threading.Event = field(default_factory=threading.Event)
    seen_at: float | None = None


class ProbeWatch:
    """Follows the `plural` objects labelled PROBE_LABEL; keeps the last status of each, meets expectations."""

    def __init__(self, api: Any, namespace: str, plural: str) -> None:
        self.api, self.namespace, self.plural = api, namespace, plural
        self.last: dict[str, Status] = {}
        self._expect: dict[str, Expectation] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> ProbeWatch:
        self._thread.start()
        return self

    def _run(self) -> None:
        # A list of the few probes every POLL seconds rather than a watch: a watch asked for right after
        # a burst of writes can be refused (504, the watch cache behind etcd) for as long as the burst.
        while not self._stop.wait(POLL):
            try:
                items = self.api.list_namespaced_custom_object(
                    "ecs.fargate.dev", "v1alpha1", self.namespace, self.plural, label_selector=PROBE_LABEL
                )["items"]
            except (kubernetes.client.ApiException, urllib3.exceptions.HTTPError, OSError) as err:
                print(f"listing {self.plural} failed: {err!r}"[:300], file=sys.stderr, flush=True)
                continue
            for obj in items:
                self._seen(obj)

    def _seen(self, obj: dict[str, Any]) -> None:
        now = time.time()
        name, status = obj["metadata"]["name"], obj.get("status") or {}
        with self._lock:
            self.last[name] = status
            want = self._expect.get(name)
            if want is not None and not want.met.is_set() and want.predicate(status):
                want.seen_at = now
                want.met.set()

    def wait_listed(self, names: list[str], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not set(names) <= set(self.last):
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise TimeoutError(f"{self.plural}: not seen {sorted(set(names) - set(self.last))[:5]}")
            time.sleep(0.2)

    def expect(self, name: str, predicate: Callable[[Status], bool]) -> Expectation:
        with self._lock:
            self._expect[name] = want = Expectation(predicate)
            return want

    def stop(self) -> None:
        self._stop.set()


@dataclass
class Sample:
    name: str
    event_at: float  # when ECS says it happened (or the out-of-band call, for drift)
    acted_at: float  # the bench's call
    seen_at: float | None = None

    @property
    def latency(self) -> float | None:
        return None if self.seen_at is None else round(self.seen_at - self.event_at, 3)


def summary(samples: list[Sample]) -> dict[str, Any]:
    """p50 / p95 / max of the latencies; a sample never seen counts as missed (and as the worst)."""
    seen = sorted(s.latency for s in samples if s.latency is not None)
    missed = len(samples) - len(seen)

    def pct(q: float) -> float | None:
        if not samples:
            return None
        rank = min(len(samples) - 1, int(q * len(samples)))  # nearest rank, missed ones at the top
        return seen[rank] if rank < len(seen) else None

    return {
        "n": len(samples),
        "missed": missed,
        "p50_s": pct(0.5),
        "p95_s": pct(0.95),
        "max_s": seen[-1] if seen and not missed else None,
        "latencies_s": [s.latency for s in samples],
    }


def _stamp(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _wait(wants: list[Expectation], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for want in wants:
        want.met.wait(max(0.0, deadline - time.monotonic()))


def _pause(spacing: float) -> None:
    # Spread the actions over the status loop's period: samples at every phase of it.
    time.sleep(random.uniform(0.5, 1.5) * spacing)


def task_stops(
    ecs: Any, watch: ProbeWatch, cluster: str, names: list[str], spacing: float, timeout: float
) -> list[Sample]:
    samples, wants, arns = [], [], []
    for name in names:
        arn = str(watch.last[name]["tasks"][0]["taskArn"])
        wants.append(watch.expect(name, lambda s: s.get("lastStatus") == "STOPPED"))
        acted = time.time()
        ecs.stop_task(cluster=cluster, task=arn, reason="bench: stopped out of band")
        samples.append(Sample(name, acted, acted))
        arns.append(arn)
        _pause(spacing)
    _wait(wants, timeout)
    stopped = {t["taskArn"]: t for t in ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]}
    for sample, want, arn in zip(samples, wants, arns, strict=True):
        sample.seen_at = want.seen_at
        if stopped.get(arn, {}).get("stoppedAt"):
            sample.event_at = _stamp(stopped[arn]["stoppedAt"])
    return samples


def steady_states(
    api: Any,
    namespace: str,
    queue: Any,
    watch: ProbeWatch,
    names: list[str],
    spacing: float,
    timeout: float,
) -> list[Sample]:
    samples, wants, arns = [], [], []
    for name in names:
        target = int(watch.last[name].get("desiredCount", 0)) + 1
        arns.append(str(watch.last[name]["serviceArn"]))

        def shows(s: Status, n: int = target) -> bool:
            return s.get("desiredCount") == n and s.get("runningCount") == n and not s.get("pendingCount")

        wants.append(watch.expect(name, shows))
        acted = time.time()
        body = {"spec": {"desiredCount": target}}
        api.patch_namespaced_custom_object("ecs.fargate.dev", "v1alpha1", namespace, "fargateservices", name, body)
        samples.append(Sample(name, acted, acted))
        _pause(spacing)
    first = min(s.acted_at for s in samples)

    def steady_at() -> dict[str, float]:
        return {
            e["resources"][0]: _stamp(e["detail"]["createdAt"])
            for e in queue.received
            if e["detail"].get("eventName") == "SERVICE_STEADY_STATE" and _stamp(e["detail"]["createdAt"]) >= first
        }

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (set(arns) <= set(steady_at())):
        queue.poll()
    _wait(wants, max(0.0, deadline - time.monotonic()))
    events = steady_at()
    for sample, want, arn in zip(samples, wants, arns, strict=True):
        sample.seen_at = want.seen_at
        sample.event_at = events.get(arn, sample.acted_at)
    return samples


def drifted(status: Status) -> bool:
    return any(c.get("type") == "Drifted" and c.get("status") == "True" for c in status.get("conditions") or [])


def drifts(ecs: Any, watch: ProbeWatch, cluster: str, names: list[str], spacing: float, timeout: float) -> list[Sample]:
    samples, wants = [], []
    for name in names:
        count = int(watch.last[name].get("desiredCount", 0))
        wants.append(watch.expect(name, drifted))
        acted = time.time()
        ecs.update_service(cluster=cluster, service=name, desiredCount=count + 2)  # as the console would
        samples.append(Sample(name, acted, acted))
        _pause(spacing)
    _wait(wants, timeout)
    for sample, want in zip(samples, wants, strict=True):
        sample.seen_at = want.seen_at
    return samples


def event_queue(events: Any, sqs: Any, pattern: dict[str, Any], prefix: str) -> str:
    """A queue and a rule on the default bus that targets it (as docs/event-driven-status.md sets up)."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
    return url
