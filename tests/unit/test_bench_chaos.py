"""bench/chaos.py: what it counts as two watchers of one mailbox, when it calls a fleet drained, and
how it times a takeover."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench import chaos_fleet
from bench.chaos_checks import Progress
from bench.chaos_fleet import WatchPoller, imap_sessions, sessions_at_once

USER = "t-20c9221a5d13@example.test"
OTHER = "t-ad79e997f073@example.test"


def login(at: str, user: str, session: str) -> str:
    return (
        f"Dec 05 {at} imap-login: Info: Login: user=<{user}>, method=PLAIN, rip=127.0.0.1, "
        f"lip=127.0.0.1, mpid=9441, secured, session=<{session}>"
    )


def logout(at: str, user: str, session: str) -> str:
    return f"Dec 05 {at} imap({user})<9441><{session}>: Info: Disconnected: Logged out in=167 out=1626"


def closed(at: str, user: str, session: str) -> str:
    return (
        f"Dec 05 {at} imap({user})<9502><{session}>: Info: Disconnected: Connection closed "
        "(IDLE running for 0.001 + waiting input for 0.317 secs, 2 B in + 10 B out, state=wait-input)"
    )


# as Dovecot logged a start of three workers (bench/out/chaos-double-11): two workers' start-up checks
# of the mailbox overlap for a moment, then one watcher keeps its IDLE session until it is killed
START_UP = [
    login("11:22:12", USER, "bjE/NOFhdJN/AAAB"),
    login("11:22:12", USER, "kkk/NOFhfpN/AAAB"),
    logout("11:22:12", USER, "kkk/NOFhfpN/AAAB"),
    logout("11:22:12", USER, "bjE/NOFhdJN/AAAB"),
    login("11:22:14", USER, "KHhlNOFhipN/AAAB"),
    login("11:22:15", OTHER, "Dpw9NOFhUpN/AAAB"),
    f"Dec 05 11:22:20 lmtp({USER})<9479><x>: Info: msgid=<bench-1@c>: saved mail to INBOX",
    closed("11:22:29", USER, "KHhlNOFhipN/AAAB"),
]


def test_sessions_are_paired_by_their_id_and_one_still_open_lasts_until_the_last_line() -> None:
    sessions = {(s.user, s.opened): s for s in imap_sessions(START_UP)}
    assert sessions[(USER, 0)].closed == 3 and sessions[(USER, 0)].seconds == 0
    assert sessions[(USER, 4)].closed == 7 and sessions[(USER, 4)].seconds == 15
    assert sessions[(OTHER, 5)].closed == len(START_UP) and sessions[(OTHER, 5)].seconds == 14


def test_start_up_checks_that_overlap_are_not_two_watchers() -> None:
    assert sessions_at_once(START_UP, [USER, OTHER]) == {USER: 1, OTHER: 1}
    assert sessions_at_once(START_UP, [USER], min_seconds=0) == {USER: 2}


def test_a_second_long_session_while_the_first_is_open_is_two_watchers() -> None:
    second = [login("11:22:16", USER, "second"), closed("11:22:40", USER, "second")]
    log = START_UP[:-1] + second + START_UP[-1:]
    assert sessions_at_once(log, [USER]) == {USER: 2}
    after = START_UP + second  # the same session once the first had ended: one at a time
    assert sessions_at_once(after, [USER]) == {USER: 1}


def test_drained_means_every_mail_stored_and_decided_and_nothing_left_to_send() -> None:
    assert Progress({"done": 9, "quarantined": 1}, {"sent": 12, "failed": 1}).drained(10)
    assert not Progress({"done": 9}, {"sent": 12}).drained(10)  # one not stored yet
    assert not Progress({"done": 9, "processing": 1}, {"sent": 12}).drained(10)
    assert not Progress({"done": 10}, {"sent": 12, "sending": 1}).drained(10)  # under its lease
    assert not Progress({"done": 10}, {"sent": 12, "pending": 1}).drained(10)


class FakeWatches:
    """mailbox_watch as the poller reads it: (mailbox, worker, since)."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, datetime]] = {}

    def watches(self) -> list[tuple[str, str, datetime]]:
        return [(mailbox, worker, since) for mailbox, (worker, since) in self.rows.items()]


class FakeSlots:
    def __init__(self) -> None:
        self.alive: set[str] = set()
        self.started_at = {"slot": 0.0}

    def names(self) -> set[str]:
        return set(self.alive)


class FakeWorker:
    name = "slot"

    def __init__(self, slots: FakeSlots, holder: str) -> None:
        self.slots, self.holder = slots, holder

    def kill(self) -> None:
        self.slots.alive.discard(self.holder)


class FakeClock:
    """time.monotonic and time.time of one made-up moment, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now + 1.8e9

    def at(self, seconds: float) -> datetime:
        return datetime.fromtimestamp(seconds + 1.8e9, UTC)


def test_a_watcher_killed_before_the_next_poll_ends_the_takeover_before_it(monkeypatch) -> None:
    """Two kills in a row, the second 0.3 s after its victim took the mailbox over: two takeovers
    timed from the watch sessions' starts, not one gap from the first kill to the third watcher."""
    clock = FakeClock()
    monkeypatch.setattr(chaos_fleet, "time", clock)
    monkeypatch.setattr(chaos_fleet, "holder_name", lambda worker: worker.holder)
    db, slots = FakeWatches(), FakeSlots()
    poller = WatchPoller(db, slots, ["m"])  # type: ignore[arg-type]
    db.rows["m"] = ("a", clock.at(900))
    slots.alive = {"a", "b", "c"}
    poller.poll()
    first = poller.kill(FakeWorker(slots, "a"))  # at 1000
    clock.now = 1000.5
    poller.poll()  # unwatched
    db.rows["m"] = ("b", clock.at(1040))  # b took it over 40 s after the kill...
    clock.now = 1040.3
    second = poller.kill(FakeWorker(slots, "b"))  # ...and died before a poll saw it
    db.rows["m"] = ("c", clock.at(1075.3))
    clock.now = 1075.5
    poller.poll()

    assert first.held == ["m"] and second.held == ["m"]
    assert first.takeover == pytest.approx(40) and second.takeover == pytest.approx(35)
    assert poller.gaps["m"] == [pytest.approx(40), pytest.approx(35)]
