"""`mailbot report` on a history made over the wire: Dovecot in, decisions, agents' commands, figures out."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path

from mailbot.cli import main
from tests.e2e.conftest import Bot, make_mail, parse

CUSTOMER = "erika.muster@example.org"
OTHER = "max.beispiel@example.org"
PASSWORD_QUESTION_DE = (
    "Hallo,\n\nich habe mein Passwort vergessen und komme nicht mehr in mein Konto. "
    "Wie kann ich es zurücksetzen?\n\nViele Grüße\nErika Muster\n"
)
CRASH_REPORT_DE = (
    "Guten Tag,\n\nseit dem letzten Update stürzt die App beim Öffnen sofort ab. "
    "Ich habe das Handy schon neu gestartet, es hilft nichts.\n\nGruß\nMax Beispiel\n"
)


def around_today() -> list[str]:
    """--since yesterday --until tomorrow: today's mail, whatever the month."""
    today = date.today()
    yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)
    return ["--since", yesterday.isoformat(), "--until", tomorrow.isoformat()]


def report(bot: Bot, out: Path, *extra: str) -> dict[str, object]:
    assert main(["report", "--config", str(bot.config), *around_today(), "--out", str(out), *extra]) == 0
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def test_report_counts_what_happened_to_each_request(bot: Bot, tmp_path: Path) -> None:
    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", PASSWORD_QUESTION_DE))
    bot.deliver(make_mail(OTHER, "App stürzt ab", CRASH_REPORT_DE))
    bot.deliver(
        make_mail(
            OTHER, "Abwesenheitsnotiz", "Ich bin nicht im Büro.", headers={"Auto-Submitted": "auto-replied"}
        )
    )
    bot.run_once()
    answer = parse(bot.sent_to(CUSTOMER)[0])
    bot.deliver(
        make_mail(
            CUSTOMER,
            answer["Subject"].replace("Re: ", "AW: ", 1),
            "Das hat leider nicht geholfen, der Link geht immer noch nicht.",
            headers={"In-Reply-To": answer["Message-ID"], "References": answer["Message-ID"]},
        )
    )
    bot.run_once()
    crash = next(t for t in bot.tickets() if t.customer == OTHER)
    config = ["--config", str(bot.config)]
    assert main(["tickets", "resolve", crash.reference, "-m", "Behoben in Version 2.3.1.", *config]) == 0

    figures = report(bot, tmp_path / "out")

    automation = figures["automation"]
    assert automation["requests"] == 2  # type: ignore[index]
    assert automation["outcomes"] == {"answered": 1, "escalated": 1, "ignored": 1}  # type: ignore[index]
    assert automation["answers"]["failed"] == 1  # type: ignore[index]
    assert automation["failures"] == {"negative": 1}  # the customer's words, recorded at the decision
    assert automation["precision"] == {"part": 0, "whole": 1, "value": 0.0}  # type: ignore[index]
    assert figures["volume"]["follow_ups"] == 1  # type: ignore[index]
    assert figures["reopens"]["solved"] == 1  # type: ignore[index]
    resolution = figures["resolution_times"]["first_resolution"]["all"]["calendar_hours"]  # type: ignore[index]
    assert resolution["n"] == 1
    backlog = figures["backlog"]
    assert backlog["open"] == 1 and backlog["open_references"] == ["MB-000001"]  # type: ignore[index]

    table = list(csv.DictReader((tmp_path / "out" / "facts.csv").open(encoding="utf-8")))
    assert [row["outcome"] for row in table] == ["answered", "escalated", "ignored"]
    assert table[0]["answer_outcome"] == "failed"
    everything = (tmp_path / "out" / "facts.csv").read_text() + (tmp_path / "out" / "report.json").read_text()
    assert CUSTOMER not in everything and OTHER not in everything and "Passwort vergessen" not in everything


def test_report_needs_a_period_and_names_the_fix(bot: Bot, tmp_path: Path, capsys) -> None:
    assert main(["report", "--config", str(bot.config), "--out", str(tmp_path)]) == 2
    assert "--period YYYY-MM" in capsys.readouterr().err
    assert main(["report", "--config", str(bot.config), "--period", "2026-13", "--out", str(tmp_path)]) == 2
    assert "YYYY-MM" in capsys.readouterr().err


def test_an_agent_corrects_the_severity_and_the_due_times_follow(bot: Bot, tmp_path: Path, capsys) -> None:
    bot.deliver(make_mail(OTHER, "App stürzt ab", CRASH_REPORT_DE))
    bot.run_once()
    [ticket] = bot.tickets()
    guessed = ticket.severity
    assert guessed is not None and guessed != "cosmetic"
    config = ["--config", str(bot.config)]
    assert (
        main(["tickets", "severity", ticket.reference, "cosmetic", "--note", "nur die Anzeige", *config]) == 0
    )
    assert main(["tickets", "severity", ticket.reference, "cosmetic", *config]) == 1  # already
    assert "cosmetic already" in capsys.readouterr().err
    [corrected] = bot.tickets()
    assert corrected.severity == "cosmetic"
    assert corrected.sla_started_at == ticket.sla_started_at  # the clock started when the mail arrived
    assert corrected.response_due_at > ticket.response_due_at  # cosmetic: 40 h instead of fewer
    capsys.readouterr()
    assert main(["tickets", "show", ticket.reference, "--json", *config]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert any(
        e["kind"] == "severity_corrected" and e["note"] == f"{guessed} -> cosmetic: nur die Anzeige"
        for e in shown["events"]
    )
    figures = report(bot, tmp_path / "out")
    severity = figures["severity"]
    assert severity["corrected"] == 1  # type: ignore[index]
    assert severity["guessed_by_final"][guessed]["cosmetic"] == 1  # type: ignore[index]
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Einschätzung des Schweregrads und Korrekturen" in page
    # the period is read in the business calendar's zone: "today" on this machine may be another day there
    english = ["report", "--config", str(bot.config), *around_today(), "--language", "en"]
    assert main([*english, "--format", "html", "--out", str(tmp_path / "en")]) == 0
    assert "Severity guess and corrections" in (tmp_path / "en" / "report.html").read_text(encoding="utf-8")
    assert main(["tickets", "severity", ticket.reference, "none", *config]) == 0
    [no_fault] = bot.tickets()
    assert no_fault.severity is None and no_fault.response_due_at is None


def test_failure_signals_of_earlier_follow_ups_are_backfilled_once(bot: Bot, tmp_path: Path, capsys) -> None:
    from sqlalchemy import delete

    from mailbot.db.schema import TicketEvent

    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", PASSWORD_QUESTION_DE))
    bot.run_once()
    answer = parse(bot.sent_to(CUSTOMER)[0])
    headers = {"In-Reply-To": answer["Message-ID"], "References": answer["Message-ID"]}
    bot.deliver(
        make_mail(
            CUSTOMER, "AW: Passwort", "Ich möchte bitte mit einem Mitarbeiter sprechen.", headers=headers
        )
    )
    bot.run_once()
    with bot.db.begin() as session:  # as before this session: no failure_signal events were written
        assert session.execute(delete(TicketEvent).where(TicketEvent.kind == "failure_signal")).rowcount == 1
    assert report(bot, tmp_path / "before")["automation"]["failures"] == {"escalated": 1}  # type: ignore[index]

    config = ["--config", str(bot.config)]
    capsys.readouterr()
    assert (
        main(["report", *config, *around_today(), "--out", str(tmp_path / "after"), "--backfill-signals"])
        == 0
    )
    assert "1 failure signal(s)" in capsys.readouterr().out
    after = json.loads((tmp_path / "after" / "report.json").read_text(encoding="utf-8"))
    assert after["automation"]["failures"] == {"human": 1}
    assert (
        main(["report", *config, *around_today(), "--out", str(tmp_path / "again"), "--backfill-signals"])
        == 0
    )
    assert "0 failure signal(s)" in capsys.readouterr().out
