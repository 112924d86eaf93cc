"""The Lease election's timing decisions (leader/lease.py), client-go's semantics, and the fence.

Pure logic: the elector's calls against a real API server are tested in
tests/integration/ha/; here the clock is ours to move.
"""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fargate_operator.leader import lease as logic

SETTINGS = logic.ElectionSettings(name="fo", namespace="sys", identity="pod-b")
WALL = datetime.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC)


def held_by(holder: str, seconds: int = 15, transitions: int = 3) -> logic.LeaseRecord:
    return logic.LeaseRecord(holder, seconds, "2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:10.000000Z", transitions)


def test_a_follower_waits_a_full_lease_duration_from_when_it_saw_the_last_renewal() -> None:
    obs = logic.observe(None, held_by("pod-a"), now=100.0)
    assert not logic.may_acquire(obs, "pod-b", 114.9)
    assert logic.wait_before_acquiring(obs, "pod-b", 110.0) == pytest.approx(5.0)
    assert logic.may_acquire(obs, "pod-b", 115.0)


def test_reading_an_unchanged_record_again_does_not_extend_the_holders_lease() -> None:
    first = logic.observe(None, held_by("pod-a"), now=100.0)
    again = logic.observe(first, held_by("pod-a"), now=112.0)  # a poll, a reconnected watch: same record
    assert again.observed_at == 100.0 and logic.may_acquire(again, "pod-b", 115.0)
    renewed = logic.observe(again, logic.renewed(held_by("pod-a"), WALL), now=113.0)
    assert renewed.observed_at == 113.0 and not logic.may_acquire(renewed, "pod-b", 115.0)


def test_the_holders_wall_clock_is_never_trusted() -> None:
    """A renewTime far in the future (a skewed clock) or past changes nothing: only when we saw it counts."""
    future = logic.LeaseRecord("pod-a", 15, None, "2099-01-01T00:00:00.000000Z", 0)
    past = logic.LeaseRecord("pod-a", 15, None, "1999-01-01T00:00:00.000000Z", 0)
    for record in (future, past):
        obs = logic.observe(None, record, now=50.0)
        assert not logic.may_acquire(obs, "pod-b", 64.0) and logic.may_acquire(obs, "pod-b", 65.0)


def test_the_holders_declared_duration_counts() -> None:
    obs = logic.observe(None, held_by("pod-a", seconds=40), now=0.0)
    assert not logic.may_acquire(obs, "pod-b", 39.0) and logic.may_acquire(obs, "pod-b", 40.0)


def test_a_released_missing_or_own_lease_is_taken_at_once() -> None:
    released = logic.released(held_by("pod-a"), WALL)
    assert released.holder == "" and released.duration_seconds == 1
    for record in (released, None, held_by("pod-b")):
        assert logic.may_acquire(logic.observe(None, record, now=0.0), "pod-b", 0.0)


def test_records_written_on_acquire_renew_and_release() -> None:
    taken = logic.acquired(held_by("pod-a", transitions=3), SETTINGS, WALL)
    assert taken == logic.LeaseRecord("pod-b", 15, "2026-01-02T03:04:05.678901Z", "2026-01-02T03:04:05.678901Z", 4), (
        "a new holder counts a transition"
    )
    assert logic.acquired(None, SETTINGS, WALL).transitions == 0
    later = WALL + datetime.timedelta(seconds=2)
    again = logic.acquired(taken, SETTINGS, later)  # ours already (a restart with the same pod name)
    assert again.acquire_time == taken.acquire_time and again.transitions == 4
    assert again.renew_time == "2026-01-02T03:04:07.678901Z"
    assert logic.released(taken, later).transitions == 4
    assert logic.LeaseRecord.from_spec(taken.to_spec()) == taken
    assert logic.LeaseRecord.from_spec(released_spec := logic.released(taken, later).to_spec()).holder == ""
    assert released_spec["holderIdentity"] is None


def test_the_leader_stops_at_the_renew_deadline_counted_from_when_the_renewal_was_sent() -> None:
    assert logic.fence_deadline(200.0, SETTINGS) == 210.0
    assert not logic.leadership_lost(200.0, 209.99, SETTINGS)
    assert logic.leadership_lost(200.0, 210.0, SETTINGS)
    # One renewal may take at most half the deadline, and never beyond it.
    assert logic.renewal_timeout(200.0, 201.0, SETTINGS) == 5.0
    assert logic.renewal_timeout(200.0, 208.0, SETTINGS) == pytest.approx(2.0)


@given(
    sent=st.floats(0, 1e6),
    stored_after=st.floats(0, 30),  # the request's way to the API server (and etcd)
    seen_after=st.floats(0, 30),  # the watch event's way to the follower
    durations=st.tuples(st.integers(1, 120), st.floats(0.01, 1.0), st.floats(0.01, 1.0)),
)
def test_fencing_the_old_leaders_writes_end_before_anyone_else_may_take_over(
    sent: float, stored_after: float, seen_after: float, durations: tuple[int, float, float]
) -> None:
    """Whatever the latencies: the renewal is stored after it was sent and seen after it was stored."""
    lease_duration, renew_fraction, retry_fraction = durations
    renew_deadline = lease_duration * renew_fraction * 0.999
    settings = logic.ElectionSettings(
        "fo", "sys", "pod-a", lease_duration, renew_deadline, renew_deadline * retry_fraction
    )
    obs = logic.observe(None, logic.LeaseRecord("pod-a", lease_duration), now=sent + stored_after + seen_after)
    takeover = obs.observed_at + logic.wait_before_acquiring(obs, "pod-b", obs.observed_at)
    assert logic.fence_deadline(sent, settings) < takeover
    assert takeover - logic.fence_deadline(sent, settings) >= lease_duration - renew_deadline - 1e-6  # float noise


@pytest.mark.parametrize(
    ("changes", "flag"),
    [
        ({"lease_duration": 10.0, "renew_deadline": 10.0}, "--leader-elect-renew-deadline (10.0) must be less than"),
        ({"renew_deadline": 2.0, "retry_period": 2.0}, "must exceed 1.2 x --leader-elect-retry-period"),
        ({"lease_duration": 7.5}, "--leader-elect-lease-duration must be a whole number"),
        ({"retry_period": 0.0}, "--leader-elect-retry-period must be > 0"),
        ({"identity": ""}, "--leader-elect-identity must not be empty"),
        ({"namespace": ""}, "--leader-elect-resource-namespace must not be empty"),
    ],
)
def test_bad_election_settings_name_the_flag_and_what_is_allowed(changes: dict[str, object], flag: str) -> None:
    import dataclasses

    problems = dataclasses.replace(SETTINGS, **changes).problems()  # type: ignore[arg-type]
    assert any(flag in p for p in problems), problems
    assert SETTINGS.problems() == []  # client-go's defaults: 15 / 10 / 2


def test_lease_micro_time_round_trips() -> None:
    assert logic.parse_micro_time(logic.micro_time(WALL)) == WALL
    assert logic.parse_micro_time(None) is None


def test_a_fencing_margin_shorter_than_the_ecs_connect_timeout_is_named() -> None:
    assert SETTINGS.margin_note(connect_timeout=5.0) is None  # 15 - 10 = 5 s
    import dataclasses

    short = dataclasses.replace(SETTINGS, lease_duration=6, renew_deadline=4.0)
    note = short.margin_note(connect_timeout=5.0)
    assert note is not None and "lease duration - renew deadline = 2s" in note and "5s" in note


def test_single_replica_mode_unless_leader_election_is_asked_for(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run` alone and `--leader-elect=false` elect nothing (make run, small installs); `--leader-elect` does."""
    import argparse

    from fargate_operator import cli

    seen: list[argparse.Namespace] = []

    def record(args: argparse.Namespace) -> int:
        seen.append(args)
        return 0

    monkeypatch.setattr(cli, "_run", record)
    monkeypatch.setenv("POD_NAME", "fo-7d9-abcde")
    for argv in (["run"], ["run", "--leader-elect=false"], ["run", "--leader-elect", "false"]):
        assert cli.main(argv) == 0
        assert cli._election(seen[-1]) is None, argv
    for argv in (["run", "--leader-elect"], ["run", "--leader-elect=true"]):
        assert cli.main(argv) == 0
        settings = cli._election(seen[-1])
        assert settings is not None and settings.identity == "fo-7d9-abcde", argv
        assert (settings.lease_duration, settings.renew_deadline, settings.retry_period) == (15, 10, 2)
    with pytest.raises(SystemExit):
        cli.main(["run", "--leader-elect=maybe"])
    assert "expected true or false, not 'maybe'" in capsys.readouterr().err
