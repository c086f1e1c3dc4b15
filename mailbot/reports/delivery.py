"""Send the reports that are due (mailbot.reports.schedule) through the outbox, once each.

Each (report, period, recipient) is one outbox row with that dedup key: a second run, a restart or a
second worker finds the row and sends nothing (the unique key is the last guard when two race). The
report is computed once per due period, only when some recipient still lacks it, in its own
transaction with the outbox row, so a crash leaves either the row or nothing.
"""

from __future__ import annotations

import logging

from mailbot.app import App
from mailbot.reply.outbox import enqueue_composed, new_message_id
from mailbot.reports.produce import produce
from mailbot.reports.render_html import render_report_subject
from mailbot.reports.render_mail import compose_report_mail
from mailbot.reports.schedule import due_reports
from mailbot.tickets.notify import already_queued, sender_of

log = logging.getLogger(__name__)
KIND = "report"


def send_due_reports(app: App) -> int:
    """Queue every due report mail not queued before; return how many were queued."""
    now = app.clock()
    queued = 0
    for due in due_reports(app.settings, app.calendar.zone, now):
        with app.sessions() as session:
            missing = [
                r for r in due.recipients if not already_queued(session, app.mailbox, due.dedup_key(r))
            ]
        if not missing:
            continue
        produced = produce(app, due.period, now, compare=True)
        sender = sender_of(app)
        settings = app.settings
        client_name = settings.branding.name or settings.support.name
        for recipient in missing:
            message_id = new_message_id(sender)
            raw = compose_report_mail(
                produced.report, produced.facts_csv, language=due.language.value,
                client_name=client_name, from_addr=sender.address,
                from_name=sender.name, to_addr=recipient, message_id=message_id, date=now,
                zone=app.calendar.zone, accent=settings.branding.accent_color,
                directories=settings.templates.directories,
            )  # fmt: skip
            with app.sessions.begin() as session:
                if already_queued(session, app.mailbox, due.dedup_key(recipient)):
                    continue
                subject = render_report_subject(
                    produced.report, due.language.value, client_name=client_name,
                    directories=settings.templates.directories,
                )  # fmt: skip
                enqueue_composed(
                    session, sender, app.mailbox, kind=KIND, recipient=recipient, subject=subject, raw=raw,
                    message_id=message_id, now=now, dedup_key=due.dedup_key(recipient),
                )  # fmt: skip
            queued += 1
            log.info("%s report %s queued for %s", due.kind, due.period.label, recipient)
    return queued
