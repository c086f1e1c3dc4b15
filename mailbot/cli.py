"""The `mailbot` command."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from mailbot.classify import DEFAULT_OUT_OF_SCOPE_SHARE
from mailbot.clock import Clock, fixed_clock, system_clock
from mailbot.config import CONFIG_ENV
from mailbot.errors import ConfigError
from mailbot.logredact import mask_addresses

if TYPE_CHECKING:
    from mailbot.app import App
    from mailbot.clients import Installation
    from mailbot.clients.fleet import Fleet

NOW_ENV = "MAILBOT_NOW"
log = logging.getLogger("mailbot")


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
    from mailbot.clients import load_installation
    from mailbot.clients.fleet import Fleet
    from mailbot.worker import run_forever

    installation = load_installation(args.config)
    if not installation.clients:
        raise ConfigError(f"no client can be served:\n{installation.report()}")
    if args.fleet:
        from sqlalchemy.engine import make_url

        try:
            from mailbot.scaleout.engine import engine_conninfo
        except ImportError as exc:
            extra = "pip install 'mailbot[postgres]'"
            raise ConfigError(f"run --fleet needs the PostgreSQL extra ({exc}): {extra}") from None
        if args.once:
            raise ConfigError("run --fleet --once: a fleet worker runs until stopped; use run --once alone")
        engine_conninfo(make_url(installation.database_url))  # a fleet needs PostgreSQL: said at once
    fleet = Fleet.open(installation, _clock(args.now), only=args.client)
    try:
        if not args.fleet:
            _refuse_beside_a_fleet(fleet)
        for slug, app in list(fleet.apps.items()):
            if not _mailbox_matches_database(app, forever=not args.once, strict=not installation.several):
                if not installation.several:
                    return 1
                fleet.problems[slug] = "not started: see above"
                fleet.apps.pop(slug).close()
        if not fleet.apps:
            return 1
        if args.once:
            # What the start made (modules, settings, knowledge bases, compiled templates) lives until
            # the pass ends: frozen, the cyclic GC no longer walks it in every full collection (~150k
            # objects), and the helpers forked for a backlog share its pages instead of copying those
            # the GC would write to. Not in `run`: a reloaded client's old objects must stay collectable.
            gc.freeze()
            return _run_once(fleet)
        run_forever(fleet, shared=args.fleet)
    finally:
        fleet.close()
    return 0


def _run_once(fleet: Fleet) -> int:
    """One pass of every client; one client's failure is reported and never stops the others."""
    from mailbot.worker import run_once

    failed = bool(fleet.problems)
    for app in fleet:
        who = f"client {app.mailbox}: " if fleet.installation.several else ""
        try:
            report = run_once(app)
        except Exception:
            if not fleet.installation.several:
                raise
            log.exception("%spass failed; the other clients go on", who)
            failed = True
            continue
        log.info(
            "%sdone: %d fetched, %d processed (%d failed attempts), %d sent, %d deferred, %d failed",
            who,
            report.fetched,
            report.processed.decided,
            report.processed.failures,
            report.delivery.sent,
            report.delivery.deferred,
            report.delivery.failed,
        )
        _log_availability(app)
        for error in report.errors:  # printed, not logged: the log filter's address rule applied here
            shown = mask_addresses(error) if app.settings.privacy.redact_addresses else error
            print(f"mailbot: {who}{shown}", file=sys.stderr)
        failed = failed or bool(report.errors)
    for slug, problem in sorted(fleet.problems.items()):
        print(f"mailbot: client {slug} not served:\n{problem}", file=sys.stderr)
    return 1 if failed else 0


def _mailbox_matches_database(app: App, forever: bool, strict: bool = True) -> bool:
    """mailbot.app.refuse_new_database before the first pass (a DatabaseProblem is raised on, unless
    not `strict`: one client of several is then said to be not started); False, said why, when the
    mail server cannot be asked, which only a database without mail needs."""
    from mailbot.app import refuse_new_database
    from mailbot.db.health import DatabaseProblem
    from mailbot.errors import TransientError

    source = app.make_source()
    try:
        refuse_new_database(app, source)
    except DatabaseProblem as exc:
        if strict:
            raise
        print(f"mailbot: client {app.mailbox} not started: {exc}", file=sys.stderr)
        return False
    except TransientError as exc:
        print(f"mailbot: {exc}", file=sys.stderr)
        if forever:
            print(
                "mailbot: not started: the database holds no mail yet, so the mailbox's Processed folder "
                "must be looked at first (a lost database must not hand out ticket numbers again); "
                "start again once the mail server answers",
                file=sys.stderr,
            )
        return False
    finally:
        source.close()
    return True


def _log_availability(app: App) -> None:
    """After `run --once`: "closed until Mon 7 Dec 08:00 CET, 3 mails waiting", so that a pass that
    decided nothing reads as the calendar at work, not as a fault."""
    from mailbot.status import availability_now

    quiet, line = availability_now(app)
    if not quiet:
        log.info("mailbox %s", line)


def _cmd_status(args: argparse.Namespace) -> int:
    """Reads the database only: works without the mail passwords and without loading a model."""
    from mailbot.clients import load_installation
    from mailbot.clients.fleet import Fleet
    from mailbot.scaleout.status import format_fleet_status
    from mailbot.status import collect_status, combine_status, format_status
    from mailbot.terminal import safe_json

    installation = load_installation(args.config, require_secrets=False)
    fleet = Fleet.open(installation, _clock(args.now), full=False, only=args.client)
    statuses: dict[str, dict[str, Any]] = {}
    try:
        for app in fleet:
            now = app.clock()
            with app.sessions() as session:
                outside_hours = app.settings.business_hours.outside_hours
                statuses[app.mailbox] = collect_status(session, app.mailbox, app.calendar, now, outside_hours)
        workers = _fleet_workers(fleet)
    finally:
        fleet.close()
    if not installation.several:  # one client: today's keys, and the same under "clients"
        ((slug, status),) = statuses.items()
        if args.json:
            print(safe_json({**status, "clients": {slug: status}} | ({"fleet": workers} if workers else {})))
        else:
            app = next(iter(fleet))
            print(format_status(status, app.calendar, app.clock()))
            if workers:
                print(format_fleet_status(workers, system_clock()))
        return 0
    total = combine_status(statuses, fleet.problems) | ({"fleet": workers} if workers else {})
    if args.json:
        print(safe_json(total))
        return 0
    blocks = [format_status(statuses[app.mailbox], app.calendar, app.clock()) for app in fleet]
    blocks += [
        f"client {slug} NOT SERVED:\n  " + p.replace("\n", "\n  ") for slug, p in fleet.problems.items()
    ]
    if workers:
        blocks.append(format_fleet_status(workers, system_clock()))
    print("\n\n".join(blocks))
    return 0


def _refuse_beside_a_fleet(fleet: Fleet) -> None:
    """A single worker beside fleet workers would run the SLA watch and escalation calls outside the
    fleet's locks (mail itself would still be decided once): refused, with the fix."""
    from mailbot.scaleout.status import live_fleet_workers  # needs no job engine installed

    live = live_fleet_workers(fleet.engine)
    if live:
        raise ConfigError(
            f"{live} fleet workers (`mailbot run --fleet`) are working on this database; start this "
            "one with --fleet too, or stop them first"
        )


def _fleet_workers(fleet: Fleet) -> dict[str, Any] | None:
    """The fleet part of `mailbot status` (PostgreSQL with fleet workers only)."""
    from mailbot.scaleout.status import fleet_status  # needs no job engine installed

    return fleet_status(fleet.engine, fleet.apps)


def _cmd_kb_check(args: argparse.Namespace) -> int:
    """One folder (--kb), or the knowledge base of every configured client (--config, --client)."""
    if args.kb is not None:
        return _check_kb(args.kb)
    installation = _installation(args, require_secrets=False)
    clients = installation.select(args.client)
    failed = 0
    for slug, settings in clients.items():
        print(f"client {slug}:")
        failed += _check_kb(settings.knowledge_base.path)
    if args.client is None:
        for slug, problem in sorted(installation.problems.items()):
            print(f"client {slug}: NOT SERVED\n{problem}")
            failed += 1
    return 1 if failed else 0


def _installation(args: argparse.Namespace, *, require_secrets: bool) -> Installation:
    from mailbot.clients import load_installation

    if args.config is None and not os.environ.get(CONFIG_ENV):
        raise ConfigError("name the knowledge base with --kb DIR, or the configuration with --config FILE")
    return load_installation(args.config, require_secrets=require_secrets)


def _check_kb(root: Path) -> int:
    from mailbot.classify.severity import check_severity_examples, load_severity_examples
    from mailbot.kb import check_knowledge_base, knowledge_base_warnings, load_knowledge_base

    problems = check_knowledge_base(root) + check_severity_examples(root)
    warnings = knowledge_base_warnings(root)
    for problem in problems:
        print(problem)
    for warning in warnings:
        print(f"warning: {warning}")
    if problems:
        print(f"{len(problems)} problem(s) in {root}", file=sys.stderr)
        return 1
    kb = load_knowledge_base(root)
    languages = sorted({article.language.value for article in kb.articles})
    extra = f", {len(kb.out_of_scope.examples)} out-of-scope examples" if kb.out_of_scope else ""
    topics = f"{len(kb.topic_ids())} topics ({', '.join(languages)})"
    severity = len(load_severity_examples(root))
    verdict = f"OK ({len(warnings)} warning(s) above)" if warnings else "OK"
    print(f"{root}: {len(kb.articles)} articles, {topics}{extra}, {severity} severity examples, {verdict}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    """Train anew, for every client (or the one --client names); one JSON line per client."""
    from mailbot.app import load_configured_kb, load_or_train
    from mailbot.classify import store
    from mailbot.clients import load_installation

    installation = load_installation(args.config, require_secrets=False)
    for slug, settings in installation.select(args.client).items():
        kb = load_configured_kb(settings)
        (settings.classifier.model_dir / store.CARD_FILE).unlink(missing_ok=True)  # on demand: always anew
        classifier = load_or_train(kb, settings.classifier)
        summary = {"client": slug, "model": classifier.version, "threshold": classifier.threshold}
        print(json.dumps({**summary, **classifier.validation}))
    if args.client is None and installation.problems:
        print(installation.report(), file=sys.stderr)
        return 1
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from mailbot.classify.evaluate import evaluate, format_summary, prediction_rows

    def progress(items: Any, total: int, label: str) -> Any:
        return tqdm(items, total=total, desc=label, file=sys.stderr, disable=total < 2000, leave=False)

    # what would fail after training fails before it: a missing library, a missing output folder
    if args.plot:
        from mailbot.classify.plot import require_matplotlib

        require_matplotlib()
    for option, output in (("--plot", args.plot), ("--predictions", args.predictions)):
        if output is not None and not output.resolve().parent.is_dir():
            raise ConfigError(f"{option} {output}: the folder {output.resolve().parent} does not exist")
    runs = _evaluation_runs(args)
    results: dict[str, Any] = {}
    for name, (kb, cases, target, share) in runs.items():
        result = evaluate(
            kb,
            cases,
            target_precision=target,
            out_of_scope_share=share,
            threshold=args.threshold,
            progress=progress,
            say=lambda message: print(f"training: {message}", file=sys.stderr),
        )
        results[name] = result
    if len(runs) > 1:  # several clients: a summary per client, the client named in every row
        if args.json:
            print(json.dumps({"clients": {n: r.summary for n, r in results.items()}}, ensure_ascii=False))
        else:
            for name, result in results.items():
                print(f"client {name}:\n{format_summary(result.summary)}")
        return 0
    ((name, result),) = results.items()
    if args.predictions:
        with args.predictions.open("w", encoding="utf-8") as out:
            for row in prediction_rows(result.outcomes):
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    if args.plot:
        from mailbot.classify.plot import plot_title, write_plot

        write_plot(result.outcomes, result.summary, args.plot, plot_title(runs[name][0], runs[name][1]))
    summary = result.summary if name is None else {"client": name, **result.summary}
    print(json.dumps(summary, ensure_ascii=False) if args.json else format_summary(result.summary))
    return 0


def _evaluation_runs(args: argparse.Namespace) -> dict[Any, tuple[Path, Path, float, float]]:
    """What to evaluate: --kb on --cases; or a configured client's KB and classifier settings (the
    options win); or, for several clients, each client's KB on <cases folder>/<client>.jsonl."""

    def options(target: float, share: float) -> tuple[float, float]:
        return (
            args.target_precision if args.target_precision is not None else target,
            args.out_of_scope_share if args.out_of_scope_share is not None else share,
        )

    if args.kb is not None:
        return {None: (args.kb, args.cases, *options(0.97, DEFAULT_OUT_OF_SCOPE_SHARE))}
    installation = _installation(args, require_secrets=False)
    clients = installation.select(args.client)
    several = len(clients) > 1
    if several and not args.cases.is_dir():
        raise ConfigError(
            f"--cases {args.cases}: with several clients give a folder of <client>.jsonl files, "
            "or name one client with --client"
        )
    runs: dict[Any, tuple[Path, Path, float, float]] = {}
    for slug, settings in clients.items():
        cases = args.cases / f"{slug}.jsonl" if several else args.cases
        if several and not cases.is_file():
            print(f"client {slug}: no {cases}, not evaluated", file=sys.stderr)
            continue
        model = settings.classifier
        name = slug if installation.several else None
        runs[name] = (
            settings.knowledge_base.path,
            cases,
            *options(model.target_precision, model.out_of_scope_share),
        )
    if not runs:
        raise ConfigError(f"--cases {args.cases}: no <client>.jsonl for any client ({', '.join(clients)})")
    return runs


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
