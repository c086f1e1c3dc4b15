"""`mailbot reviews ...`: the agency's desk for app-store reviews.

    list [--state S]            reviews waiting for a person (drafts, "a person decides", failed posts)
    show R12                    one review, its decision and its replies
    approve R12 [--by NAME]     post the draft at the next run (or with `reviews run`)
    edit R12 --text T|--file F  write or rewrite the reply (checked again)
    reject R12                  answer nothing
    run [--dry-run]             poll, decide, draft, post what is approved; --dry-run posts nothing
    check                       can mailbot read each app's reviews? (onboarding)

Every command works on one client (--client SLUG when several are configured). Review texts are customer
text: shown through `mailbot.terminal`, never obeyed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mailbot.clock import Clock
from mailbot.db.schema import ReplyState, ReviewReply, ReviewState, StoreReviewRow
from mailbot.terminal import safe_line, safe_text

WAITING = {
    "draft": "a draft waits for approval",
    "person": "a person decides",
    "failed": "the store refused the reply",
}


def add_parser(commands: Any, config_option: Any, now_option: Any) -> None:
    reviews = commands.add_parser("reviews", help="app-store reviews: drafts to approve, posting, onboarding")
    sub = reviews.add_subparsers(dest="reviews_command", required=True)
    listing = sub.add_parser("list", help="reviews waiting for a person (or --state all)")
    listing.add_argument(
        "--state", default="waiting", choices=["waiting", "draft", "person", "failed", "all"]
    )
    for name, text in (
        ("show", "one review, its decision and its replies"),
        ("approve", "approve the review's draft: it is posted at the next run"),
        ("edit", "write or rewrite the review's reply (checked again; approve it afterwards)"),
        ("reject", "answer nothing to this review"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("review", help="the review's number, e.g. R12")
        if name in ("approve", "edit", "reject"):
            command.add_argument("--by", default="", help="who decided (recorded; default: $USER)")
        if name == "edit":
            given = command.add_mutually_exclusive_group(required=True)
            given.add_argument("--text", help="the reply")
            given.add_argument("--file", type=Path, help="a UTF-8 file holding the reply")
    run = sub.add_parser("run", help="poll every app, decide and draft, post what is approved")
    run.add_argument("--dry-run", action="store_true", help="show what would be posted, post nothing")
    sub.add_parser("check", help="can mailbot read each app's reviews? tells the fix when not")
    for command in sub.choices.values():
        config_option(command)
        now_option(command)


def run_reviews_command(args: argparse.Namespace, clock: Clock) -> int:
    from mailbot.reports.one_client import one_client
    from mailbot.reviews.workflow import WorkflowError

    with one_client(args, clock, f"reviews {args.reviews_command}") as app:
        if args.reviews_command == "list":
            return _list(app, args.state)
        if args.reviews_command == "run":
            from mailbot.reviews.run import print_pass, reviews_pass

            return print_pass(reviews_pass(app, app.clock(), dry_run=args.dry_run))
        if args.reviews_command == "check":
            from mailbot.reviews.onboarding import print_checks

            return print_checks(app)
        try:
            return _one(app, args)
        except WorkflowError as exc:
            print(f"mailbot: {safe_line(str(exc))}", file=sys.stderr)
            return 1


def _list(app: Any, state: str) -> int:
    with app.sessions() as session:
        query = select(StoreReviewRow).where(StoreReviewRow.mailbox == app.mailbox)
        rows = list(session.scalars(query.order_by(StoreReviewRow.id)))
        replies = {
            r.review_pk: r
            for r in session.scalars(
                select(ReviewReply).where(ReviewReply.mailbox == app.mailbox).order_by(ReviewReply.id)
            )
        }
        shown = 0
        for review in rows:
            reply = replies.get(review.id)
            waiting = _waiting(review, reply)
            if not _wanted(state, waiting):
                continue
            shown += 1
            what = WAITING.get(waiting or "", reply.state if reply else review.state)
            text = safe_line(f"{review.title} {review.body}".strip())[:70]
            stars = "★" * review.rating
            print(f"R{review.id:<5} {review.store:<6} {stars:<5} {review.language or '?':<2} {what}: {text}")
    if not shown:
        which = "waiting for a person" if state == "waiting" else f"in state {state}"
        print(f"{app.mailbox}: no reviews {which}")
    return 0


def _wanted(state: str, waiting: str | None) -> bool:
    if state == "all":
        return True
    return waiting is not None if state == "waiting" else waiting == state


def _waiting(review: StoreReviewRow, reply: ReviewReply | None) -> str | None:
    if reply is not None and reply.state == ReplyState.DRAFT:
        return "draft"
    if reply is not None and reply.state == ReplyState.FAILED:
        return "failed"
    if review.state == ReviewState.PERSON:
        return "person"
    return None


def _one(app: Any, args: argparse.Namespace) -> int:
    from mailbot.reviews import workflow
    from mailbot.reviews.drafting import checker_for

    by = args.__dict__.get("by") or os.environ.get("USER", "") or "?"
    now = app.clock()
    with app.sessions.begin() as session:
        review = workflow.review_by_number(session, app.mailbox, args.review)
        if args.reviews_command == "approve":
            workflow.approve(session, review, by, now)
            print(f"R{review.id}: approved; posted at the next run (`mailbot reviews run`)")
        elif args.reviews_command == "reject":
            workflow.reject(session, review, by, now)
            print(f"R{review.id}: no reply will be posted")
        elif args.reviews_command == "edit":
            text = args.text if args.text is not None else _read(args.file)
            reply = workflow.edit(session, review, text, by, now, checker_for(app))
            if reply.problems:
                print(f"R{review.id}: saved, but it cannot be posted yet:", file=sys.stderr)
                for problem in reply.problems:
                    print(f"  - {problem}", file=sys.stderr)
                return 1
            print(f"R{review.id}: saved; approve it with `mailbot reviews approve R{review.id}`")
        else:
            _show(session, review)
    return 0


def _read(path: Path) -> str:
    from mailbot.reviews.workflow import WorkflowError

    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowError(f"{path}: {getattr(exc, 'strerror', None) or exc}") from None


def _show(session: Any, review: StoreReviewRow) -> None:
    print(f"R{review.id}  {review.store} app {review.app}, review {safe_line(review.review_id)}")
    print(f"rating {review.rating}/5, language {review.language or 'not German or English'}")
    print(f"written {review.created_at:%Y-%m-%d %H:%M} UTC by {safe_line(review.author) or '?'}")
    if review.title:
        print(f"title: {safe_line(review.title)}")
    print(safe_text(review.body))
    print(f"decision: {review.action or 'not yet'} ({safe_line(review.reason)})")
    replies = session.scalars(
        select(ReviewReply).where(ReviewReply.review_pk == review.id).order_by(ReviewReply.id)
    )
    for reply in replies:
        who = f", by {safe_line(reply.decided_by)}" if reply.decided_by else (", auto" if reply.auto else "")
        print(f"\nreply {reply.id} ({reply.kind}, {reply.state}{who}):")
        print(safe_text(reply.text))
        for problem in reply.problems:
            print(f"  ! {problem}")
        if reply.last_error:
            print(f"  store: {safe_line(reply.last_error)}")
