"""The process stage: claim a stored mail, parse, apply the rules, classify, decide, write the effects.

The decision, its scores and all of its effects (ticket, events, outbox rows) are written in the same
transaction as the state change, so a crash leaves either nothing or everything. An unexpected error
counts an attempt; after `max_attempts` the mail is quarantined with the error as its reason.

While the business calendar is closed, `process_pending(app, outside_hours)` makes the same decisions
but lets only those take effect that mailbot.pipeline.deferral allows; any other mail goes back to
waiting in the same transaction with no attempt counted (only its sender, subject and language are
filled in, and when it may next be looked at), so it is decided exactly once at the opening; a crash
in between leaves it claimable after its lease, as always.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.attributes import set_committed_value

from mailbot.app import App
from mailbot.db.claims import claim_inbound_batch, held, release_inbound
from mailbot.db.engine import begin_write
from mailbot.db.schema import InboundMail, InboundState, Outcome
from mailbot.db.write_now import update_now
from mailbot.domain import Action, ParsedMail
from mailbot.logredact import headline
from mailbot.pipeline import bounces
from mailbot.pipeline.deciding import decide_mail, decision_record
from mailbot.pipeline.deferral import OutsideHours, decide_now
from mailbot.pipeline.effects import apply_decision
from mailbot.pipeline.helpers import Helpers
from mailbot.pipeline.logline import decision_line
from mailbot.pipeline.prepare import Prepared, Stored, parse_batch, prepare_batch, severity_for
from mailbot.pipeline.prepare_pool import PreparePool
from mailbot.pipeline.rule_context import COUNT_WINDOW, batch_keys, in_our_outbox
from mailbot.reply.compose_here import BatchComposer, ComposeHere
from mailbot.reply.counted_ahead import counts_ahead
from mailbot.reply.outbox import Composer
from mailbot.reply.pending_outbox import waiting_in
from mailbot.stack_chunk import call_at_fresh_chunk
from mailbot.tickets.agent_mail import refuse_agent_mail
from mailbot.tickets.drawn_ahead import references_drawn_ahead
from mailbot.tickets.events_waiting import events_waiting

log = logging.getLogger(__name__)

OUTCOMES = {
    Action.ANSWER: Outcome.ANSWERED,
    Action.ESCALATE: Outcome.ESCALATED,
    Action.FOLLOW_UP: Outcome.FOLLOW_UP,
    Action.IGNORE: Outcome.IGNORED,
    Action.AGENT_ANSWER: Outcome.AGENT_ANSWER,
}


@dataclass
class ProcessReport:
    """What a pass did, in counts: a pass over a backlog of any size keeps a few numbers, never one
    entry per mail (each mail's outcome and reason are in its row and the log)."""

    decided: int = 0
    by_outcome: Counter[str] = field(default_factory=Counter)  # outcome -> mails decided so
    failures: int = 0
    waiting: int = 0  # looked at outside business hours and left for the opening

    def count_decided(self, outcome: str) -> None:
        self.decided += 1
        self.by_outcome[str(outcome)] += 1

    def add(self, other: ProcessReport) -> None:
        self.decided += other.decided
        self.by_outcome.update(other.by_outcome)
        self.failures += other.failures
        self.waiting += other.waiting


# Mails claimed, prepared and committed together (see prepare.py for why). 64, not 32 as from session 6
# to 20: each batch's claim, model calls, collection of its outgoing mail and commit are fixed costs; at
# 10k, runs alternated with 32 were faster in both of two rounds (255 / 239, 217 / 194 mails/s), and 128
# left delivery ~20 s behind the last decision (bench/README.md, session 21).
BATCH_SIZE = 64

# While the parsing process reads its models (~2 s), the worker parses up to this many batches ahead
# itself; each stays claimed (leased) until it is decided, as the one batch ahead always is.
PARSED_AHEAD = 16


def parsed_by_the_worker(backlog: int) -> bool:
    """Whether a backlog of this many new mails fits in what the worker parses ahead while the
    parsing process reads its models: then the worker parses it all, and that process only guesses
    (it reads no language detector, and its models are ready ~0.5 s sooner; bench/README.md)."""
    return backlog <= PARSED_AHEAD * BATCH_SIZE


def process_pending(
    app: App,
    outside_hours: OutsideHours | None = None,
    on_commit: Callable[[], None] | None = None,
    *,
    second_process: bool = False,
    helpers: Helpers | None = None,
    keep_going: Callable[[], bool] = lambda: True,
) -> ProcessReport:
    """Work through every claimable mail once, oldest first, a batch at a time.

    The mails of a batch are decided in one transaction; one that fails has its batch decided again a
    mail at a time (`_process_batch`).
    `outside_hours` (the business calendar is closed): only what it allows is decided now; the rest is
    left waiting, and mail left waiting before is not looked at again until its opening. `on_commit`
    is called after each batch's decisions are committed (the deliverer starts on their mail).
    `second_process`: a backlog is parsed and classified in a forked process one batch ahead
    (mailbot.pipeline.prepare_pool; while that process still reads its models, the worker parses up to
    `PARSED_AHEAD` batches itself and leaves it only the guesses), and its outgoing mail composed in
    another beside deciding (mailbot.reply.compose_pool); only for a caller that runs no other thread
    (`run --once`).
    `helpers`: those two processes, started by the caller (who ends them), used from the first batch.
    `keep_going` returning False (the worker stops, or its fleet no longer sees it alive) claims
    nothing more and gives back the batches claimed ahead; the batch being decided ends first.
    """
    report = ProcessReport()
    tried: set[int] = set()  # looked at in this pass and left undecided (failed, or waiting)
    lease = timedelta(seconds=app.settings.limits.lease_seconds)
    started = helpers or Helpers(None, None)
    pool, composer = started.preparer, started.composer

    def claim() -> _Batch | None:
        if not keep_going():
            return None
        now = app.clock()
        with app.sessions.begin() as session:
            row_ids = claim_inbound_batch(
                session,
                app.mailbox,
                now,
                lease,
                BATCH_SIZE,
                tried,
                outside_hours=outside_hours is not None,
                claimant=app.claimant.current(),
            )
        if not row_ids:
            return None
        stored = _read_stored(app, row_ids)
        return _Batch(row_ids, stored, _hand_over(app, pool, stored), now + lease)

    batch = claim()
    mine = helpers is None and second_process and batch is not None and len(batch.row_ids) == BATCH_SIZE
    if mine and batch is not None:  # a backlog
        started = Helpers.start(app)
        pool, composer = started.preparer, started.composer
        if pool is not None:
            batch = _Batch(
                batch.row_ids, batch.stored, _hand_over(app, pool, batch.stored), batch.lease_until
            )
    waiting: deque[_Batch] = deque([batch] if batch is not None else [])
    try:
        while waiting:
            if not keep_going():
                _give_back(app, waiting)
                break
            batch = waiting.popleft()
            # a whole batch is fresh mail (suspects come alone): the next one is claimed now, for the
            # second process to prepare while this one is decided; never ahead of a suspect. While that
            # process still reads its models, the worker, which would only wait, claims and parses more.
            ahead = pool is not None and len(batch.row_ids) == BATCH_SIZE
            while ahead and pool is not None and _claims_more(pool, waiting):
                following = claim()
                if following is None:
                    break
                waiting.append(following)
            prepared = (
                pool.result(app, batch.stored, batch.preparing)
                if pool
                else call_at_fresh_chunk(prepare_batch, app, batch.stored)
            )
            # at a fresh frame-stack chunk: CPython maps and unmaps one on every call at a chunk's edge
            undecided = call_at_fresh_chunk(
                _process_batch, app, batch, prepared, outside_hours, report, composer
            )
            # decided mail is claimable no more; what failed or waits is not looked at again in this pass
            tried.update(undecided)
            if on_commit is not None:
                on_commit()
            if not ahead and (following := claim()) is not None:
                waiting.append(following)
    finally:
        if mine:
            started.close()
    return report


def _claims_more(pool: PreparePool, waiting: deque[_Batch]) -> bool:
    """Whether to claim another batch before deciding the next: one waits always (the second process
    prepares it meanwhile); more while that process reads its models, as long as each was whole."""
    if not waiting:
        return True
    whole = len(waiting[-1].row_ids) == BATCH_SIZE
    return whole and pool.loading and len(waiting) < PARSED_AHEAD


def _hand_over(
    app: App, pool: PreparePool | None, stored: list[Stored]
) -> Future[dict[int, Prepared]] | None:
    """The batch's preparation under way in the second process; the worker parses it first when that
    process still reads its models (the worker would only wait for them) or only guesses (a backlog
    the worker parses alone, `parsed_by_the_worker`), so that only the guesses are left to it."""
    if pool is None:
        return None
    if pool.parses:
        return pool.submit(stored)
    return pool.submit_parsed(call_at_fresh_chunk(parse_batch, app, stored))


@dataclass(frozen=True)
class _Batch:
    row_ids: list[int]
    stored: list[Stored]
    preparing: Future[dict[int, Prepared]] | None  # in the second process, when there is one
    lease_until: datetime  # what the claim wrote: its token (mailbot.db.claims.held)


def _give_back(app: App, waiting: deque[_Batch]) -> None:
    """The batches claimed ahead and not decided, waiting again for whichever worker is next."""
    with app.sessions.begin() as session:
        given = sum(release_inbound(session, batch.row_ids, batch.lease_until) for batch in waiting)
    waiting.clear()
    if given:
        log.info("%d claimed mails not decided here are waiting again", given)


def _read_stored(app: App, row_ids: list[int]) -> list[Stored]:
    """The claimed mails' bytes, read without holding the write lock."""
    with app.sessions() as session:
        found = session.execute(
            select(InboundMail.id, InboundMail.raw, InboundMail.size).where(InboundMail.id.in_(row_ids))
        )
        return [Stored(*row) for row in found]


def _process_batch(
    app: App,
    batch: _Batch,
    prepared: dict[int, Prepared],
    outside_hours: OutsideHours | None,
    report: ProcessReport,
    composer: BatchComposer | None = None,
) -> list[int]:
    """Decide a batch in one transaction; return the ids left undecided (failed, or waiting for the
    opening). Should any mail of it fail, or the commit, the whole batch is rolled back and its mails
    are decided again a mail at a time, each in a transaction of its own: the one that failed is
    counted a failed attempt, the others are decided as if alone, so no mail's fault is counted
    against the others. (A mail that kills its worker is claimed alone the next time:
    db.claims.claim_inbound_batch.) `composer`: the batch's outgoing mail is composed beside it (without
    one, in this thread: either way its rows are written in one INSERT before the commit); never for a
    mail decided alone, whose fault must be its own. A mail whose claim another worker has taken over
    meanwhile is left to it (`_decide_batch`) and counted as undecided here."""
    row_ids = batch.row_ids
    if composer is None or not composer.running:
        composer = ComposeHere(app.renderer)
    try:
        decided, failed = _decide_batch(
            app, batch, prepared, outside_hours, composer if len(row_ids) > 1 else None
        )
    except Exception as exc:
        if len(row_ids) > 1:
            # the decision lines logged for this batch so far did not take effect: say so
            log.warning(
                "a batch of %d mails could not be committed (%s); its decisions are rolled back and its "
                "mails decided again one at a time",
                len(row_ids),
                exc if isinstance(exc, _MailFailed) else f"{type(exc).__name__}: {exc}",
            )
            alone = (
                _process_batch(app, _alone(batch, item), prepared, outside_hours, report)
                for item in batch.stored
            )
            return [row_id for left in alone for row_id in left]
        log.exception("processing inbound #%s failed", row_ids[0])
        decided, failed = [], [(row_ids[0], exc)]
    for row_id, error in failed:
        _record_failure(app, row_id, error, batch.lease_until)
        report.failures += 1
    left = [row_id for row_id, _ in failed]
    accounted = {row_id for row_id, _ in decided} | set(left)
    left += [row_id for row_id in row_ids if row_id not in accounted]  # taken over by another worker
    for row_id, outcome in decided:
        if outcome is None:
            report.waiting += 1
            left.append(row_id)
        else:
            report.count_decided(outcome[0])
    return left


Decided = tuple[int, tuple[str, str] | None]


class _MailFailed(Exception):
    """A mail of a batch failed: the batch is rolled back and decided again a mail at a time, where
    the failure is logged with its traceback and counted against that mail alone."""

    def __init__(self, row_id: int, cause: Exception) -> None:
        super().__init__(f"inbound #{row_id} failed: {type(cause).__name__}")


def _alone(batch: _Batch, item: Stored) -> _Batch:
    return _Batch([item.row_id], [item], None, batch.lease_until)


def _decide_batch(
    app: App,
    batch: _Batch,
    prepared: dict[int, Prepared],
    outside_hours: OutsideHours | None,
    composer: BatchComposer | None = None,
) -> tuple[list[Decided], list[tuple[int, Exception]]]:
    decided: list[Decided] = []
    failed: list[tuple[int, Exception]] = []
    with app.sessions.begin() as session:
        begin_write(session)  # the savepoints below nest in the batch's transaction
        # still this claim's, locked until the commit (SQLite: BEGIN IMMEDIATE holds the write lock): a
        # takeover cannot free them meanwhile, and what was taken over before is left to its new holder
        rows = session.scalars(
            select(InboundMail)
            .options(defer(InboundMail.raw))  # read above already
            .where(InboundMail.id.in_(batch.row_ids), held(InboundMail, batch.lease_until))
            .order_by(InboundMail.received_at, InboundMail.id)
            .with_for_update()
        ).all()
        if len(rows) < len(batch.row_ids):
            lost = sorted(set(batch.row_ids) - {row.id for row in rows})
            log.warning(
                "inbound %s: no longer claimed by this worker (the fleet took it over, or its lease "
                "ran out); left to whoever holds it now",
                ", ".join(f"#{row_id}" for row_id in lost),
            )
        raws = {item.row_id: item.raw for item in batch.stored}
        for row in rows:  # as loaded, not a change: bounces and team notices read it without a query
            set_committed_value(row, "raw", raws[row.id])
        mails = [item.mail for item in prepared.values() if item.mail is not None]
        in_outbox = in_our_outbox(session, app, (mail.message_id for mail in mails))
        if len(rows) > 1:  # no savepoint per mail: a failure rolls the batch back (`_process_batch`)
            return _decide_together(session, app, rows, prepared, outside_hours, in_outbox, composer), []
        for row in rows:  # a mail decided alone (never composed beside): its failure is recorded here
            try:
                with session.begin_nested():
                    outcome = process_one(session, app, row, prepared[row.id], outside_hours, in_outbox)
                    update_now(session, row)  # its outcome, without the unit of work's flush (issue 13)
            except Exception as exc:
                log.exception("processing inbound #%s failed", row.id)
                failed.append((row.id, exc))
            else:
                decided.append((row.id, outcome))
    return decided, failed


def _decide_together(
    session: Session,
    app: App,
    rows: Sequence[InboundMail],
    prepared: dict[int, Prepared],
    outside_hours: OutsideHours | None,
    in_outbox: frozenset[str],
    composer: BatchComposer | None,
) -> list[Decided]:
    """Every mail of the batch in the batch's transaction, without a savepoint each (two statements and
    ~0.2-0.3 ms of the worker's CPU per mail, issue 13: `bench/deciding_cpu.py`), then its outbox rows
    with their bytes from the compose child, in one INSERT before the commit; raises _MailFailed at the
    first mail that fails, after which the caller's transaction rolls back."""
    decided: list[Decided] = []
    mark = composer.mark() if composer is not None else 0
    to_keys, from_keys = batch_keys(p.mail for p in prepared.values() if p.mail is not None)
    try:
        # the outbox's readers see the rows not written yet; new tickets' numbers are checked together
        with (
            waiting_in(session, composer),
            references_drawn_ahead(session, len(rows)),
            events_waiting(session),  # the batch's ticket events in one INSERT at its end
            # the per-address limits' counts for all its mails in one query
            counts_ahead(session, app.mailbox, to_keys, from_keys, app.clock() - COUNT_WINDOW),
        ):
            for row in rows:
                outcome = _decide_in_batch(session, app, row, prepared, outside_hours, in_outbox, composer)
                decided.append((row.id, outcome))
    except _MailFailed:
        if composer is not None:
            composer.forget_from(mark)  # the batch's rows are rolled back: their bytes are not wanted
        raise
    if composer is not None:
        composer.collect(session)  # the rows with their bytes, before the commit (raises: nothing is)
    return decided


def _decide_in_batch(
    session: Session,
    app: App,
    row: InboundMail,
    prepared: dict[int, Prepared],
    outside_hours: OutsideHours | None,
    in_outbox: frozenset[str],
    composer: BatchComposer | None = None,
) -> tuple[str, str] | None:
    """One mail of `_decide_together`'s batch; raises _MailFailed."""
    try:
        outcome = process_one(
            session, app, row, prepared[row.id], outside_hours, in_outbox, composer=composer
        )
        update_now(session, row)  # its outcome, without the unit of work's flush (issue 13)
        # what the decision changed on rows it had loaded (an incident's parent), written now, as a
        # savepoint's end wrote it: the next mail's reads (db.reads) see only what is written
        session.flush()
    except Exception as exc:
        raise _MailFailed(row.id, exc) from exc
    return outcome


def process_one(
    session: Session,
    app: App,
    row: InboundMail,
    prepared: Prepared,
    outside_hours: OutsideHours | None = None,
    in_outbox: frozenset[str] | None = None,
    *,
    composer: Composer | None = None,
) -> tuple[str, str] | None:
    """Decide one claimed mail in the caller's transaction; return (outcome, a one-line summary), or
    None when the decision may not take effect outside business hours and the mail waits for the
    opening. `in_outbox`: see rule_context; `composer`: see outbox.enqueue."""
    now = app.clock()
    if row.attempts > app.settings.limits.max_attempts:
        reason = f"gave up after {row.attempts - 1} failed attempts; last error: {row.last_error}"
        return _quarantine(row, reason, now)
    mail = prepared.mail
    if mail is None:
        verdict = decide_now(None, None, outside_hours) if outside_hours is not None else None
        if verdict is not None and not verdict.now:
            return _leave_waiting(app, row, verdict.reason, now)
        return _quarantine(row, prepared.unparsable or "the mail could not be parsed", now)
    decision = decide_mail(session, app, row, prepared, now, in_outbox)
    if outside_hours is not None:
        severity = severity_for(app, prepared, mail) if decision.action is Action.ESCALATE else None
        verdict = decide_now(decision.action, severity.severity if severity else None, outside_hours)
        if not verdict.now:
            _fill_in(row, mail)
            return _leave_waiting(app, row, verdict.reason, now)
        log.info("inbound #%s decided outside business hours: %s", row.id, verdict.reason)
    if decision.action is Action.REFUSE:
        refuse_agent_mail(session, app, row, mail, decision.reason, decision.ticket_id, now)
        _fill_in(row, mail)
        return _quarantine(row, decision.reason, now)
    ticket_reference = apply_decision(session, app, row, mail, decision, now, prepared, composer)
    if any(hit.name == bounces.RULE_NAME for hit in decision.rule_hits):
        ticket_reference = bounces.record_bounce(session, app, row, mail, decision.rule_hits, now)
    _fill_in(row, mail)
    row.state = InboundState.DONE
    row.outcome = OUTCOMES[decision.action]
    row.reason = decision.reason
    row.decision = decision_record(decision)
    row.processed_at = now
    row.lease_until = None
    summary = decision.article_id or ticket_reference or decision.reason
    log.info("%s", decision_line(row.id, mail.from_addr, row.outcome, ticket_reference, decision))
    return row.outcome, summary


def _fill_in(row: InboundMail, mail: ParsedMail) -> None:
    """Sender, subject and language on the row, set last beside the outcome: set before the decision,
    the first query of the rules flushed them, one more UPDATE per mail (issue 13). Nothing the decision
    or its effects query reads them from the row of the mail being decided."""
    row.from_addr, row.subject, row.language = mail.from_addr[:320], mail.subject, mail.language.value


def _leave_waiting(app: App, row: InboundMail, reason: str, now: datetime) -> None:
    """Back to waiting as it was, in the caller's transaction; looking at it was no attempt."""
    row.state = InboundState.RECEIVED
    row.lease_until = None
    row.attempts -= 1
    row.deferred_until = app.calendar.next_opening(now)
    log.info("inbound #%s waits for the opening: %s", row.id, reason)


def _quarantine(row: InboundMail, reason: str, now: datetime) -> tuple[str, str]:
    row.state = InboundState.QUARANTINED
    row.outcome = Outcome.QUARANTINED
    row.reason = reason
    row.processed_at = now
    row.lease_until = None
    # the reason may quote the mail (a parser's message about a header, the last error): its head only,
    # the whole of it in `mailbot quarantine show` and at DEBUG
    log.warning("inbound #%s quarantined: %s", row.id, headline(reason))
    log.debug("inbound #%s quarantined: %s", row.id, reason)
    return Outcome.QUARANTINED.value, reason


def _record_failure(app: App, row_id: int, exc: Exception, lease_until: datetime) -> None:
    """Count the failed attempt, unless another worker has taken the mail over meanwhile (and may
    have decided it): its state is then not this worker's to change."""
    with app.sessions.begin() as session:
        row = session.scalar(
            select(InboundMail)
            .where(InboundMail.id == row_id, held(InboundMail, lease_until))
            .with_for_update()
        )
        if row is None:
            log.warning("inbound #%s: its failure is not counted, another worker has taken it over", row_id)
            return
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= app.settings.limits.max_attempts:
            _quarantine(row, f"failed {row.attempts} times; last error: {row.last_error}", app.clock())
        else:
            row.state = InboundState.RECEIVED
            row.lease_until = None
