"""The resync in Events mode is paced: the interval, or longer where its reads would exceed the budget."""

from __future__ import annotations

from fargate_operator.events.resync import next_delay


def test_a_small_fleet_resyncs_at_the_configured_interval() -> None:
    assert next_delay(300.0, reads=155, reads_per_second=0.8) == 300.0


def test_a_large_fleet_resyncs_no_more_often_than_its_reads_allow() -> None:
    delay = next_delay(300.0, reads=1550, reads_per_second=0.8)
    assert delay == 1550 / 0.8
    assert 1550 / delay <= 0.8


def test_no_budget_leaves_the_interval_alone() -> None:
    assert next_delay(300.0, reads=10_000, reads_per_second=0) == 300.0
