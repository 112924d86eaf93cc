"""Token buckets for the operator's background ECS reads."""

from __future__ import annotations

import pytest

from fargate_operator.ecs.ratelimit import TokenBucket, group_of


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_the_refill_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(capacity=3, refill_per_second=2, clock=clock)
    assert [bucket.delay() for _ in range(3)] == [0, 0, 0]  # the burst
    assert bucket.delay() == pytest.approx(0.5)  # then one token per 1/2 s
    assert bucket.delay() == pytest.approx(1.0)  # callers queue behind each other
    clock.now = 10.0  # a long pause refills to capacity, not beyond
    assert [bucket.delay() for _ in range(3)] == [0, 0, 0]
    assert bucket.delay() > 0


@pytest.mark.parametrize(
    ("operation", "group"),
    [
        ("DescribeTasks", "task-reads"),
        ("ListTasks", "task-reads"),
        ("DescribeTaskDefinition", "task-definition-reads"),
        ("ListTaskDefinitionFamilies", "task-definition-reads"),
        ("DescribeServices", "service-reads"),
        ("DescribeClusters", "cluster-reads"),
        ("RunTask", None),  # writes are not paced here: botocore's adaptive mode handles their throttling
        ("UpdateService", None),
    ],
)
def test_operations_map_to_their_read_group(operation: str, group: str | None) -> None:
    assert group_of(operation) == group
