"""`mailbot run`: the checks before the first pass (the mailbox matches the database, no fleet beside a
single worker), then one pass (`--once`) or the worker until stopped."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from typing import TYPE_CHECKING

from mailbot.clock import Clock
from mailbot.errors import ConfigError
from mailbot.logredact import mask_addresses

if TYPE_CHECKING:
    from mailbot.app import App
    from mailbot.clients.fleet import Fleet

log = logging.getLogger("mailbot")


def run_command(args: argparse.Namespace, clock: Clock) -> int:
    """`mailbot run [--once] [--fleet]`: every client of the installation, or the one --client names."""
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
    fleet = Fleet.open(installation, clock, only=args.client)
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
