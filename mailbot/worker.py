"""The worker: ingest, process, move finished mail on the server, deliver the outbox — once or forever.

One pass (`run_pass`) honours the business calendar: while it is open, new mail is taken and decided;
while it is closed, mail is decided only as far as the contract allows outside hours
(mailbot.pipeline.deferral: urgent faults, and confident answers with `answer_outside_hours`), the
rest waits and is decided at the opening, in arrival order. Mail is taken while closed only when
something may be decided or acknowledged then; in acknowledge mode each mail left waiting gets an
out-of-hours note. Escalation jobs and the SLA watch run in every pass of `run --once`; `run` leaves
the timing to the scheduler (mailbot.scheduler).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from types import FrameType
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.db.schema import OutboxMail
from mailbot.errors import TransientError
from mailbot.escalate.jobs import JobReport, poll_jira, run_due_jobs
from mailbot.ingest.source import MailSource
from mailbot.pipeline.deferral import OutsideHours
from mailbot.pipeline.helpers import Helpers
from mailbot.pipeline.out_of_hours import acknowledge_out_of_hours
from mailbot.pipeline.process import BATCH_SIZE, ProcessReport, parsed_by_the_worker, process_pending
from mailbot.privacy.schedule import delete_folder_copies, run_privacy_jobs
from mailbot.reply import outbox_states
from mailbot.reply.deliver import LEASE, Deliverer, DeliveryReport
from mailbot.reply.delivery_process import DeliveryProcess, can_fork
from mailbot.reply.delivery_thread import DeliveryThread
from mailbot.reply.outbox_states import Accepted, Outgoing
from mailbot.reports.schedule import deliver_due_reports, wants_reports
from mailbot.reviews.schedule import run_review_jobs
from mailbot.tickets.notify import tell_team_not_delivered
from mailbot.tickets.watch import WatchReport, sla_watch

if TYPE_CHECKING:
    from mailbot.clients.fleet import Fleet

log = logging.getLogger(__name__)


@dataclass
class CycleReport:
    fetched: int = 0
    processed: ProcessReport = field(default_factory=ProcessReport)
    finalised: int = 0
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    errors: list[str] = field(default_factory=list)  # steps that could not run (server unreachable ...)
    open: bool = True  # the business calendar was open: new mail was taken and decided
    acknowledged: int = 0  # out-of-hours notes queued
    waiting: int = 0  # mail looked at while closed and left for the opening
    jobs: JobReport = field(default_factory=JobReport)
    watch: WatchReport = field(default_factory=WatchReport)


def deliverer_for(app: App) -> Deliverer:
    def tell_team(session: Session, row: OutboxMail) -> None:
        tell_team_not_delivered(session, app, row)

    return Deliverer(
        app.settings.smtp, app.mailbox, app.sessions, app.clock, on_failed=tell_team, claimant=app.claimant
    )


def delivery_for(app: App, halt: threading.Event | None = None) -> DeliveryThread:
    """The client's delivery thread (not started): it sends while mail is decided. Once `halt` is set
    (the worker stops), it claims nothing more."""
    return DeliveryThread(deliverer_for(app), name=f"delivery:{app.mailbox}", halt=halt)


def delivery_once_for(app: App) -> DeliveryThread | DeliveryProcess:
    """`run --once`: delivery in a process of its own, on the second core (mailbot.reply.
    delivery_process); the thread where the platform cannot fork or the database lives in memory."""
    if can_fork(app.engine):
        name = f"delivery:{app.mailbox}"
        return DeliveryProcess(lambda: deliverer_for(app), app.engine, name, serve=partial(settle_for, app))
    return delivery_for(app)


def start_delivery_once(app: App) -> DeliveryThread | DeliveryProcess:
    """`delivery_once_for`, started; the thread when the process cannot be forked (no memory, or the
    process limit reached): replies still leave, on one core."""
    delivery = delivery_once_for(app)
    try:
        return delivery.start()
    except OSError as exc:
        log.warning("delivery gets no process of its own (%s); it runs in a thread of the worker", exc)
        return delivery_for(app).start()


def settle_for(app: App, accepted: list[Accepted], limit: int) -> list[Outgoing]:
    """Delivery's transaction, run by the worker for its delivery process (mailbot.reply.delivery_process)."""
    return outbox_states.settle_and_claim(
        app.sessions, app.mailbox, accepted, app.clock(), LEASE, limit, app.claimant.current()
    )


def run_cycle(
    app: App,
    source: MailSource,
    wake_delivery: Callable[[], None],
    *,
    fetch: bool = True,
    outside_hours: OutsideHours | None = None,
    acknowledge: bool = False,
    on_fetched: Callable[[int], None] | None = None,
    second_process: bool = False,
    keep_going: Callable[[], bool] = lambda: True,
) -> CycleReport:
    """One pass of the mail stages. A mail server being down stops only the steps that need it:
    mail already stored is still decided, and the outbox is still delivered.

    Delivery runs beside it (mailbot.reply.delivery_thread): `wake_delivery` is called after every
    committed decision and at the end, so replies leave while the next mail is decided.
    `outside_hours` (the calendar is closed): decide only what it allows; `acknowledge`: then queue the
    out-of-hours note for every mail still waiting (after deciding, so mail decided now gets none).
    `on_fetched(n)`: n new mails were stored and are about to be decided (a fleet worker asks its
    peers to help with a large backlog, mailbot.scaleout). `second_process`: a backlog is parsed and
    classified in a forked process (mailbot.pipeline.prepare_pool), and its mail composed in another;
    only when no other thread runs. They are started as soon as the source has found a backlog, before
    it fetches it, so that the models are read while it does (mailbot.pipeline.helpers). `keep_going`
    returning False ends the deciding after the batch under way (process_pending).
    """
    report = CycleReport(open=outside_hours is None)
    decides = outside_hours is None or outside_hours.takes_mail
    helpers: list[Helpers] = []

    def found(count: int) -> None:
        if second_process and decides and count >= BATCH_SIZE and not helpers:
            try:
                parses_in_child = not parsed_by_the_worker(count)
                helpers.append(Helpers.start(app, models_in_child=True, parses_in_child=parses_in_child))
            except Exception as exc:  # never the fetch's problem: the pass starts them itself, or none
                log.warning("the helper processes could not be started before the fetch: %s", exc)

    try:
        if fetch:
            try:
                report.fetched = source.fetch_new(on_found=found)
            except TransientError as exc:
                report.errors.append(str(exc))
                log.warning("%s; mail already stored is still processed", exc)
        if report.fetched and on_fetched is not None:
            on_fetched(report.fetched)
        # a mail whose processing failed is retried in the same run, up to max_attempts passes
        for _ in range(app.settings.limits.max_attempts if decides else 0):
            result = process_pending(
                app,
                outside_hours,
                on_commit=wake_delivery,
                second_process=second_process,
                helpers=helpers[0] if helpers else None,
                keep_going=keep_going,
            )
            report.processed.add(result)
            report.waiting += result.waiting
            if not result.failures or not keep_going():
                break
    finally:
        for started in helpers:
            started.close()
    if acknowledge:
        report.acknowledged = acknowledge_out_of_hours(app)
    if not report.errors:
        try:
            report.finalised = source.finalize()
        except TransientError as exc:
            report.errors.append(str(exc))
            log.warning("%s; decided mail stays in the inbox until the next run", exc)
    wake_delivery()  # out-of-hours notes, and anything else queued meanwhile
    return report


def run_pass(
    app: App,
    source: MailSource,
    wake_delivery: Callable[[], None],
    on_fetched: Callable[[int], None] | None = None,
    *,
    second_process: bool = False,
    keep_going: Callable[[], bool] = lambda: True,
) -> CycleReport:
    """The mail stages as the business calendar allows them now."""
    if app.calendar.is_open(app.clock()):
        return run_cycle(
            app, source, wake_delivery,
            on_fetched=on_fetched, second_process=second_process, keep_going=keep_going,
        )  # fmt: skip
    outside_hours = OutsideHours.from_settings(app.settings)
    acknowledge = app.settings.business_hours.outside_hours == "acknowledge"
    fetch = acknowledge or outside_hours.takes_mail
    return run_cycle(
        app, source, wake_delivery, fetch=fetch, outside_hours=outside_hours, acknowledge=acknowledge,
        on_fetched=on_fetched, second_process=second_process, keep_going=keep_going,
    )  # fmt: skip


def run_once(app: App) -> CycleReport:
    """One pass of everything (for cron, tests, replays with --now): mail as the calendar allows, store
    reviews, escalation jobs, Jira follow-up, the SLA watch, report mails, retention; the outbox is
    delivered all along, and the pass ends when the outbox is empty or holds only rows backed off for
    later."""
    delivery = start_delivery_once(app)  # forked before the source opens anything
    source = app.make_source()
    try:
        # with delivery in a process, this one runs no other thread: parsing may be forked off too
        report = run_pass(app, source, delivery.wake, second_process=isinstance(delivery, DeliveryProcess))
        delivery.done_deciding()
        run_review_jobs(app)  # before the escalation jobs: a review's ticket reaches Jira in this run
        report.jobs = run_due_jobs(app)
        followed = poll_jira(app)
        report.jobs.done += followed.done
        report.jobs.errors += followed.errors
        report.watch = sla_watch(app)
        if wants_reports(app):
            deliver_due_reports(app)
        run_privacy_jobs(app)
        delete_folder_copies(app)
    except BaseException:
        delivery.stop()
        raise
    finally:
        source.close()
    report.delivery = delivery.finish()
    report.errors.extend(report.delivery.errors + report.jobs.errors)
    return report


def run_forever(fleet: Fleet, stop: threading.Event | None = None, *, shared: bool = False) -> None:
    """Run the scheduler (mailbot.scheduler) for every client until SIGTERM/SIGINT (or `stop`);
    `shared`: as one worker of a fleet on PostgreSQL (mailbot.scaleout, `run --fleet`)."""
    from mailbot.scheduler import run_scheduler

    serve: Callable[[Fleet, threading.Event], None] = run_scheduler
    if shared:
        from mailbot.scaleout.run import run_fleet_worker

        serve = run_fleet_worker
    if stop is not None:
        serve(fleet, stop)
        return
    with _stop_on_signals() as stop_on_signal:
        serve(fleet, stop_on_signal)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event that SIGTERM or SIGINT sets, however many of them arrive and however fast.

    A Python signal handler runs in the main thread between two bytecodes, possibly while that thread
    holds a lock: a handler that logged and called `Event.set()` deadlocked when a second SIGTERM came
    in during the first one's `set()` (the event's lock is not re-entrant). So the handlers do nothing;
    the interpreter's C-level handler writes each signal's number to a pipe (signal.set_wakeup_fd), and
    a watcher thread reads it, logs and sets the event, outside any signal context. Main thread only.
    """
    stop = threading.Event()
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)  # a full pipe drops bytes instead of blocking the handler
    previous_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    previous = {signum: signal.signal(signum, _ignore_in_handler) for signum in STOP_SIGNALS}
    watcher = threading.Thread(target=_watch_signals, args=(read_end, stop), name="signals", daemon=True)
    watcher.start()
    try:
        yield stop
    finally:
        stopping = stop.is_set()
        for signum, handler in previous.items():
            # once stopping, repeats are ignored to the end: the default handler (restored here, or by
            # the interpreter's own shutdown) would turn a late SIGTERM into a kill with rc -15
            signal.signal(signum, signal.SIG_IGN if stopping else handler)
        signal.set_wakeup_fd(previous_fd)
        os.close(write_end)  # the watcher reads end-of-file and returns
        watcher.join(timeout=5)
        os.close(read_end)


def _ignore_in_handler(_signum: int, _frame: FrameType | None) -> None:
    """Nothing: the wakeup pipe already carries the signal to the watcher thread."""


def _watch_signals(read_end: int, stop: threading.Event) -> None:
    """Set `stop` on the first stop signal; log each kind once, however often it repeats."""
    wanted = {int(signum) for signum in STOP_SIGNALS}
    seen: set[int] = set()
    while chunk := os.read(read_end, 512):
        for signum in set(chunk) & (wanted - seen):
            seen.add(signum)
            log.info("received %s, stopping after the current step", signal.Signals(signum).name)
        if seen:
            stop.set()
