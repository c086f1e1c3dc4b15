"""`mailbot kb learn`: agents confirm which answered tickets become training examples.

Listing reads the database only. `--accept ID[=ARTICLE]` writes one line per example into the client's
knowledge-base files (mailbot.reports.learn_apply) and then records the decision; `--reject ID`
records only. The file is written before the decision is committed: a crash in between offers the
candidate again, and accepting it again finds the example already there and only records it, so an
example is never written twice and never lost. Nothing changes the knowledge base unseen: every change
is an agent's `--accept`, one line in `git diff`, and the running worker retrains when it sees the
changed files (as after any edit).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from mailbot.clock import Clock
from mailbot.errors import ConfigError
from mailbot.reports.learn_apply import NotPlaced, Placement, place_article_example, place_severity_example
from mailbot.reports.learn_load import load_histories
from mailbot.reports.learn_select import ARTICLE, Candidate, candidates
from mailbot.reports.learn_store import ACCEPTED, REJECTED, decided, record


def add_parser(kb_commands: Any, config_option: Any, now_option: Any) -> None:
    learn = kb_commands.add_parser(
        "learn",
        help="answered tickets and severity corrections offered as training examples; agents accept "
        "or reject each once (docs/metrics.md, Learning from agents)",
    )
    config_option(learn)
    now_option(learn)
    learn.add_argument("--since", type=date.fromisoformat, help="tickets created from this day (YYYY-MM-DD)")
    learn.add_argument("--json", action="store_true", help="the candidates as one JSON list")
    learn.add_argument(
        "--accept",
        nargs="+",
        default=[],
        metavar="ID[=TARGET]",
        help="write these candidates into the knowledge base; TARGET names the article (t…) or "
        "corrects the severity class (s…)",
    )
    learn.add_argument("--reject", nargs="+", default=[], metavar="ID", help="never offer these again")


def run_learn_command(args: argparse.Namespace, clock: Clock) -> int:
    from mailbot.clients import load_installation
    from mailbot.clients.fleet import Fleet

    installation = load_installation(args.config, require_secrets=False)
    if installation.several and not args.client:
        raise ConfigError("mailbot kb learn: several clients are configured; name one with --client SLUG")
    fleet = Fleet.open(installation, clock, full=False, only=args.client)
    try:
        (app,) = fleet
        now = app.clock()
        since = datetime.combine(args.since, time(), app.calendar.zone) if args.since else None
        window = app.settings.report.window_business_days
        with app.sessions() as session:
            open_ids = decided(session, app.mailbox)
            found = candidates(
                load_histories(session, app.mailbox, since), app.calendar, now, window, open_ids
            )
        if not args.accept and not args.reject:
            return _list(app.mailbox, found, args.json, window)
        return _decide(app, args, {c.id: c for c in found}, open_ids, now)
    finally:
        fleet.close()


def _list(mailbox: str, found: list[Candidate], as_json: bool, window: int) -> int:
    from mailbot.terminal import safe_json, safe_line

    if as_json:
        print(safe_json([{"client": mailbox, **candidate.as_dict()} for candidate in found]))
        return 0
    waiting = sum(candidate.pending for candidate in found)
    print(f"{mailbox}: {len(found)} candidate(s), {waiting} waiting for their {window} business days")
    for c in found:
        head = f"{c.id:<8} {c.reference:<14} {c.language}  {safe_line(c.text)}"
        print(head)
        if c.pending and c.window_closes is not None:
            until = f"{c.window_closes:%Y-%m-%d %H:%M %Z}"
            print(f"         waiting: the customer may still come back until {until}")
        if c.kind == ARTICLE:
            article = f"{c.target} (sent by the agent)" if c.target else f"name one: --accept {c.id}=ARTICLE"
            print(f"         article: {safe_line(article)}")
            if c.ranking:
                ranked = ", ".join(f"{safe_line(name)} {score:.2f}" for name, score in c.ranking)
                print(f"         classifier's ranking: {ranked}")
        else:
            print(f"         severity: {c.target} (corrected by an agent)")
    if found:
        print("accept: mailbot kb learn --accept ID[=ARTICLE] ...; reject: mailbot kb learn --reject ID ...")
    return 0


def _decide(
    app: Any,
    args: argparse.Namespace,
    offered: dict[str, Candidate],
    decided_before: frozenset[str],
    now: datetime,
) -> int:
    """Rejections first, then acceptances, each in its own transaction; an id named twice (or decided
    by another agent meanwhile) is refused, never recorded twice."""
    failed = 0
    done = set(decided_before)
    changed: list[Path] = []
    root = app.settings.knowledge_base.path
    for given in args.reject:
        candidate = _offered(given, offered, done)
        if candidate is None:
            failed += 1
            continue
        done.add(candidate.id)
        if not _record(app, candidate, REJECTED, now, text=candidate.text):
            failed += 1
            continue
        print(f"{candidate.id} rejected: not offered again")
    for given in args.accept:
        wanted, _, target = given.partition("=")
        candidate = _offered(wanted, offered, done)
        if candidate is None:
            failed += 1
            continue
        try:
            placed = _place(root, candidate, target.strip() or candidate.target)
        except NotPlaced as exc:
            print(f"mailbot: {candidate.id}: {exc}", file=sys.stderr)
            failed += 1
            continue
        chosen = target.strip() or candidate.target or ""
        done.add(candidate.id)
        if not _record(
            app, candidate, ACCEPTED, now, target=chosen, path=str(placed.path), text=candidate.text
        ):
            failed += 1
            continue
        what = "example added to" if placed.written else "already an example in"
        print(f"{candidate.id} accepted: {what} {placed.path} ({chosen})")
        if placed.written:
            changed.append(placed.path)
    if changed:
        print(
            f"the knowledge base changed ({len(changed)} file(s); review with `git diff {root}`): a running "
            "`mailbot run` retrains before its next pass, `mailbot train` retrains now"
        )
    return 1 if failed else 0


def _record(app: Any, candidate: Candidate, decision: str, now: datetime, **fields: str) -> bool:
    """Store the decision; False (and why, on stderr) when another agent decided it meanwhile."""
    from sqlalchemy.exc import IntegrityError

    try:
        with app.sessions.begin() as session:
            record(session, app.mailbox, candidate.id, candidate.ticket_id, decision, now, **fields)
    except IntegrityError:
        print(f"mailbot: {candidate.id}: was decided by someone else meanwhile", file=sys.stderr)
        return False
    return True


def _offered(given: str, offered: dict[str, Candidate], done: set[str]) -> Candidate | None:
    """The candidate `given` names, if it may be decided now; otherwise says why (stderr)."""
    key = given.strip().lower()
    candidate = offered.get(key) if key not in done else None
    if candidate is None:
        why = "was decided already" if key in done else "is not a candidate (see `mailbot kb learn`)"
        print(f"mailbot: {given}: {why}", file=sys.stderr)
        return None
    if candidate.pending and candidate.window_closes is not None:
        print(
            f"mailbot: {candidate.id}: the customer may still come back until "
            f"{candidate.window_closes:%Y-%m-%d %H:%M %Z}; accept it after that",
            file=sys.stderr,
        )
        return None
    return candidate


def _place(root: Path, candidate: Candidate, target: str | None) -> Placement:
    if not target:
        suggestions = ", ".join(name for name, _ in candidate.ranking[:3])
        hint = f" (the classifier suggests: {suggestions})" if suggestions else ""
        raise NotPlaced(f"name the article: --accept {candidate.id}=ARTICLE{hint}")
    if candidate.kind == ARTICLE:
        return place_article_example(root, target, candidate.language, candidate.text)
    return place_severity_example(root, target, candidate.text)
