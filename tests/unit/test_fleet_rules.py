"""The pure rules of a fleet of workers (mailbot.scaleout): fair share of mailboxes, when a help
request is taken, the timing of takeover, and which databases a fleet can share."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from procrastinate.exceptions import ConnectorException
from sqlalchemy.engine import make_url

from mailbot.clients.fleet import Fleet
from mailbot.errors import ConfigError
from mailbot.scaleout.engine import engine_conninfo
from mailbot.scaleout.local import LocalWorker
from mailbot.scaleout.run import GIVEN_UP_JOB, job_slots, quiet_given_up_jobs
from mailbot.scaleout.share import BUSY_CORES, fair_share, is_over_share, may_help, should_hand_on
from mailbot.scaleout.status import format_fleet_status
from mailbot.scaleout.timing import STALLED_ENV, FleetTiming, fleet_timing


@pytest.mark.parametrize(
    ("mailboxes", "workers", "share"),
    [(3, 1, 3), (3, 2, 2), (3, 3, 1), (10, 3, 4), (1, 5, 1), (0, 2, 1), (4, 0, 4)],
)
def test_fair_share_is_an_even_part_rounded_up(mailboxes: int, workers: int, share: int) -> None:
    assert fair_share(mailboxes, workers) == share


def test_a_worker_alone_watches_everything_and_one_with_peers_stops_at_its_share() -> None:
    assert not should_hand_on(watching_here=9, mailboxes=10, live_workers=1)
    assert not should_hand_on(watching_here=1, mailboxes=3, live_workers=2)
    assert should_hand_on(watching_here=2, mailboxes=3, live_workers=2)
    assert should_hand_on(watching_here=1, mailboxes=3, live_workers=3)


def test_help_is_taken_only_away_from_the_watcher_by_a_worker_with_a_core_to_spare() -> None:
    assert may_help(watched_here=False, cores_in_use=0.05)  # an idle peer
    assert not may_help(watched_here=False, cores_in_use=BUSY_CORES)  # a peer busy with its own mail
    assert not may_help(watched_here=False, cores_in_use=0.97)
    assert not may_help(watched_here=True, cores_in_use=0.0)  # the watcher's own process: no gain


def test_a_worker_measures_the_cores_its_other_threads_use() -> None:
    loop = asyncio.new_event_loop()
    local = LocalWorker(cast(Fleet, None), threading.Event(), FleetTiming(), loop)
    loop.close()  # not needed to measure
    assert local.cores_in_use(0.2) < BUSY_CORES  # nothing else runs in this process
    spinning = threading.Event()

    def spin() -> None:
        while not spinning.is_set():
            pass

    thread = threading.Thread(target=spin)
    thread.start()
    try:
        assert local.cores_in_use(0.3) > 0.05  # at least its share of a busy machine's cores
    finally:
        spinning.set()
        thread.join()


def test_default_timing_takes_over_well_inside_90_seconds() -> None:
    timing = fleet_timing({})
    assert timing == FleetTiming()
    assert timing.heartbeat_seconds == 10
    worst_case = timing.stalled_seconds + timing.takeover_seconds + timing.heartbeat_seconds
    assert worst_case < 90


def test_a_shorter_stalled_period_shortens_every_other_period() -> None:
    timing = fleet_timing({STALLED_ENV: "4"})
    assert (timing.stalled_seconds, timing.takeover_seconds) == (4, 2)
    assert timing.heartbeat_seconds == pytest.approx(4 / 3)
    assert timing.session_seconds == 60


@pytest.mark.parametrize("value", ["0", "1", "601", "soon", "nan"])
def test_a_wrong_stalled_period_is_refused_with_the_range(value: str) -> None:
    with pytest.raises(ConfigError, match=f"{STALLED_ENV}=.*2 to 600"):
        fleet_timing({STALLED_ENV: value})


def test_the_job_engine_gets_the_database_sqlalchemy_uses() -> None:
    url = make_url("postgresql+psycopg://bot:s3cret@db.example:5433/mailbot")
    assert engine_conninfo(url) == "postgresql://bot:s3cret@db.example:5433/mailbot"


def test_a_fleet_on_sqlite_is_refused_with_the_fix() -> None:
    with pytest.raises(ConfigError, match=r"\[database\] url = \"postgresql\+psycopg://"):
        engine_conninfo(make_url("sqlite:///mailbot.db"))


def test_every_mailbox_fits_on_the_last_worker_standing() -> None:
    assert job_slots(1) == 8
    assert job_slots(30) >= 30 + 30  # a watch session and a help request per client


def test_a_session_ends_early_only_above_the_share() -> None:
    assert is_over_share(watching_here=3, mailboxes=3, live_workers=2)  # a peer joined: hand one on
    assert not is_over_share(watching_here=2, mailboxes=3, live_workers=2)
    assert not is_over_share(watching_here=3, mailboxes=3, live_workers=1)


def test_the_fleet_status_says_who_watches_what_and_what_waits() -> None:
    def box(worker: str | None, alive: bool, undecided: int = 0, oldest: str | None = None) -> dict:
        since = "2026-12-05T10:20:00+00:00" if worker else None
        return {
            "watched_by": worker, "watched_since": since, "watcher_alive": alive, "undecided": undecided,
            "oldest_undecided": oldest, "outbox_unsent": undecided // 10,
        }  # fmt: skip

    status = {
        "workers": {"alive": 2, "stale": 1},
        "mailboxes": {
            "aktivo": box("vm:4441", True),
            "parkfuchs": box("db2:881", False, 37, "2026-12-05T10:27:14+00:00"),
            "kuechenchef": box(None, False),
        },
        "queues": {"watch": {"doing": 2, "todo": 1}, "clients": {"todo": 3}},
    }
    assert format_fleet_status(status, datetime(2026, 12, 5, 10, 30, tzinfo=UTC)).splitlines() == [
        "fleet: 2 workers alive, 1 without heartbeat",
        "  mailbox aktivo: watched by vm:4441 since Sat 5 Dec 10:20 UTC; 0 undecided; 0 to send",
        "  mailbox parkfuchs: watched by db2:881 since Sat 5 Dec 10:20 UTC (NO HEARTBEAT: taken over soon); "
        "37 undecided, the oldest waiting 166 s; 3 to send",
        "  mailbox kuechenchef: NOT WATCHED; 0 undecided; 0 to send",
        "  job queues: clients todo 3, watch doing 2/todo 1",
    ]


NEVER_RETRIEVED = "Task exception was never retrieved"


def test_a_job_the_peers_gave_up_is_one_warning_and_other_task_errors_go_to_asyncio(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def raised(cause: Exception) -> ConnectorException:
        try:
            raise ConnectorException from cause
        except ConnectorException as exc:
            return exc

    loop = asyncio.new_event_loop()
    defaults: list[dict[str, Any]] = []
    loop.default_exception_handler = defaults.append  # type: ignore[method-assign]
    try:
        given_up = raised(RuntimeError(f"{GIVEN_UP_JOB} (job id: 5)"))
        with caplog.at_level(logging.WARNING, logger="mailbot.scaleout.run"):
            quiet_given_up_jobs(loop, {"message": NEVER_RETRIEVED, "exception": given_up})
        assert defaults == []
        assert "had been given up by the peers" in caplog.text
        assert "Traceback" not in caplog.text

        other = {"message": NEVER_RETRIEVED, "exception": raised(RuntimeError("disk full"))}
        quiet_given_up_jobs(loop, other)
        assert defaults == [other]
    finally:
        loop.close()
