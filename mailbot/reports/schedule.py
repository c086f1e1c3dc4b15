"""Which report mails are due: the month before to the client's contacts, the week before to the team.

Pure: settings, the client's zone and `now` in, the due reports out. A report is due from its delivery
time (`[report] day` and `hour`, local; Mondays at `hour` for the digest) until the period is over,
so a worker that was down at 07:00 on the 1st sends when it is back; the outbox's dedup key (report,
period, recipient) makes it once (mailbot.reports.delivery).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from mailbot.config import Settings
from mailbot.domain import Language
from mailbot.reports.period import Period, between, month

if TYPE_CHECKING:
    from mailbot.app import App

MONTHLY = "monthly"
DIGEST = "digest"


@dataclass(frozen=True)
class DueReport:
    kind: str  # MONTHLY or DIGEST
    period: Period
    recipients: tuple[str, ...]
    language: Language

    def dedup_key(self, recipient: str) -> str:
        return f"report:{self.kind}:{self.period.label}:{recipient}"


def due_reports(settings: Settings, zone: ZoneInfo, now: datetime) -> list[DueReport]:
    local = now.astimezone(zone)
    wanted = settings.report
    found = []
    if wanted.recipients:
        sends = datetime.combine(date(local.year, local.month, wanted.day), time(wanted.hour), tzinfo=zone)
        if local >= sends:
            before = date(local.year - 1, 12, 1) if local.month == 1 else date(local.year, local.month - 1, 1)
            language = wanted.language or settings.support.default_language
            period = month(before.strftime("%Y-%m"), zone)
            found.append(DueReport(MONTHLY, period, tuple(wanted.recipients), language))
    if wanted.team_digest:
        monday = local.date() - timedelta(days=local.weekday())
        if local >= datetime.combine(monday, time(wanted.hour), tzinfo=zone):
            week = between(monday - timedelta(days=7), monday - timedelta(days=1), zone)
            found.append(DueReport(DIGEST, week, (settings.team.address,), settings.team.language))
    return found


def wants_reports(app: App) -> bool:
    """The client has report mails configured at all."""
    return bool(app.settings.report.recipients or app.settings.report.team_digest)


def deliver_due_reports(app: App) -> int:
    """Queue the report mails that are due (mailbot.reports.delivery). The report's rendering stack
    (Jinja2 pages, charts, CSS inlining) is imported at the first use, not at every worker's start."""
    from mailbot.reports.delivery import send_due_reports

    return send_due_reports(app)
