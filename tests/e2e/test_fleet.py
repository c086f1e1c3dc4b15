"""A fleet of `mailbot run --fleet` workers on one PostgreSQL (the short CI version of bench/chaos.py):
three clients' mailboxes in one Dovecot, two workers. Every mailbox is watched by exactly one worker;
after the holder of a mailbox is SIGKILLed, the other worker watches it again (within 90 s; the test
shortens the heartbeat with MAILBOT_FLEET_STALLED_SECONDS) and every mail is answered exactly once;
a worker that joins gets its share of the mailboxes;
`mailbot status` shows who holds what; the periodic jobs ran once per period across both workers; mail
a killed worker had claimed is decided once its peers see it dead, not after its lease."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.conftest import make_mail
from tests.e2e.test_clients import PASSWORD_QUESTION, Installation, make_installation, shared_models
from tests.e2e.test_clients_reload import Worker
from tests.servers import DovecotServer, SmtpSink
from tests.servers.common import wait_until
from tests.servers.postgres import PostgresServer

pytestmark = pytest.mark.servers
SLUGS = ("aktivo", "parkfuchs", "kuechenchef")
STALLED_SECONDS = 4


class FleetWorker(Worker):
    def __init__(self, installation: Installation, log: Path) -> None:
        super().__init__(
            installation, log, "--fleet", env={"MAILBOT_FLEET_STALLED_SECONDS": str(STALLED_SECONDS)}
        )
        self.name = f"{os.uname().nodename}:{self.process.pid}"


@pytest.fixture
def installation(
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    postgres: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Installation:
    built = make_installation(
        tmp_path,
        dovecot,
        smtp_sink,
        database_url=postgres.new_database(),
        model_dir=shared_models(tmp_path_factory),
    )
    for slug, prefix in zip(SLUGS, ("AK", "PF", "KC"), strict=True):
        built.add(slug, prefix)
    built.run_once()  # the schema and the models exist before the workers start
    return built


@pytest.fixture
def workers(installation: Installation) -> Iterator[list[FleetWorker]]:
    """Add workers with `workers.append(FleetWorker(...))`; all are stopped at the end."""
    started: list[FleetWorker] = []
    try:
        yield started
    finally:
        for worker in started:
            worker.stop()


def sql(installation: Installation, statement: str) -> list[Any]:
    """The rows of one statement, on a connection of its own (committed)."""
    engine = create_engine(installation.database_url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement))
            return list(result.all()) if result.returns_rows else []
    finally:
        engine.dispose()


def holders(installation: Installation) -> dict[str, str]:
    return {
        mailbox: worker for mailbox, worker in sql(installation, "SELECT mailbox, worker FROM mailbox_watch")
    }


def ask_everyone(installation: Installation, round_: int, per_client: int = 3) -> int:
    for slug in SLUGS:
        for n in range(per_client):
            customer = f"r{round_}-{n}@customer.example.org"
            installation.deliver(slug, make_mail(customer, *PASSWORD_QUESTION, to=installation.address(slug)))
    return len(SLUGS) * per_client


def answered_once(installation: Installation, expected: int) -> bool:
    replies = [m for m in installation.sent() if m["From"] and "support@" in m["From"]]
    per_recipient = Counter((str(m["To"]), str(m["From"])) for m in replies)
    assert all(count == 1 for count in per_recipient.values()), per_recipient  # never answered twice
    return len(per_recipient) >= expected


def test_a_fleet_shares_the_mailboxes_and_takes_over_from_a_killed_worker(
    installation: Installation, workers: list[FleetWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    workers.append(FleetWorker(installation, installation.root / "worker1.log"))
    wait_until(lambda: set(holders(installation)) == set(SLUGS), timeout=60, what="every mailbox watched")
    assert set(holders(installation).values()) == {workers[0].name}  # alone, it watches them all
    # a second worker joins: within a rebalancing period it watches its share
    workers.append(FleetWorker(installation, installation.root / "worker2.log"))
    wait_until(
        lambda: (
            set(holders(installation).values()) == {w.name for w in workers}
            and len(holders(installation)) == 3
        ),
        timeout=60,
        what="the mailboxes spread over both workers",
    )

    expected = ask_everyone(installation, 1)
    wait_until(lambda: answered_once(installation, expected), timeout=60, what="round 1 answered")

    def status_shows_both_watching() -> bool:  # a mailbox handed on is unwatched for a moment
        status = installation.status(capsys)["fleet"]
        boxes = status["mailboxes"].values()
        watched = {box["watched_by"] for box in boxes}
        assert status["workers"]["alive"] == 2 and watched <= {*names, None}
        return watched == set(names) and all(box["undecided"] == 0 and box["watcher_alive"] for box in boxes)

    names = [w.name for w in workers]
    wait_until(
        status_shows_both_watching, timeout=30, what="status: both workers watching, nothing undecided"
    )
    out, _ = installation.cli(capsys, "status")
    assert "fleet: 2 workers alive" in out and f"mailbox {SLUGS[0]}: watched by" in out
    # a single worker beside the fleet would run the SLA watch and escalations outside its locks
    _, err = installation.cli(capsys, "run", "--once", expect=2)
    assert "2 fleet workers (`mailbot run --fleet`) are working on this database" in err

    # the holder of the first mailbox dies without a word; mail keeps arriving meanwhile
    victim = next(w for w in workers if w.name == holders(installation)[SLUGS[0]])
    survivor = next(w for w in workers if w is not victim)
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait()
    killed_at = time.monotonic()
    expected += ask_everyone(installation, 2)
    wait_until(
        lambda: set(holders(installation).values()) == {survivor.name} and len(holders(installation)) == 3,
        timeout=90,
        what="every mailbox watched by the survivor",
    )
    takeover = time.monotonic() - killed_at
    assert takeover < 90
    wait_until(lambda: answered_once(installation, expected), timeout=90, what="round 2 answered")
    expected += ask_everyone(installation, 3)
    wait_until(lambda: answered_once(installation, expected), timeout=60, what="round 3 answered")

    doubled = sql(
        installation,
        "SELECT args->>'timestamp' FROM procrastinate_jobs "
        "WHERE task_name = 'mailbot.schedule_client_jobs' GROUP BY 1 HAVING count(*) > 1",
    )
    escalation_passes = {
        slug: count
        for slug, count in sql(
            installation,
            "SELECT args->>'slug', count(*) FROM procrastinate_jobs WHERE task_name = "
            "'mailbot.client_job' AND args->>'kind' = 'escalations' GROUP BY 1",
        )
    }
    [decisions] = sql(
        installation, "SELECT count(*), count(DISTINCT message_id) FROM inbound_mail WHERE state = 'done'"
    )
    assert doubled == []  # each period's scheduling job was queued once, by one of the two workers
    periods = (time.monotonic() - started) / 30
    assert set(escalation_passes) == set(SLUGS)
    assert all(1 <= n <= periods + 2 for n in escalation_passes.values()), (escalation_passes, periods)
    assert decisions == (expected, expected)
    assert survivor.stop() == 0
    assert "Traceback" not in survivor.text(), survivor.text()[-3000:]


def test_a_fleet_on_the_embedded_database_is_refused_with_the_fix(
    tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink, capsys: pytest.CaptureFixture[str]
) -> None:
    single = make_installation(tmp_path, dovecot, smtp_sink)
    single.add(SLUGS[0], "AK")
    _, err = single.cli(capsys, "run", "--fleet", expect=2)
    assert (
        "the workers share their work through PostgreSQL, and this installation's database is sqlite" in err
    )
    assert '[database] url = "postgresql+psycopg://' in err
    _, err = single.cli(capsys, "run", "--fleet", "--once", expect=2)
    assert "run --fleet --once" in err


def test_a_worker_rides_out_the_database_dropping_every_connection(
    installation: Installation, workers: list[FleetWorker]
) -> None:
    workers.append(FleetWorker(installation, installation.root / "worker1.log"))
    wait_until(lambda: set(holders(installation)) == set(SLUGS), timeout=60, what="every mailbox watched")
    expected = ask_everyone(installation, 1, per_client=1)
    wait_until(lambda: answered_once(installation, expected), timeout=60, what="round 1 answered")

    [(dropped,)] = sql(  # as a database restart does to its clients
        installation,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    assert dropped >= 2  # the job engine's and the sessions' connections

    expected += ask_everyone(installation, 2, per_client=1)
    wait_until(lambda: answered_once(installation, expected), timeout=90, what="round 2 answered")
    wait_until(
        lambda: set(holders(installation)) == set(SLUGS), timeout=60, what="every mailbox watched again"
    )

    # the fleet gives the worker up (as a peer does when its heartbeat is late): its sessions end, and
    # it joins again as a new member
    rejoined = workers[0].text().count("joins the fleet again")  # dropped connections may have cost one
    sql(installation, "DELETE FROM procrastinate_workers")
    wait_until(
        lambda: workers[0].text().count("joins the fleet again") > rejoined,
        timeout=30,
        what="the worker fenced",
    )
    expected += ask_everyone(installation, 3, per_client=1)
    wait_until(lambda: answered_once(installation, expected), timeout=90, what="round 3 answered")
    wait_until(lambda: set(holders(installation)) == set(SLUGS), timeout=60, what="all watched at last")
    assert "this worker was given up by its peers; its sessions end" in workers[0].text()
    assert workers[0].process.poll() is None  # still running
    assert workers[0].stop() == 0
    assert "Traceback" not in workers[0].text()


def burst_into_inbox(installation: Installation, slug: str, count: int) -> None:
    """`count` questions land in the INBOX at once (one MOVE): the watcher fetches them in one pass."""
    user = installation.users[slug]
    with installation.dovecot.imap_client(user) as client:
        client.create_folder("Burst")
        for n in range(count):
            customer = f"burst-{n}@customer.example.org"
            raw = make_mail(customer, *PASSWORD_QUESTION, to=installation.address(slug))
            client.append("Burst", raw)
        client.select_folder("Burst")
        client.move("1:*", "INBOX")


def test_mail_a_killed_worker_had_claimed_is_decided_without_waiting_for_its_lease(
    installation: Installation, workers: list[FleetWorker]
) -> None:
    slug, burst = SLUGS[0], 200
    workers.append(FleetWorker(installation, installation.root / "worker1.log"))
    wait_until(lambda: set(holders(installation)) == set(SLUGS), timeout=60, what="every mailbox watched")
    burst_into_inbox(installation, slug, burst)
    held_query = (
        f"SELECT count(*) FROM inbound_mail WHERE mailbox = '{slug}' AND state = 'processing' "
        "AND claimed_by IS NOT NULL"
    )
    wait_until(lambda: sql(installation, held_query)[0][0] > 0, timeout=60, what="a batch claimed")
    workers[0].process.send_signal(signal.SIGKILL)
    workers[0].process.wait()
    [(held,)] = sql(installation, held_query)
    assert held > 0  # claimed with the default lease of 300 s, and its worker gone

    killed_at = time.monotonic()
    workers.append(FleetWorker(installation, installation.root / "worker2.log"))

    def every_customer_answered() -> bool:  # a reply accepted just before the kill may go twice, alike
        ids = Counter((str(m["To"]), m["Message-ID"]) for m in installation.sent() if "support@" in m["From"])
        per_customer = Counter(to for to, _ in ids)
        assert all(n == 1 for n in per_customer.values()), per_customer  # never two different answers
        return len(per_customer) == burst

    wait_until(every_customer_answered, timeout=90, what="the burst answered")
    assert time.monotonic() - killed_at < 90  # the lease would have held them 300 s
    assert "taken over now, not after their lease" in workers[1].text()
    [decisions] = sql(
        installation,
        f"SELECT count(*), count(DISTINCT message_id) FROM inbound_mail WHERE mailbox = '{slug}' "
        "AND state = 'done'",
    )
    assert decisions == (burst, burst)
    assert workers[1].stop() == 0
    assert "Traceback" not in workers[1].text()


def test_an_idle_worker_helps_decide_a_burst_in_a_mailbox_it_does_not_watch(
    installation: Installation, workers: list[FleetWorker]
) -> None:
    workers.append(FleetWorker(installation, installation.root / "worker1.log"))
    workers.append(FleetWorker(installation, installation.root / "worker2.log"))
    wait_until(
        lambda: len(holders(installation)) == 3 and len(set(holders(installation).values())) == 2,
        timeout=60,
        what="the mailboxes spread over both workers",
    )

    # both past their sessions' start (a worker reading a client's model is busy, and rightly passes a
    # help request on), so that the one not watching the burst's mailbox has a core to spare
    def past_the_start(worker: FleetWorker) -> bool:  # each session says so after its first look
        text = worker.text()
        return 0 < text.count("fleet: watching the mailbox") <= text.count("taking new mail")

    wait_until(lambda: all(past_the_start(w) for w in workers), timeout=60, what="sessions started")
    slug, burst = SLUGS[0], 400
    burst_into_inbox(installation, slug, burst)
    wait_until(lambda: answered_once(installation, burst), timeout=120, what="the burst answered")

    # only a worker that does not watch the mailbox helps (the watch may move meanwhile: either may)
    logs = "\n".join(worker.text() for worker in workers)
    helped = [line for line in logs.splitlines() if f"fleet: helped client {slug}:" in line]
    assert sum(int(line.rsplit(": ", 1)[1].split()[0]) for line in helped) > 0, logs[-4000:]
    [decisions] = sql(
        installation,
        f"SELECT count(*), count(DISTINCT message_id) FROM inbound_mail WHERE mailbox = '{slug}'",
    )
    assert decisions == (burst, burst)
    assert all(worker.stop() == 0 for worker in workers)
    assert not any("Traceback" in worker.text() for worker in workers)


def test_a_worker_paused_past_its_takeover_decides_nothing_twice_when_it_resumes(
    installation: Installation, workers: list[FleetWorker]
) -> None:
    """SIGSTOP is what a starved or swapped-out process looks like to its peers: its heartbeat stops,
    its mailboxes and claims are taken over, and then it goes on. It must not decide a mail again, nor
    count failures on mail its peer answered (a claim's token, mailbot.db.claims.held)."""
    slug, burst = SLUGS[0], 300
    workers.append(FleetWorker(installation, installation.root / "worker1.log"))
    wait_until(lambda: set(holders(installation)) == set(SLUGS), timeout=60, what="every mailbox watched")
    burst_into_inbox(installation, slug, burst)
    decided_query = f"SELECT count(*) FROM inbound_mail WHERE mailbox = '{slug}' AND state = 'done'"
    wait_until(lambda: sql(installation, decided_query)[0][0] > 0, timeout=60, what="deciding under way")
    paused = workers[0]
    paused.process.send_signal(signal.SIGSTOP)
    try:
        [(at_pause,)] = sql(installation, decided_query)
        workers.append(FleetWorker(installation, installation.root / "worker2.log"))
        wait_until(
            lambda: "stopped answering" in workers[1].text(), timeout=60, what="the paused worker given up"
        )
        wait_until(
            lambda: sql(installation, decided_query)[0][0] > at_pause + 64,
            timeout=60,
            what="the peer deciding",
        )
    finally:
        paused.process.send_signal(signal.SIGCONT)

    def every_customer_answered() -> bool:  # a reply in the paused worker's hand may go twice, alike
        ids = Counter((str(m["To"]), m["Message-ID"]) for m in installation.sent() if "support@" in m["From"])
        per_customer = Counter(to for to, _ in ids)
        assert all(n == 1 for n in per_customer.values()), per_customer  # never two different answers
        return len(per_customer) == burst

    wait_until(every_customer_answered, timeout=120, what="the burst answered")
    states = dict(
        sql(installation, f"SELECT state, count(*) FROM inbound_mail WHERE mailbox = '{slug}' GROUP BY 1")
    )
    assert states == {"done": burst}  # none quarantined for "failures" on mail the other had answered
    [decisions] = sql(
        installation,
        f"SELECT count(*), count(DISTINCT message_id) FROM inbound_mail WHERE mailbox = '{slug}'",
    )
    assert decisions == (burst, burst)
    wait_until(
        lambda: "sessions ended; it joins the fleet again" in paused.text(), timeout=30, what="the fence"
    )
    assert all(worker.stop() == 0 for worker in workers)
    assert not any("Traceback" in worker.text() for worker in workers)
