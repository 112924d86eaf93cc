"""Which places events keep fresh (events/modes.py): a queue that answers, one that stops, one removed."""

from __future__ import annotations

import datetime

from fargate_operator.events.modes import EVENTS, POLLING, RECEIVING, UNREACHABLE, Modes
from fargate_operator.events.queue import QueueSource

NOW = datetime.datetime(2026, 12, 7, 5, 7, 42, tzinfo=datetime.UTC)
OWN = QueueSource("own", "us-east-1", "https://sqs.us-east-1.amazonaws.com/1/own")
TEAM = QueueSource("111111111111", "eu-west-1", "https://sqs.eu-west-1.amazonaws.com/1/team", "team")


def test_a_place_is_polled_until_its_queue_answers() -> None:
    modes = Modes()
    modes.configure([OWN])
    assert modes.freshness("own", "us-east-1") == POLLING
    assert modes.answered(OWN, 0, NOW) is True
    assert modes.freshness("own", "us-east-1") == EVENTS
    assert modes.answered(OWN, 3, NOW) is False  # no change of mode
    assert modes.freshness("own", "eu-west-1") == POLLING  # another region: no queue


def test_a_queue_that_stops_answering_puts_its_place_back_to_polling_until_it_answers() -> None:
    modes = Modes()
    modes.configure([OWN])
    modes.answered(OWN, 0, NOW)
    assert modes.failed(OWN, "QueueDoesNotExist: gone") is True
    assert modes.failed(OWN, "QueueDoesNotExist: gone") is False  # said once
    assert modes.freshness("own", "us-east-1") == POLLING
    assert modes.answered(OWN, 0, NOW) is True
    assert modes.freshness("own", "us-east-1") == EVENTS


def test_a_removed_queue_is_forgotten_and_its_place_polled() -> None:
    modes = Modes()
    modes.configure([OWN, TEAM])
    modes.answered(TEAM, 0, NOW)
    added, removed = modes.configure([OWN])
    assert added == [] and removed == [TEAM]
    assert modes.freshness("111111111111", "eu-west-1") == POLLING
    assert modes.answered(TEAM, 1, NOW) is False  # a late answer of a queue no longer read changes nothing


def test_an_account_status_lists_its_queues_with_the_minute_of_the_last_news() -> None:
    modes = Modes()
    modes.configure([OWN, TEAM])
    assert modes.account_status("team") == []  # not tried yet
    modes.answered(TEAM, 2, NOW)
    assert modes.account_status("team") == [
        {"region": "eu-west-1", "queueUrl": TEAM.url, "state": RECEIVING, "lastReceivedAt": "2026-12-07T05:07:00+00:00"}
    ]
    modes.failed(TEAM, "AccessDenied")
    assert modes.account_status("team")[0]["state"] == UNREACHABLE
    assert modes.account_status("own") == []  # the operator's own queue is on no FargateAccount


def test_modes_are_settled_once_every_queue_answered_or_failed() -> None:
    modes = Modes()
    modes.configure([OWN, TEAM])
    assert not modes.settled()
    modes.answered(OWN, 0, NOW)
    assert not modes.settled()
    modes.failed(TEAM, "AccessDenied")
    assert modes.settled()
