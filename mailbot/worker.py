"""The worker: ingest, process, move finished mail on the server, deliver the outbox — once or forever."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from datetime import datetime
from types import FrameType

from sqlalchemy.exc import OperationalError

from mailbot.app import App
from mailbot.errors import TransientError
from mailbot.ingest.source import MailSource
from mailbot.pipeline.process import ProcessReport, process_pending
from mailbot.reply.deliver import Deliverer, DeliveryReport

log = logging.getLogger(__name__)
RETRY_SECONDS = 15.0


@dataclass
class CycleReport:
    fetched: int = 0
    processed: ProcessReport = field(default_factory=ProcessReport)
    finalised: int = 0
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    errors: list[str] = field(default_factory=list)  # steps that could not run (server unreachable ...)


def deliverer_for(app: App) -> Deliverer:
    return Deliverer(app.settings.smtp, app.mailbox, app.sessions, app.clock)


def run_cycle(app: App, source: MailSource, deliverer: Deliverer, *, fetch: bool = True) -> CycleReport:
    """One pass of every stage. A mail server being down stops only the steps that need it:
    mail already stored is still decided, and the outbox is still delivered."""
    report = CycleReport()
    if fetch:
        try:
            report.fetched = source.fetch_new()
        except TransientError as exc:
            report.errors.append(str(exc))
            log.warning("%s; mail already stored is still processed", exc)
    # a mail whose processing failed is retried in the same run, up to max_attempts passes
    for _ in range(app.settings.limits.max_attempts):
        result = process_pending(app)
        report.processed.outcomes.extend(result.outcomes)
        report.processed.failures += result.failures
        if not result.failures:
            break
    if not report.errors:
        try:
            report.finalised = source.finalize()
        except TransientError as exc:
            report.errors.append(str(exc))
            log.warning("%s; decided mail stays in the inbox until the next run", exc)
    report.delivery = deliverer.deliver_due()
    report.errors.extend(report.delivery.errors)
    return report


def run_once(app: App) -> CycleReport:
    """Everything in the inbox now, regardless of business hours (for cron, tests and benchmarks)."""
    source = app.make_source()
    try:
        return run_cycle(app, source, deliverer_for(app))
    finally:
        source.close()


def run_forever(app: App, stop: threading.Event | None = None) -> None:
    """Watch the mailbox until SIGTERM/SIGINT (or `stop`); new mail is only taken in business hours."""
    stop = stop or _stop_on_signals()
    source = app.make_source()
    deliverer = deliverer_for(app)
    log.info("worker started: %s, mailbox %s", source.name, app.mailbox)
    was_open: bool | None = None
    try:
        while not stop.is_set():
            app.refresh_knowledge_base()  # agents edit the KB while the worker runs
            now = app.clock()
            is_open = app.calendar.is_open(now)
            if is_open != was_open:
                _log_hours(app, now, is_open)
                was_open = is_open
            try:
                report = run_cycle(app, source, deliverer, fetch=is_open)
                if report.errors:
                    source.close()  # reconnect on the next pass
                    stop.wait(RETRY_SECONDS)
                    continue
                wait = _seconds_until_next(app, deliverer, now, is_open)
                if is_open:
                    source.wait(wait, stop)
                else:
                    stop.wait(wait)
            except (TransientError, OperationalError) as exc:
                log.warning("%s; retrying in %.0f s", exc, RETRY_SECONDS)
                source.close()
                stop.wait(RETRY_SECONDS)
    finally:
        source.close()
        log.info("worker stopped")


def _seconds_until_next(app: App, deliverer: Deliverer, now: datetime, is_open: bool) -> float:
    wait = app.settings.poll_seconds
    next_due = deliverer.next_due()
    if next_due is not None:
        wait = min(wait, max(0.5, (next_due - now).total_seconds()))
    if not is_open:
        opening = app.calendar.next_opening(now)
        if opening is not None:
            wait = min(wait, max(1.0, (opening - now).total_seconds()))
    return wait


def _log_hours(app: App, now: datetime, is_open: bool) -> None:
    if is_open:
        log.info("within business hours: taking new mail")
    else:
        opening = app.calendar.next_opening(now)
        log.info(
            "outside business hours: new mail waits until %s", opening.isoformat() if opening else "never"
        )


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, stopping after the current step", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop
