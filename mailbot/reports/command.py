"""`mailbot report`: a client's figures for a month (or a range) as JSON, CSV and HTML files; `mailbot
measures list|close`: the measures the reports recommended.

Reads the database (and records the period's recommended measures), like `mailbot status` needs no
mail password and no model. The files are written to a temporary name and renamed, so a reader never
sees half a report.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from mailbot.atomic_file import write_atomically
from mailbot.clock import Clock
from mailbot.errors import ConfigError
from mailbot.reports.measure_store import STATUSES, close, listing
from mailbot.reports.one_client import one_client
from mailbot.reports.period import Period, between, month


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
        "see --language); default: json,csv,html",
    )
    report.add_argument(
        "--language",
        choices=["de", "en"],
        help="of report.html (default: [report] language, else the client's [support] default_language)",
    )
    report.add_argument(
        "--backfill-signals",
        action="store_true",
        help="first read stored follow-ups decided before failure signals were recorded (docs/metrics.md)",
    )
    measures = commands.add_parser("measures", help="the measures the reports recommended: list, close")
    sub = measures.add_subparsers(dest="measures_command", required=True)
    listed = sub.add_parser("list", help="every measure with its status")
    listed.add_argument("--json", action="store_true")
    closing = sub.add_parser("close", help="mark a measure done (or dropped); the next report says so")
    closing.add_argument("id", type=int)
    closing.add_argument("--status", choices=STATUSES[1:], default="done")
    closing.add_argument("--note", default="", help="what was done (shown in the next report)")
    for parser in (listed, closing):
        config_option(parser)
        now_option(parser)


FORMATS = ("json", "csv", "html")


def _formats(text: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [part for part in chosen if part not in FORMATS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"{text!r}: give some of {','.join(FORMATS)}, e.g. json,html")
    return chosen


def run_report_command(args: argparse.Namespace, clock: Clock) -> int:
    from mailbot.reports.produce import produce

    with one_client(args, clock, "report") as app:
        now = app.clock()
        period = _period(args, app.calendar.zone)
        if args.backfill_signals:
            from mailbot.reports.backfill import backfill_failure_signals

            with app.sessions.begin() as session:
                found = backfill_failure_signals(session, app.mailbox, app.settings.support.default_language)
            print(f"{app.mailbox}: {found} failure signal(s) of earlier follow-ups recorded")
        produced = produce(app, period, now, compare=bool(args.compare))
        report, table = produced.report, produced.facts_csv
    files = {
        "json": ("report.json", lambda: json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n"),
        "csv": ("facts.csv", lambda: table),
        "html": ("report.html", lambda: _page(report, app, args.language)),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in args.format:
        name, text = files[kind]
        write_atomically(args.out / name, text())
        written.append(str(args.out / name))
    automation = report["automation"]
    assert isinstance(automation, dict)
    print(f"{app.mailbox} {period.label}: {automation['requests']} requests; {', '.join(written)}")
    return 0


def _page(report: dict[str, object], app: Any, language: str | None) -> str:
    """report.html in `language` (else `[report] language`, else the client's default language), named
    and coloured as its mails ([branding])."""
    from mailbot.reports.render_html import report_page

    settings = app.settings
    return report_page(
        report,
        language or (settings.report.language or settings.support.default_language).value,
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


def run_measures_command(args: argparse.Namespace, clock: Clock) -> int:
    from mailbot.terminal import safe_json, safe_line

    with one_client(args, clock, "measures") as app:
        if args.measures_command == "close":
            with app.sessions.begin() as session:
                try:
                    row = close(session, app.mailbox, args.id, args.status, args.note, app.clock())
                except ValueError as exc:
                    print(f"mailbot: {exc}", file=sys.stderr)
                    return 1
                print(f"measure #{row.id} ({row.key}): {row.status}")
            return 0
        with app.sessions() as session:
            rows = [
                {"id": r.id, "key": r.key, "period": r.period, "status": r.status, "value": r.value,
                 "line": r.line, "n": r.n, "note": r.note}
                for r in listing(session, app.mailbox)
            ]  # fmt: skip
    if args.json:
        print(safe_json(rows))
        return 0
    for row in rows:
        note = f"  ({safe_line(row['note'])})" if row["note"] else ""
        print(f"#{row['id']:<5} {row['period']:<9} {row['status']:<8} {safe_line(row['key'])}{note}")
    return 0
