"""How long until the next full resync in Events mode: the configured interval, stretched by what a resync costs.

A resync describes everything (DescribeServices 10 a call, DescribeTasks 100 a call, ...), so its reads grow
with the fleet: at 10,000 services one costs about 1,500 reads. ECS's read budget is the account's, shared
with everyone else (ECS developer guide, "Request throttling for the Amazon ECS API"), so the resync is paced
to a budget of reads per second on average: the next one starts no sooner than the last one's reads allow.
"""

from __future__ import annotations


def next_delay(interval: float, reads: float, reads_per_second: float) -> float:
    """Seconds from one resync's start to the next: at least `interval`, and at least `reads` (what the last
    resync cost) divided by `reads_per_second` (0 or less: no budget, the interval alone)."""
    if reads_per_second <= 0:
        return interval
    return max(interval, reads / reads_per_second)
