"""ECS behaviour the emulator (moto) lacks, played by the ECS proxy's interceptors in tests.

Each one stands for something ECS documents (cited on the class), so a test can show
how the operator copes with it. Install with `proxy.intercept(action, behaviour)`.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from fargate_devenv.ecs_proxy import Answer, Forward, Interceptor


class HoldOnce:
    """The next call is held (before or after it reaches ECS) until release(); later calls pass.

    `before=True`: ECS has not seen the request yet (a slow request in flight);
    `before=False`: ECS has acted, the caller has not heard (a slow answer).
    """

    def __init__(self, action: str, *, before: bool, then: Interceptor | None = None) -> None:
        self.action, self.before = action, before
        self._then = then  # how to answer once released (default: forward to the emulator)
        self.held = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._used = False

    def release(self) -> None:
        self._release.set()

    def _take(self) -> bool:
        with self._lock:
            first, self._used = not self._used, True
            return first

    def _answer(self, request: dict[str, Any], forward: Forward) -> Answer:
        return self._then(request, forward) if self._then else forward(self.action, request)

    def __call__(self, request: dict[str, Any], forward: Forward) -> Answer:
        if not self._take():
            return self._answer(request, forward)
        if self.before:
            self.held.set()
            self._release.wait(120)
            return self._answer(request, forward)
        answer = self._answer(request, forward)
        self.held.set()
        self._release.wait(120)
        return answer


def idempotent_create_cluster(request: dict[str, Any], forward: Forward) -> Answer:
    """CreateCluster on a name that is ACTIVE answers with that cluster, unchanged (moto replaces it).

    ECS's API reference does not mention the case; ECS answers with the existing cluster and no
    error, which is how `aws_ecs_cluster` silently takes over an existing cluster
    (hashicorp/terraform-provider-aws#38875, #44817; kecs made its CreateCluster idempotent "to
    match AWS ECS behavior", nandemo-ya/kecs#80).
    """
    name = request.get("clusterName") or "default"
    status, found = forward("DescribeClusters", {"clusters": [name], "include": ["TAGS"]})
    live = [c for c in found.get("clusters", []) if c.get("status") == "ACTIVE"]
    if status == 200 and live:
        return 200, {"cluster": live[0]}
    return forward("CreateCluster", request)


class MissingAfterRunTask:
    """DescribeTasks answers MISSING for tasks started less than `seconds` ago.

    ECS is eventually consistent: "the result of an API command ... might not be immediately
    visible to all subsequent commands"; callers should retry DescribeTasks with backoff "up to
    five minutes" (botocore's RunTask documentation). Install on RunTask and DescribeTasks.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started: dict[str, float] = {}
        self.answered_missing = 0
        self._lock = threading.Lock()

    def __call__(self, request: dict[str, Any], forward: Forward) -> Answer:
        if "tasks" not in request:  # RunTask
            status, answer = forward("RunTask", request)
            with self._lock:
                for task in answer.get("tasks", []):
                    self.started[task["taskArn"]] = time.monotonic()
            return status, answer
        status, answer = forward("DescribeTasks", request)
        now, shown, missing = time.monotonic(), [], list(answer.get("failures", []))
        with self._lock:
            for task in answer.get("tasks", []):
                if now - self.started.get(task["taskArn"], -1e9) < self.seconds:
                    missing.append({"arn": task["taskArn"], "reason": "MISSING"})
                    self.answered_missing += 1
                else:
                    shown.append(task)
        return status, {**answer, "tasks": shown, "failures": missing}

    def over(self) -> bool:
        """Every task started through it is past its MISSING window: DescribeTasks shows them all now."""
        with self._lock:
            return all(time.monotonic() - at >= self.seconds for at in self.started.values())


class RefuseCluster:
    """Calls naming one cluster fail with `code` (e.g. an IAM policy that denies that cluster's ARN).

    AccessDeniedException and ClusterNotFoundException are both in ECS's error list for
    DescribeTasks, DescribeServices and ListTasks (botocore's ECS model).
    """

    def __init__(self, action: str, cluster_name: str, code: str = "AccessDeniedException") -> None:
        self.action, self.cluster_name, self.code = action, cluster_name, code
        self.refused = 0

    def __call__(self, request: dict[str, Any], forward: Forward) -> Answer:
        if str(request.get("cluster", "")).rsplit("/", 1)[-1] == self.cluster_name:
            self.refused += 1
            return 400, {"__type": self.code, "message": f"injected: {self.cluster_name} refused"}
        return forward(self.action, request)


class Reject:
    """Every call answers an ECS client error (ECS validating a request and refusing it)."""

    def __init__(self, code: str = "InvalidParameterException", message: str = "injected: request refused") -> None:
        self.code, self.message = code, message
        self.rejected = 0

    def __call__(self, request: dict[str, Any], forward: Forward) -> Answer:
        self.rejected += 1
        return 400, {"__type": self.code, "message": self.message}


class StartedByAlone:
    """ListTasks refuses startedBy combined with another filter.

    botocore's ECS model, ListTasksRequest.startedBy: "When you specify startedBy as the filter,
    it must be the only filter that you use." (moto accepts any combination.) The cluster names
    where to look, not a filter on the results, so it may come along.
    """

    OTHER_FILTERS = ("containerInstance", "family", "serviceName", "desiredStatus", "launchType", "daemonName")

    def __init__(self) -> None:
        self.refused = 0
        self.alone = 0

    def __call__(self, request: dict[str, Any], forward: Forward) -> Answer:
        if request.get("startedBy"):
            others = [k for k in self.OTHER_FILTERS if request.get(k)]
            if others:
                self.refused += 1
                message = f"startedBy must be the only filter; also given: {', '.join(others)}"
                return 400, {"__type": "InvalidParameterException", "message": message}
            self.alone += 1
        return forward("ListTasks", request)


CAPACITY_UNAVAILABLE = (
    "Capacity is unavailable at this time. Please try again later or in a different availability zone"
)


class RunTaskFailures:
    """The next `times` RunTask calls answer HTTP 200 with `failures` only: ECS started nothing.

    RunTask reports tasks it could not place in `failures` (ECS Failure: arn, reason, detail);
    Fargate's reason when it has no capacity is CAPACITY_UNAVAILABLE (AWS re:Post knowledge
    center "ecs-fargate-runtask-capacity": wait, then retry RunTask). Not forwarded, so
    nothing starts, as in ECS.
    """

    def __init__(self, times: int, failure: dict[str, str]) -> None:
        self.times, self.failure = times, failure
        self.failed = 0
        self.forwarded = 0
        self._lock = threading.Lock()

    def __call__(self, request: dict[str, Any], forward: Forward) -> Answer:
        with self._lock:
            fail = self.failed < self.times
            self.failed += fail
            self.forwarded += not fail
        if fail:
            return 200, {"tasks": [], "failures": [dict(self.failure) for _ in range(request.get("count", 1))]}
        return forward("RunTask", request)


class PartialRunTask:
    """RunTask with count N starts N-1 tasks and reports one failure (ECS places what it can)."""

    def __init__(self, failure: dict[str, str]) -> None:
        self.failure = failure

    def __call__(self, request: dict[str, Any], forward: Forward) -> Answer:
        count = request.get("count", 1)
        status, answer = forward("RunTask", {**request, "count": count - 1})
        if status == 200:
            answer["failures"] = [*answer.get("failures", []), dict(self.failure)]
        return status, answer
