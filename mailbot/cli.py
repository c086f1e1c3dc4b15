"""The `mailbot` command."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from mailbot.classify import DEFAULT_OUT_OF_SCOPE_SHARE
from mailbot.clock import Clock, fixed_clock, system_clock
from mailbot.config import CONFIG_ENV
from mailbot.errors import ConfigError

NOW_ENV = "MAILBOT_NOW"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _setup_logging(args.log_level or ("WARNING" if args.command == "demo" else "INFO"))
    try:
        return int(args.handler(args))
    except ConfigError as exc:  # includes a database that is damaged or not mailbot's (db.health)
        print(f"mailbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `mailbot tickets list | head`: the reader has gone, nothing to report
        # what Python's documentation advises ("Note on SIGPIPE"): the flush of stdout at exit would fail too
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        line = _database_failure(exc)
        if line is None:
            raise
        print(f"mailbot: {line}", file=sys.stderr)
        return 2


def _database_failure(exc: Exception) -> str | None:
    """One line for a database error met in the middle of a command (damage found only when a page is
    read, a server gone), instead of a traceback; None for anything else."""
    from sqlalchemy.exc import SQLAlchemyError

    if not isinstance(exc, SQLAlchemyError):
        return None
    from mailbot.db.health import first_line

    return (
        f"database error: {first_line(exc)}; check the database named by [database] url (restore it "
        "from a backup if it is damaged) and run the command again"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailbot", description="E-mail first 1st-level support robot.")
    parser.add_argument(
        "--log-level",
        default=os.environ.get("MAILBOT_LOG_LEVEL"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="default INFO (no customer text, addresses shortened); DEBUG also logs the IMAP "
        "conversation, i.e. whole mails: only to find a fault, never as the normal level (docs/privacy.md)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the worker (IDLE/poll the mailbox, process, deliver)")
    _config_option(run)
    run.add_argument("--once", action="store_true", help="process what is in the inbox now, deliver, exit")
    run.add_argument(
        "--fleet",
        action="store_true",
        help="one of several workers sharing a PostgreSQL database: each mailbox is watched by one "
        "worker, periodic jobs run once per fleet (docs/architecture.md, Fleet of workers)",
    )
    _now_option(run)
    run.set_defaults(handler=_cmd_run)

    status = commands.add_parser("status", help="counts per state and every quarantined or failed item")
    _config_option(status)
    status.add_argument("--json", action="store_true", help="one JSON object on stdout")
    _now_option(status)
    status.set_defaults(handler=_cmd_status)

    kb = commands.add_parser("kb", help="knowledge-base tools")
    kb_commands = kb.add_subparsers(dest="kb_command", required=True)
    check = kb_commands.add_parser(
        "check", help="validate the knowledge base; errors name file, line and fix"
    )
    check.add_argument("--kb", type=Path, help="knowledge-base directory (default: the configured clients')")
    _config_option(check)
    check.set_defaults(handler=_cmd_kb_check)

    from mailbot.reports.gap_command import add_parser as add_gaps_parser

    add_gaps_parser(kb_commands, _config_option, _now_option)
    kb_commands.choices["gaps"].set_defaults(handler=_cmd_kb_gaps)

    from mailbot.reports.learn_command import add_parser as add_learn_parser

    add_learn_parser(kb_commands, _config_option, _now_option)
    kb_commands.choices["learn"].set_defaults(handler=_cmd_kb_learn)

    train = commands.add_parser("train", help="train the classifier on the knowledge base and save it")
    _config_option(train)
    train.set_defaults(handler=_cmd_train)

    evaluate = commands.add_parser("evaluate", help="train on a KB and measure answers on labelled cases")
    evaluate.add_argument("--kb", type=Path, help="knowledge-base directory (or --config: a client's)")
    evaluate.add_argument(
        "--cases",
        type=Path,
        required=True,
        help="JSON Lines cases (format: docs/architecture.md, Evaluation cases); with --config and "
        "several clients, a folder of <client>.jsonl files",
    )
    _config_option(evaluate)
    evaluate.add_argument("--json", action="store_true", help="one JSON object on stdout")
    evaluate.add_argument(
        "--plot", type=Path, help="write a precision-coverage picture (PNG; needs matplotlib)"
    )
    evaluate.add_argument(
        "--predictions", type=Path, help="write one JSON line per case (expected, predicted, confidence ...)"
    )
    evaluate.add_argument(
        "--target-precision",
        type=float,
        help="as [classifier] target_precision (default: 0.97, or the client's)",
    )
    evaluate.add_argument(
        "--out-of-scope-share",
        type=float,
        help=f"as [classifier] out_of_scope_share (default: {DEFAULT_OUT_OF_SCOPE_SHARE}, or the client's)",
    )
    evaluate.add_argument("--threshold", type=float, help="use this threshold instead of the chosen one")
    evaluate.set_defaults(handler=_cmd_evaluate)

    from mailbot.tickets.commands import add_parser as add_tickets_parser

    add_tickets_parser(commands, _config_option, _now_option)
    commands.choices["tickets"].set_defaults(handler=_cmd_tickets)

    from mailbot.reports.command import add_parser as add_report_parser

    add_report_parser(commands, _config_option, _now_option)
    commands.choices["report"].set_defaults(handler=_cmd_report)
    commands.choices["measures"].set_defaults(handler=_cmd_measures)

    from mailbot.privacy.command import add_parser as add_privacy_parser

    add_privacy_parser(commands, _config_option, _now_option)
    commands.choices["privacy"].set_defaults(handler=_cmd_privacy)

    from mailbot.reviews.command import add_parser as add_reviews_parser

    add_reviews_parser(commands, _config_option, _now_option)
    commands.choices["reviews"].set_defaults(handler=_cmd_reviews)

    from mailbot.quarantine import add_parser as add_quarantine_parser

    add_quarantine_parser(commands, _config_option)
    commands.choices["quarantine"].set_defaults(handler=_cmd_quarantine)

    from mailbot.clients.commands import add_parser as add_clients_parser

    add_clients_parser(commands, _config_option)
    commands.choices["clients"].set_defaults(handler=_cmd_clients)

    init = commands.add_parser(
        "init",
        help="write an annotated mailbot.toml and a sample knowledge base to start from, or (--client) "
        "one client app's client.toml and starter knowledge base",
    )
    init.add_argument("dir", type=Path, nargs="?", help="where the installation goes (default: here)")
    init.add_argument(
        "--client",
        type=Path,
        metavar="clients/SLUG",
        help="add a client app: its folder, whose name is the client's id (a-z, 0-9, '_', '-')",
    )
    init.set_defaults(handler=_cmd_init)

    demo = commands.add_parser("demo", help="run the real pipeline on sample mails, no server needed")
    demo.add_argument("--dir", type=Path, default=Path("mailbot-demo"), help="working directory (re-created)")
    demo.add_argument("--kb", type=Path, help="the fitness app's knowledge base (default: the shipped one)")
    _now_option(demo)
    demo.set_defaults(handler=_cmd_demo)
    return parser


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help=f"TOML configuration (default: ${CONFIG_ENV})")
    parser.add_argument("--client", metavar="SLUG", help="only this client (default: every client)")


def _now_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--now", help=f"run with a fixed clock, ISO 8601 with offset (or {NOW_ENV})")


def _cmd_tickets(args: argparse.Namespace) -> int:
    from mailbot.tickets.commands import run_tickets_command

    return run_tickets_command(args, _clock(args.now))


def _cmd_kb_learn(args: argparse.Namespace) -> int:
    from mailbot.reports.learn_command import run_learn_command

    return run_learn_command(args, _clock(args.now))


def _cmd_report(args: argparse.Namespace) -> int:
    from mailbot.reports.command import run_report_command

    return run_report_command(args, _clock(args.now))


def _cmd_kb_gaps(args: argparse.Namespace) -> int:
    from mailbot.reports.gap_command import run_gaps_command

    return run_gaps_command(args, _clock(args.now))


def _cmd_reviews(args: argparse.Namespace) -> int:
    from mailbot.reviews.command import run_reviews_command

    return run_reviews_command(args, _clock(args.now))


def _cmd_privacy(args: argparse.Namespace) -> int:
    from mailbot.privacy.command import run_privacy_command

    return run_privacy_command(args, _clock(args.now))


def _cmd_measures(args: argparse.Namespace) -> int:
    from mailbot.reports.command import run_measures_command

    return run_measures_command(args, _clock(args.now))


def _cmd_clients(args: argparse.Namespace) -> int:
    from mailbot.clients.commands import run_clients_command

    return run_clients_command(args)


def _cmd_quarantine(args: argparse.Namespace) -> int:
    from mailbot.quarantine import run_quarantine_command

    return run_quarantine_command(args)


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", stream=sys.stderr
    )
    # third-party chatter that says nothing about mail: aiosmtpd's per-command log of the demo sink,
    # Alembic's plugin list at every start, APScheduler's "Added job", "Running job", "Job executed
    # successfully" every second, Procrastinate's "Starting job", "Deferred 1 job" for every fleet job;
    # httpx's "HTTP Request: GET <url>" of every Jira call, whose URL carries a customer's address when
    # looking the customer up (issue 15); at DEBUG, markdown-it's trace of every block rule (~1,400
    # lines per rendered article) and mailparser-reply's patterns for every mail, which drowned the
    # IMAP conversation DEBUG is for (docs/privacy.md) (their warnings and errors still show)
    for name in (
        "mail.log", "alembic", "apscheduler", "procrastinate", "httpx", "httpcore",
        "markdown_it", "mailparser_reply",
    ):  # fmt: skip
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))


def _clock(now: str | None) -> Clock:
    text = now or os.environ.get(NOW_ENV)
    if not text:
        return system_clock
    try:
        return fixed_clock(datetime.fromisoformat(text))
    except ValueError as exc:
        raise ConfigError(f"--now/{NOW_ENV}: {exc}") from None


def _cmd_run(args: argparse.Namespace) -> int:
    from mailbot.run_command import run_command

    return run_command(args, _clock(args.now))


def _cmd_status(args: argparse.Namespace) -> int:
    from mailbot.status_command import status_command

    return status_command(args, _clock(args.now))


def _cmd_kb_check(args: argparse.Namespace) -> int:
    from mailbot.kb.command import run_kb_check_command

    return run_kb_check_command(args)


def _cmd_train(args: argparse.Namespace) -> int:
    from mailbot.classify.command import run_train_command

    return run_train_command(args)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from mailbot.classify.command import run_evaluate_command

    return run_evaluate_command(args)


def _cmd_init(args: argparse.Namespace) -> int:
    from mailbot.scaffold import client_next_steps, init_client, init_installation, next_steps

    if args.client is not None and args.dir is not None:
        raise ConfigError(
            "give either DIR (a new installation) or --client clients/SLUG (a client app), not both"
        )
    if args.client is not None:
        written = init_client(args.client)
        steps = client_next_steps(written[0])
    else:
        written = init_installation(args.dir if args.dir is not None else Path("."))
        steps = next_steps(written[0])
    for path in written:
        print(f"wrote {path}")
    print(steps)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from mailbot.demo.run import run_demo

    return run_demo(args.dir, args.kb, _clock(args.now))


def console() -> NoReturn:
    """The installed `mailbot` command: `main`, then an exit without the interpreter's teardown.

    Why: a pass ends holding the models and a few hundred thousand other objects, and the teardown
    frees them one at a time, for nothing: 0.5 s of a 9.5 s `run --once` of 1,000 mails (issue 13,
    bench/throughput.py). Only when nothing else can still be at work: no other thread, no child
    process; the logs and stdio are flushed first. Otherwise, and for tests calling `main`, the
    normal exit."""
    code = main()
    if threading.active_count() > 1 or ("multiprocessing" in sys.modules and _children_alive()):
        raise SystemExit(code)
    logging.shutdown()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a reader gone, a stream closed: the normal exit deals with it
        raise SystemExit(code) from None
    os._exit(code)


def _children_alive() -> bool:
    import multiprocessing

    return bool(multiprocessing.active_children())


if __name__ == "__main__":
    console()
