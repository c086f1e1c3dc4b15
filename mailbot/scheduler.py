"""The long-running worker: APScheduler runs every timed job of every client (mailbox).

- `mail`: a pass of the mail stages as the business calendar allows (new mail only while open, the
  backlog at the opening in arrival order), then a wait for new mail: IMAP IDLE while open, else
  until the opening (at most 30 s). Its trigger fires every second, so it behaves like a loop that
  the scheduler owns (a re-adding one-off job was tried and lost itself: APScheduler drops a run
  submitted while the previous one is still finishing). After a failed pass (server down, password
  refused) the source is left alone for 15 s, then 30 s, 60 s, ... at most 10 minutes, while the
  outbox is still delivered.
- delivery: each client's outbox is sent by a thread of its own (mailbot.reply.delivery_thread, not
  an APScheduler job), woken after every committed decision and after every other job that may have
  queued mail, so a reply leaves within milliseconds of its decision, not at the next pass.
- `sla_watch`: warn the team before a response target runs out; record breaches.
- `escalations`: due calls to Jira Service Management and the webhook (at start, then every 30 s).
- `jira`: follow mirrored requests (public comments, done): at start, then every `[jira] poll_minutes`.
- `reports`: with `[report] recipients` or `team_digest`, queue the report mails that are due (at start,
  then every 15 minutes; mailbot.reports.delivery, imported at the first use), on the HTTP thread.

Each client has these jobs (ids `<job>:<slug>`) and two executors of one thread each: `mail` and
`sla_watch` share one (`client:<slug>`), the two HTTP jobs have the other (`http:<slug>`), so a slow
Jira or webhook receiver never delays mail handling (issue 11: one dripping receiver held the only
thread for minutes), and one client's slow mailbox or backend never delays another client. With a
clients folder, the `clients` job reads it again every RELOAD_SECONDS (mailbot.clients.fleet); the
environment variable MAILBOT_RELOAD_SECONDS sets another period (the tests use 1 s rather than wait 30).
Each HTTP pass is bounded anyway (a deadline per call, a budget per pass: mailbot.escalate.jobs),
and on stop a call is given up at once (`bounded_http.stop_calls_on`), so shutting down never
waits for a server.

Why two threads writing keeps "exactly once": the HTTP jobs make no call inside a transaction, and
their writes are short transactions on rows the mail stages never update: escalation jobs (only
`run_due_jobs` changes a job's state; the mail stages only insert new ones), a ticket's Jira key,
comment watermark and (when Jira says done) its state, plus new outbox rows and ticket events. Every
outbox row and job row is unique by its dedup key, so two inserts of one cause cannot both commit;
the loser's whole transaction rolls back and is redone at its next pass, finding the row there. Only
the mail job claims inbound mail; only the delivery thread (and `mailbot tickets`, as before) sends
the outbox, each row under its claim's lease, and it changes nothing but the rows it claimed, which
the mail stages only ever insert. A ticket solved by Jira
while its customer's follow-up is decided is the same race as `mailbot tickets resolve` from
another process has always had: both are single transactions, and on SQLite the second writer
waits for the first (busy timeout 30 s).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import OperationalError

from mailbot.app import App
from mailbot.clients.fleet import Fleet
from mailbot.errors import ConfigError, TransientError
from mailbot.escalate.bounded_http import stop_calls_on
from mailbot.escalate.jobs import poll_jira, run_due_jobs
from mailbot.ingest.source import MailSource
from mailbot.logredact import headline
from mailbot.privacy.schedule import FOLDER_MINUTES, PRIVACY_MINUTES, delete_folder_copies, run_privacy_jobs
from mailbot.reply.delivery_thread import DeliveryThread
from mailbot.reports.schedule import deliver_due_reports, wants_reports
from mailbot.reviews.schedule import REVIEW_MINUTES, run_review_jobs
from mailbot.tickets.watch import sla_watch
from mailbot.worker import delivery_for, run_pass

log = logging.getLogger(__name__)
RETRY_SECONDS = 15.0  # first pause after the mail source failed; doubled with every failure in a row ...
MAX_RETRY_SECONDS = 600.0  # ... up to this: a wrong password or a server that is down is not asked again
IDLE_SLICE_SECONDS = 30.0  # longest wait inside the mail job, so the other jobs get their turn
SLA_WATCH_SECONDS = 60
ESCALATION_SECONDS = 30
REPORT_MINUTES = 15  # how often due report mails are looked for (each is queued once: its dedup key)
RELOAD_SECONDS = 30  # how often the clients folder is looked at for added, changed, removed clients
RELOAD_ENV = "MAILBOT_RELOAD_SECONDS"


def reload_seconds(env: Mapping[str, str] | None = None) -> float:
    """RELOAD_SECONDS, or the period $MAILBOT_RELOAD_SECONDS gives; ConfigError for anything else."""
    value = (os.environ if env is None else env).get(RELOAD_ENV, "").strip()
    if not value:
        return RELOAD_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < 86_400:
        raise ConfigError(f"{RELOAD_ENV}={value!r}: seconds between two looks at the clients, e.g. 5")
    return seconds


def retry_delay(failures: int) -> float:
    """The pause before the next attempt after `failures` failed attempts in a row (15 s, 30 s, 60 s,
    ... at most 10 minutes): servers lock accounts that keep trying a wrong password."""
    return min(MAX_RETRY_SECONDS, RETRY_SECONDS * 2 ** min(max(0, failures - 1), 30))


class MailJob:
    """One pass plus the wait for new mail; keeps the connection, the open/closed state, the
    pause after failures (`monotonic` is the clock of that pause) and the client's delivery thread
    (started with the first pass, stopped by `close`)."""

    def __init__(
        self,
        app: App,
        stop: threading.Event,
        monotonic: Callable[[], float] = time.monotonic,
        on_fetched: Callable[[int], None] | None = None,
    ) -> None:
        self.app = app
        self.on_fetched = on_fetched  # a fleet worker asks its peers to help (mailbot.scaleout)
        self.stop = stop
        self.source: MailSource = app.make_source()
        self.delivery: DeliveryThread | None = None
        self._delivery_lock = threading.Lock()  # woken from the mail thread and the HTTP thread
        self.was_open: bool | None = None
        self.monotonic = monotonic
        self.failures = 0  # failed attempts at the mail source in a row
        self.retry_at = 0.0  # no attempt at the mail source before this (monotonic seconds)

    def __call__(self) -> None:
        self.stop.wait(self.run_pass())

    def _keep_going(self) -> bool:
        """Whether the pass may take more mail: not once the worker stops, nor once a fleet worker's
        fence has ended its sessions (its peers take its mailboxes over)."""
        return not self.stop.is_set()

    def run_pass(self) -> float:
        """One pass (IMAP IDLE waits inside it); returns how long to pause before the next one."""
        if self.stop.is_set():
            return 0.0
        try:
            pause = self.retry_at - self.monotonic()
            if pause > 0:  # leave the failed source alone; replies already decided still go out
                self.wake_delivery()
                return min(pause, IDLE_SLICE_SECONDS)
            self.app.refresh_knowledge_base()  # agents edit the KB while the worker runs
            # a worker that runs for days loads its models now, not when the first customer waits
            _ = self.app.classifier, self.app.severity
            now = self.app.clock()
            report = run_pass(
                self.app, self.source, self.wake_delivery, self.on_fetched, keep_going=self._keep_going
            )
            if report.open != self.was_open:
                _log_hours(self.app, now, report.open)
                self.was_open = report.open
            if report.errors:  # fetch or move failed (delivery reports in its own thread)
                return self._source_failed()
            self.failures = 0
            wait = min(IDLE_SLICE_SECONDS, self._seconds_until_next(now, report.open))
            if not report.open:
                return wait
            self.source.wait(wait, self.stop)  # IDLE: the connection may break here too
            return 0.0
        except (TransientError, OperationalError) as exc:
            log.warning("%s", exc)
            return self._source_failed()

    def _source_failed(self) -> float:
        self.source.close()  # reconnect at the next attempt
        self.failures += 1
        delay = retry_delay(self.failures)
        self.retry_at = self.monotonic() + delay
        log.warning(
            "next attempt at %s in %.0f s (%d failed in a row)", self.source.name, delay, self.failures
        )
        return min(delay, IDLE_SLICE_SECONDS)

    def wake_delivery(self) -> None:
        """Something may have been queued: the delivery thread sends it now (started on first use)."""
        with self._delivery_lock:
            if self.delivery is None or not self.delivery.running:  # first use, or it died (logged)
                if self.stop.is_set():
                    return
                self.delivery = delivery_for(self.app, self.stop).start()
            delivery = self.delivery
        delivery.wake()

    def _seconds_until_next(self, now: datetime, is_open: bool) -> float:
        wait = self.app.settings.poll_seconds  # deferred replies: the delivery thread keeps their time
        if not is_open:
            opening = self.app.calendar.next_opening(now)
            if opening is not None:
                wait = min(wait, max(1.0, (opening - now).total_seconds()))
        return wait

    def close(self) -> None:
        """Close the mail source and stop delivery: the rows in flight end (bounded by the SMTP
        timeout), the rest stay queued."""
        self.source.close()
        with self._delivery_lock:
            delivery = self.delivery
        if delivery is not None:
            delivery.stop(timeout=self.app.settings.smtp.timeout_seconds + 5)


@dataclass
class ClientJobs:
    """The jobs of one client: its mail pass and SLA watch share one thread of their own (as the one
    mailbox's did before there were several), its HTTP jobs run in the shared HTTP threads."""

    app: App
    stop: threading.Event  # set when the client stops (removed, changed) or the worker does
    mail_job: MailJob
    job_ids: tuple[str, ...]

    @property
    def executors(self) -> tuple[str, str]:
        return client_executors(self.app.mailbox)


def client_executors(slug: str) -> tuple[str, str]:
    """The client's mail thread (mail pass, SLA watch) and its HTTP thread (Jira, webhook)."""
    return f"client:{slug}", f"http:{slug}"


def add_client(scheduler: BaseScheduler, app: App, worker_stop: threading.Event) -> ClientJobs:
    """Schedule one client's jobs: `mail`, `sla_watch`, `escalations`, `privacy`, `folders`, `jira`,
    `reports`, `reviews` (ids `<job>:<slug>`)."""
    slug = app.mailbox
    stop = threading.Event()
    if worker_stop.is_set():
        stop.set()
    executor, http = client_executors(slug)
    scheduler.add_executor(ThreadPoolExecutor(max_workers=1), alias=executor)
    scheduler.add_executor(ThreadPoolExecutor(max_workers=1), alias=http)
    mail_job = MailJob(app, stop)
    start = datetime.now(app.calendar.zone)  # jobs queued while the worker was down go out at once
    # every second: the pass itself waits (IDLE) up to IDLE_SLICE_SECONDS, so this only means "again
    # as soon as the last pass returned"; the skipped ticks meanwhile are expected (_QuietSkips)
    scheduler.add_job(
        mail_job, IntervalTrigger(seconds=1), id=f"mail:{slug}", name=f"mail pass {slug}", executor=executor
    )
    wake = mail_job.wake_delivery  # the jobs may queue mail (warnings, Jira comments)
    scheduler.add_job(
        _guarded(sla_watch, app, stop, wake), IntervalTrigger(seconds=SLA_WATCH_SECONDS),
        id=f"sla_watch:{slug}", executor=executor,
    )  # fmt: skip
    scheduler.add_job(
        _guarded(run_due_jobs, app, stop, wake), IntervalTrigger(seconds=ESCALATION_SECONDS),
        id=f"escalations:{slug}", executor=http, next_run_time=start,
    )  # fmt: skip
    scheduler.add_job(
        _guarded(run_privacy_jobs, app, stop, wake), IntervalTrigger(minutes=PRIVACY_MINUTES),
        id=f"privacy:{slug}", executor=http, next_run_time=start,
    )  # fmt: skip
    scheduler.add_job(  # IMAP, between mail passes: one connection of the client's at a time
        _guarded(delete_folder_copies, app, stop, wake), IntervalTrigger(minutes=FOLDER_MINUTES),
        id=f"folders:{slug}", executor=executor, next_run_time=start,
    )  # fmt: skip
    ids = [f"mail:{slug}", f"sla_watch:{slug}", f"escalations:{slug}", f"privacy:{slug}", f"folders:{slug}"]
    if wants_reports(app):
        scheduler.add_job(
            _guarded(deliver_due_reports, app, stop, wake), IntervalTrigger(minutes=REPORT_MINUTES),
            id=f"reports:{slug}", executor=http, next_run_time=start,
        )  # fmt: skip
        ids.append(f"reports:{slug}")
    if app.settings.reviews is not None:
        scheduler.add_job(
            _guarded(run_review_jobs, app, stop, wake), IntervalTrigger(minutes=REVIEW_MINUTES),
            id=f"reviews:{slug}", executor=http, next_run_time=start,
        )  # fmt: skip
        ids.append(f"reviews:{slug}")
    if app.settings.jira is not None:
        minutes = app.settings.jira.poll_minutes
        scheduler.add_job(
            _guarded(poll_jira, app, stop, wake), IntervalTrigger(minutes=minutes), id=f"jira:{slug}",
            executor=http, next_run_time=start,
        )  # fmt: skip
        ids.append(f"jira:{slug}")
    return ClientJobs(app, stop, mail_job, tuple(ids))


def remove_client(scheduler: BaseScheduler, jobs: ClientJobs) -> None:
    """Stop a client: no new runs, the running pass ends at its next step (its wait ends at once),
    then its connection is closed. Its rows stay in the database."""
    jobs.stop.set()
    for job_id in jobs.job_ids:
        with contextlib.suppress(JobLookupError):
            scheduler.remove_job(job_id)
    for executor in jobs.executors:
        scheduler.remove_executor(executor, shutdown=True)  # waits for the running pass to return
    jobs.mail_job.close()
    jobs.app.close()


def build_scheduler() -> BackgroundScheduler:
    return BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=1)},  # the clients reload
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=UTC,
    )


class _QuietSkips(logging.Filter):
    """The mail pass is skipped on every tick while it waits for mail: expected, not worth a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("maximum number of running instances" in message and '"mail pass' in message)


def run_scheduler(fleet: Fleet, stop: threading.Event) -> None:
    """Every client's jobs until `stop`; with a clients folder, its changes are picked up every
    RELOAD_SECONDS (clients added, changed or removed) without a restart."""
    scheduler = build_scheduler()
    logging.getLogger("apscheduler.scheduler").addFilter(_QuietSkips())
    period = reload_seconds()
    running = {app.mailbox: add_client(scheduler, app, stop) for app in fleet}
    if fleet.installation.several:
        scheduler.add_job(
            _reload_clients(fleet, scheduler, running, stop, period), IntervalTrigger(seconds=period),
            id="clients", name="clients reload",
        )  # fmt: skip
    for jobs in running.values():
        log.info("worker started: %s, mailbox %s", jobs.mail_job.source.name, jobs.app.mailbox)
    scheduler.start()
    try:
        stop.wait()
    finally:
        for jobs in running.values():
            jobs.stop.set()
        scheduler.shutdown(wait=True)
        for jobs in running.values():
            jobs.mail_job.close()
        log.info("worker stopped")


def _reload_clients(
    fleet: Fleet,
    scheduler: BaseScheduler,
    running: dict[str, ClientJobs],
    stop: threading.Event,
    period: float,
) -> Callable[[], None]:
    def reload() -> None:
        try:
            change = fleet.reload()
            for slug in change.stopped:
                remove_client(scheduler, running.pop(slug))
            for slug, app in change.started.items():
                if slug in change.stopped or fleet.vet_new(slug):  # a changed client was vetted at its start
                    running[slug] = add_client(scheduler, app, stop)
        except Exception:
            log.exception("reading the clients again failed; trying again in %g s", period)

    return reload


def _guarded(
    job: Callable[[App], Any], app: App, stop: threading.Event, after: Callable[[], None] | None = None
) -> Callable[[], None]:
    """A job's failure is logged and retried at its next run; it never stops the scheduler. Its HTTP
    calls end as soon as the worker stops. `after` runs after the job (wakes delivery for its mail)."""

    def run() -> None:
        try:
            with stop_calls_on(stop):
                job(app)
        except (TransientError, OperationalError) as exc:  # a server or the database away: expected
            log.warning("job %s: %s; it runs again at its next turn", job.__name__, headline(str(exc)))
        except Exception:
            log.exception("job %s failed; it runs again at its next turn", job.__name__)
        if after is not None:
            after()

    run.__name__ = job.__name__
    return run


def _log_hours(app: App, now: datetime, is_open: bool) -> None:
    if is_open:
        log.info("within business hours: taking new mail")
    else:
        opening = app.calendar.next_opening(now)
        log.info(
            "outside business hours: new mail waits until %s", opening.isoformat() if opening else "never"
        )
