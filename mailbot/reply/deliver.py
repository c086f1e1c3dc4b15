"""Deliver the outbox over SMTP (aiosmtplib): claim, send, mark sent; back off on 4xx, fail on 5xx.

At-least-once with a tiny window: if the process dies after the server accepted a mail but before
the row is marked sent, the lease runs out and the same bytes are sent again, unless the accepted
journal of an SQLite database (mailbot.reply.accepted_journal) says the server took them. Everything else is
exactly once, because a row is only ever sent by the worker that claimed it.

Rows go out over a small pool of connections (`[smtp] connections`, mailbot.reply.smtp_pool). Rows
are claimed when connections are free to take them, up to BATCH_PER_CONNECTION each, in one
statement, and sent one after the other on their connection; when a connection is done with its
rows, they are marked sent in one statement, in the transaction that claims the next ones (the
database works in a thread of its own meanwhile, so the other connections keep sending). A crash
therefore parks at most connections x BATCH_PER_CONNECTION rows until their lease runs out (bench/
torture.py once found 75 rows parked after two kills, when rows were claimed 50 at a time), and
widens the at-least-once window to the rest of a connection's batch (a few milliseconds). What goes
wrong with one row ends with that row (failed or deferred), never with the others; a broken
connection defers only the row it carried and is opened again for the next one; rows claimed for a
connection that cannot be had go back to the queue untouched, and a server that cannot be reached
ends the drain after one try. With one connection this is exactly the delivery of before: one row
claimed, sent and marked sent at a time. On SQLite, while the process stage holds the write lock for
its batches, a connection takes BUSY_BATCH_PER_CONNECTION rows per claim instead (delivery's
transaction runs about once per batch, `DeliveryGate`; more when the process stage claims for it); a
crash then parks up to that many per connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import aiosmtplib
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mailbot.addresses import UndeliverableAddress, envelope_address
from mailbot.clock import Clock
from mailbot.config import SmtpSettings, secret
from mailbot.db.claims import Claimant
from mailbot.db.schema import OutboxMail, OutboxState
from mailbot.errors import TransientError
from mailbot.reply import outbox_states
from mailbot.reply.accepted_journal import AcceptedJournal
from mailbot.reply.outbox_states import Accepted, Outgoing, backoff
from mailbot.reply.smtp_pool import Slot, SmtpConnector, SmtpPool, reset

__all__ = ["LEASE", "Deliverer", "DeliveryGate", "DeliveryReport", "backoff"]

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
BATCH_PER_CONNECTION = 4  # a crash parks at most connections x this many rows for their lease
# on SQLite while the process stage holds the write lock for its batches (the gate says it is busy):
# delivery gets the database about once per committed batch, so a claim must carry the connections
# until the next one (bench: 4 per connection sent ~40 replies/s while 140 mails/s were decided); more
# when the process stage claims for delivery (mailbot.reply.forked_gate.HANDED_BATCH_PER_CONNECTION)
BUSY_BATCH_PER_CONNECTION = 16
BREAKS_PER_DRAIN = 2  # a connection that broke this often in one drain is not opened again in it
# pauses before settling again when the database dropped the connection (a restart, a failover): the
# accepted rows stay in hand, so they are marked sent rather than sent again after their lease
SETTLE_RETRY_SECONDS = (0.5, 2.0, 5.0)


def busy_claim(batch: int) -> int:
    """Rows per connection for a claim while the process stage is busy, when delivery runs its own
    transactions: BUSY_BATCH_PER_CONNECTION; with one connection (`batch` 1) one row at a time as always."""
    return BUSY_BATCH_PER_CONNECTION if batch > 1 else batch


class DeliveryGate(Protocol):
    """Delivery's side of the process stage's commits (mailbot.reply.delivery_thread.CommitGate)."""

    def settle_and_claim(
        self, accepted: list[Accepted], limit: int, here: Callable[[], list[Outgoing]]
    ) -> list[Outgoing]:
        """Delivery's one transaction (mark `accepted` sent, claim up to `limit` rows): `here()` runs it
        in this process, at a moment that suits the process stage; or the process stage runs it."""
        ...

    def busy(self) -> bool:
        """The process stage is working through a backlog (it committed a moment ago)."""
        ...

    def busy_batch(self, batch: int) -> int:
        """Rows per connection for a claim while busy (`batch`: the number when it is not)."""
        ...


@dataclass
class DeliveryReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.deferred += other.deferred
        self.failed += other.failed
        self.errors.extend(other.errors)


class Deliverer:
    def __init__(
        self,
        settings: SmtpSettings,
        mailbox: str,
        sessions: sessionmaker[Session],
        clock: Clock,
        password: str | None = None,
        on_failed: Callable[[Session, OutboxMail], None] | None = None,
        claimant: Claimant | None = None,
    ) -> None:
        self.settings = settings
        self.mailbox = mailbox
        self.sessions = sessions
        self.clock = clock
        self.claimant = claimant or Claimant()  # a fleet worker names itself on the rows it claims
        password = password if password is not None else secret(settings, "smtp")
        self.connector = SmtpConnector(settings, password)
        # called in the transaction that marks a row failed for good (the worker tells the team)
        self.on_failed = on_failed
        # rows a connection takes per claim; with one connection one row at a time, as before the pool
        self.batch = 1 if settings.connections == 1 else BATCH_PER_CONNECTION
        # the process stage's commits as delivery sees them: set by the delivery thread or process
        self.gate: DeliveryGate | None = None
        self.journal = _journal_of(sessions)

    def pool(self) -> SmtpPool:
        return SmtpPool(self.connector, self.settings.connections)

    def deliver_due(self) -> DeliveryReport:
        """Send every due row now over a pool of its own, closed at the end; returns what happened."""
        return asyncio.run(self._drain_once())

    async def _drain_once(self) -> DeliveryReport:
        pool = self.pool()
        try:
            return await self.drain(pool)
        finally:
            await pool.close()

    def next_due(self) -> datetime | None:
        """When the next deferred row becomes due (for the worker's sleep)."""
        with self.sessions.begin() as session:
            return session.scalar(
                select(func.min(OutboxMail.next_attempt_at)).where(
                    OutboxMail.mailbox == self.mailbox, OutboxMail.state == OutboxState.PENDING
                )
            )

    async def drain(self, pool: SmtpPool, keep_going: Callable[[], bool] = lambda: True) -> DeliveryReport:
        """Send rows until none is due (rows queued meanwhile included) or no connection works.

        While no connection of the pool is open, one row goes first: a server that is down costs
        that one row a backoff and ends the drain, as it did before there was a pool, not one row
        per connection. `keep_going` returning False claims nothing more (the rows in flight end).
        """
        report = DeliveryReport()
        pool.begin_drain()
        breaks: dict[int, int] = {}
        in_flight: dict[asyncio.Task[list[Accepted]], Slot] = {}
        accepted: list[Accepted] = []
        try:
            while True:
                free = pool.free() if keep_going() else []
                probe = not pool.connected
                if probe:  # one row probes the server; one that failed ends the drain
                    free = [] if in_flight or pool.any_dead else free[:1]
                # the database works in a thread of its own meanwhile: the connections keep sending
                rows = await self._settle_and_claim_retrying(accepted, len(free), probe, report)
                accepted = []
                for number, slot in enumerate(free[: len(rows)]):
                    slot.busy = True
                    mine = rows[number :: len(free)]  # spread over the free connections
                    task = asyncio.create_task(self._send_batch(pool, slot, mine, report, breaks, keep_going))
                    in_flight[task] = slot
                if not in_flight:
                    return report
                done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    in_flight.pop(task).busy = False
                    accepted.extend(task.result())
        finally:
            for task in in_flight:  # only when interrupted: those rows wait for their lease
                task.cancel()

    def _batch_now(self, probe: bool) -> int:
        """Rows per connection for a claim, asked when delivery has the database: more while the process
        stage holds SQLite's write lock for its batches (the accepted journal then keeps the rows a crash
        leaves in hand from going out twice); one to probe a server not yet reached."""
        if probe:
            return 1
        if self.journal is None or self.gate is None or not self.gate.busy():
            return self.batch
        return self.gate.busy_batch(self.batch)

    async def _send_batch(
        self,
        pool: SmtpPool,
        slot: Slot,
        rows: list[Outgoing],
        report: DeliveryReport,
        breaks: dict[int, int],
        keep_going: Callable[[], bool],
    ) -> list[Accepted]:
        """One connection's rows, one after the other; rows it can no longer send (its connection
        cannot be had, the login was refused, or the worker stops) go back to the queue untouched, due
        at once: a fleet worker whose fence has ended its sessions sends none of the rows its peers may
        be taking over."""
        accepted: list[Accepted] = []
        for index, row in enumerate(rows):
            if slot.dead or pool.halted or not keep_going():
                left = [unsent.id for unsent in rows[index:]]
                outbox_states.release(self.sessions, left, self.claimant.current())
                break
            if (result := await self._send(pool, slot, row, report, breaks)) is not None:
                accepted.append(result)
        return accepted

    async def _settle_and_claim_retrying(
        self, accepted: list[Accepted], free: int, probe: bool, report: DeliveryReport
    ) -> list[Outgoing]:
        """`_settle_and_claim` in a thread of its own (the connections keep sending meanwhile), tried
        again when the database connection broke: a 250 already received must not be lost."""
        pauses = iter(SETTLE_RETRY_SECONDS)
        while True:
            try:
                return await asyncio.to_thread(self._settle_and_claim, accepted, free, probe, report)
            except OperationalError as exc:
                pause = next(pauses, None)
                if pause is None:
                    raise
                log.warning(
                    "outbox: the database did not answer (%s); %d sent rows are marked in %g s",
                    str(exc.orig or exc).splitlines()[0], len(accepted), pause,
                )  # fmt: skip
                await asyncio.sleep(pause)

    def _settle_and_claim(
        self, accepted: list[Accepted], free: int, probe: bool, report: DeliveryReport
    ) -> list[Outgoing]:
        """Mark what the server accepted as sent and claim rows for the `free` connections, in one
        transaction; it runs as soon as a send ends, so the window between a 250 and its row marked
        sent stays as short as it was."""
        if not accepted and free == 0:
            return []
        limit = free * self._batch_now(probe)

        def here() -> list[Outgoing]:
            return outbox_states.settle_and_claim(
                self.sessions, self.mailbox, accepted, self.clock(), LEASE, limit, self.claimant.current()
            )

        rows = here() if self.gate is None else self.gate.settle_and_claim(accepted, limit, here)
        for row in accepted:
            log.info("sent outbox #%s (%s) to %s", row.id, row.kind, row.recipient)
        if self.journal is not None:
            self.journal.forget(row.id for row in accepted)  # marked sent: never claimed again
        report.sent += len(accepted)
        return rows

    async def _send(
        self, pool: SmtpPool, slot: Slot, row: Outgoing, report: DeliveryReport, breaks: dict[int, int]
    ) -> Accepted | None:
        """Send one claimed row over the slot's connection. Whatever goes wrong with this row ends with
        this row (failed or deferred); a connection that cannot be had takes its slot out of the drain."""
        if self.journal is not None and self.journal.accepted(row.id):  # sent before a crash
            log.info("outbox #%s was accepted before the worker stopped: marked sent, not sent again", row.id)
            return Accepted(row.id, row.kind, row.recipient, "accepted before a restart (accepted journal)")
        try:
            envelope_from, envelope_to = envelope_address(row.mail_from), envelope_address(row.recipient)
        except UndeliverableAddress as exc:
            self._fail(row.id, f"{outbox_states.NOT_SENT}{exc}", report)
            return None
        try:
            client = await pool.client_of(slot)
        except TransientError as exc:  # no token, or the server refused a fresh one: all rows wait
            pool.halted = True
            self._interrupted(row.id, str(exc), report)
            return None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            slot.dead = True  # the rest stay due for the other connections or the next drain
            self._interrupted(row.id, f"SMTP {pool.connector.address}: {exc}", report)
            return None
        try:
            # the customer's original rides along unchanged in team notices and may be 8-bit
            eight_bit = not row.raw.isascii() and client.supports_extension("8bitmime")
            _errors, response = await client.sendmail(
                envelope_from, [envelope_to], row.raw, mail_options=["BODY=8BITMIME"] if eight_bit else None
            )
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError, OSError, TimeoutError) as exc:
            await self._broken(pool, slot, row.id, exc, report, breaks)
            return None
        except aiosmtplib.SMTPRecipientsRefused as exc:
            self._reply_code(row.id, exc.recipients[0].code, exc.recipients[0].message, report)
            return None
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code == 421:  # the server closes the connection
                await self._broken(pool, slot, row.id, exc, report, breaks)
                return None
            self._reply_code(row.id, exc.code, exc.message, report)
            if exc.code >= 400:
                await reset(client)
            return None
        except Exception as exc:  # a bug or a mail the library cannot send: this row only, for good
            log.exception("outbox #%s could not be sent", row.id)
            self._fail(row.id, f"{outbox_states.NOT_SENT}{type(exc).__name__}: {exc}", report)
            await reset(client)
            return None
        if self.journal is not None:
            self.journal.record(row.id)
        return Accepted(row.id, row.kind, row.recipient, response)

    async def _broken(
        self,
        pool: SmtpPool,
        slot: Slot,
        row_id: int,
        exc: Exception,
        report: DeliveryReport,
        breaks: dict[int, int],
    ) -> None:
        """The connection is gone mid-row: that row waits for its next attempt, the slot reconnects for
        the next row (unless it keeps breaking)."""
        await pool.drop(slot)
        breaks[slot.number] = breaks.get(slot.number, 0) + 1
        if breaks[slot.number] >= BREAKS_PER_DRAIN:
            slot.dead = True
        self._interrupted(row_id, f"SMTP {pool.connector.address}: {exc}", report)

    def _interrupted(self, row_id: int, message: str, report: DeliveryReport) -> None:
        log.warning("delivery interrupted: %s", message)
        report.errors.append(message)
        self._defer(row_id, message, report)

    def _reply_code(self, row_id: int, code: int, message: str, report: DeliveryReport) -> None:
        text = f"{code} {message}"
        if 500 <= code < 600:
            self._fail(row_id, text, report)
        else:
            self._defer(row_id, text, report)

    def _fail(self, row_id: int, error: str, report: DeliveryReport) -> None:
        """For good: the row is failed with its reason, and the team is told (`on_failed`)."""
        if not outbox_states.mark_failed(
            self.sessions, row_id, error, self.on_failed, claimant=self.claimant.current()
        ):
            log.warning("outbox #%s: its failure is not recorded, another worker has taken it over", row_id)
            return
        log.error("outbox #%s failed for good: %s", row_id, error)
        report.failed += 1

    def _defer(self, row_id: int, error: str, report: DeliveryReport) -> None:
        if not outbox_states.mark_deferred(
            self.sessions, row_id, error, self.clock(), claimant=self.claimant.current()
        ):
            log.warning("outbox #%s: not deferred here, another worker has taken it over", row_id)
            return
        report.deferred += 1


def _journal_of(sessions: sessionmaker[Session]) -> AcceptedJournal | None:
    """The accepted journal of an SQLite database (mailbot.reply.accepted_journal), cut down at start."""
    engine = sessions.kw.get("bind")
    if engine is None:
        return None
    journal = AcceptedJournal.beside(engine.url.render_as_string(hide_password=False))
    if journal is not None and journal.grown():  # the query only when there is something to cut
        with sessions() as session:
            journal.compact(outbox_states.still_sending(session))
    return journal
