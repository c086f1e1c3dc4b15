"""`mailbot report`: a client's figures for a month (or a range) as JSON and CSV files.

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
    args.out.mkdir(parents=True, exist_ok=True)
    _write(args.out / "report.json", json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    _write(args.out / "facts.csv", table)
    automation = report["automation"]
    assert isinstance(automation, dict)
    print(
        f"{app.mailbox} {period.label}: {automation['requests']} requests; "
        f"{args.out / 'report.json'}, {args.out / 'facts.csv'}"
    )
    return 0


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
