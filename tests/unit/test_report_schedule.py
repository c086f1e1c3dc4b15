"""When report mails are due (pure: settings, zone, now)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from mailbot.config import Settings, settings_from_mapping
from mailbot.reports.schedule import DIGEST, MONTHLY, due_reports

BERLIN = ZoneInfo("Europe/Berlin")


def settings(**report: object) -> Settings:
    return settings_from_mapping(
        {
            "support": {"address": "support@example.com", "default_language": "en"},
            "team": {"address": "team@example.com", "language": "de"},
            "maildir": {"path": "Maildir"},
            "smtp": {"host": "127.0.0.1"},
            "report": report,
        },
        Path("mailbot.toml"),
        env={},
    )


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def test_the_month_before_is_due_from_its_day_and_hour_in_the_clients_zone() -> None:
    wanted = settings(recipients=["boss@client.example"], day=1, hour=7)
    assert due_reports(wanted, BERLIN, at("2026-12-01 06:59")) == []
    [due] = due_reports(wanted, BERLIN, at("2026-12-01 07:00"))
    assert (due.kind, due.period.label, due.recipients) == (MONTHLY, "2026-11", ("boss@client.example",))
    assert due.language.value == "en"  # [support] default_language
    assert due.dedup_key("boss@client.example") == "report:monthly:2026-11:boss@client.example"
    [later] = due_reports(wanted, BERLIN, at("2026-12-20 12:00"))  # a worker that was down sends later
    assert later.period.label == "2026-11"
    [january] = due_reports(wanted, BERLIN, at("2027-01-01 07:00"))
    assert january.period.label == "2026-12"
    # 06:30 UTC on the 1st is 07:30 in Berlin: due
    assert due_reports(wanted, BERLIN, datetime.fromisoformat("2026-12-01T06:30+00:00"))


def test_the_weekly_digest_goes_to_the_team_in_its_language() -> None:
    wanted = settings(team_digest=True, hour=7)
    assert due_reports(wanted, BERLIN, at("2026-12-07 06:00")) == []  # Monday before 07:00
    [digest] = due_reports(wanted, BERLIN, at("2026-12-09 10:00"))  # Wednesday
    assert (digest.kind, digest.period.label) == (DIGEST, "2026-11-30..2026-12-06")
    assert digest.recipients == ("team@example.com",) and digest.language.value == "de"


def test_nothing_is_due_without_recipients_or_digest() -> None:
    assert due_reports(settings(), BERLIN, at("2026-12-01 12:00")) == []
