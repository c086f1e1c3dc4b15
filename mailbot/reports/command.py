"""`mailbot report`: a client's figures for a month (or a range) as JSON, CSV and HTML files.

Reads the database only, like `mailbot status`: no mail password, no model. The files are written to a
temporary name and renamed, so a reader never sees half a report.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import date
from pathlib import Path
from typing import Any

from mailbot.clock import Clock
from mailbot.errors import ConfigError
from mailbot.reports.load import load_facts
from mailbot.reports.period import Period, between, month
from mailbot.reports.report import Contract, build_report, facts_csv, history_start


def add_parser(commands: Any, config_option: Any, now_option: Any) -> None:
    report = commands.add_parser(
        "report", help="a client's figures for a period: report.json and facts.csv (docs/metrics.md)"
    )
    config_option(report)
    now_option(report)
    report.add_argument("--period", help="a month in the client's time zone, YYYY-MM (e.g. 2026-11)")
    report.add_argument("--since", type=date.fromisoformat, help="first day (YYYY-MM-DD), with --until")
    report.add_argument("--until", type=date.fromisoformat, help="last day, included")
    report.add_argument(
        "--compare", choices=["previous"], help="also the figures of the period before, under 'previous'"
    )
    report.add_argument("--out", type=Path, required=True, help="folder for report.json and facts.csv")
    report.add_argument(
        "--format",
        type=_formats,
        default=FORMATS,
        help="which files, comma-separated: json (report.json), csv (facts.csv), html (report.html, "
        "in the client's [support] default_language); default: json,csv,html",
    )


FORMATS = ("json", "csv", "html")


def _formats(text: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [part for part in chosen if part not in FORMATS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"{text!r}: give some of {','.join(FORMATS)}, e.g. json,html")
    return chosen


def run_report_command(args: argparse.Namespace, clock: Clock) -> int:
    from mailbot.clients import load_installation
    from mailbot.clients.fleet import Fleet

    installation = load_installation(args.config, require_secrets=False)
    if installation.several and not args.client:
        raise ConfigError("mailbot report: several clients are configured; name one with --client SLUG")
    fleet = Fleet.open(installation, clock, full=False, only=args.client)
    try:
        (app,) = fleet
        now = app.clock()
        period = _period(args, app.calendar.zone)
        sla = app.settings.sla
        contract = Contract(
            window_days=app.settings.report.window_business_days,
            acknowledgement_is_response=sla.acknowledgement_is_response,
            near_miss=sla.near_miss,
            around_the_clock=frozenset(str(severity) for severity in sla.around_the_clock()),
        )
        periods = [period, period.previous()] if args.compare else [period]
        with app.sessions() as session:
            facts = load_facts(session, app.mailbox, history_start(periods[-1]), now)
        report = build_report(facts, period, app.calendar, now, contract)
        if args.compare:
            report["previous"] = build_report(facts, periods[1], app.calendar, now, contract)
        table = facts_csv(facts.requests, period, app.calendar, now, contract.window_days)
    finally:
        fleet.close()
    files = {
        "json": ("report.json", lambda: json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n"),
        "csv": ("facts.csv", lambda: table),
        "html": ("report.html", lambda: _page(report, app)),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in args.format:
        name, text = files[kind]
        _write(args.out / name, text())
        written.append(str(args.out / name))
    automation = report["automation"]
    assert isinstance(automation, dict)
    print(f"{app.mailbox} {period.label}: {automation['requests']} requests; {', '.join(written)}")
    return 0


def _page(report: dict[str, object], app: Any) -> str:
    """report.html in the client's language, named and coloured as its mails ([branding])."""
    from mailbot.reports.render_html import report_page

    settings = app.settings
    return report_page(
        report,
        settings.support.default_language.value,
        client_name=settings.branding.name or settings.support.name,
        zone=app.calendar.zone,
        accent=settings.branding.accent_color,
        directories=settings.templates.directories,
    )


def _period(args: argparse.Namespace, zone: Any) -> Period:
    if args.period and (args.since or args.until):
        raise ConfigError("mailbot report: give --period or --since/--until, not both")
    if args.period:
        try:
            return month(args.period, zone)
        except ValueError as exc:
            raise ConfigError(f"mailbot report: {exc}") from None
    if args.since and args.until:
        return between(args.since, args.until, zone)
    raise ConfigError("mailbot report: give --period YYYY-MM, or --since and --until (YYYY-MM-DD)")


def _write(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
