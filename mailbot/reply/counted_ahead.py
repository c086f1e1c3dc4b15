"""A batch's per-address counts of automatic mail read together, then kept up in memory (issue 13).

Every decision asks how much automatic mail went to the address a reply would go to, and how much
mail from the sender caused (the daily limits, `rules.sender_limit`): one query per mail, on
PostgreSQL one round trip each (1,010 for 1,000 mails in a fleet worker's burst, bench/README.md,
session 27). While a batch is decided in one transaction (`pipeline.process._decide_together`), the
counts for every address its mails could ask about are read in one statement at its start, and
every outbox row to a customer the batch queues after that adds itself to them
(`note_outbox_row`, called where such rows are made: `reply.outbox`). A mail then reads its two
counts from memory: the batch's own rows included, whether written or still waiting for the batch's
INSERT (`reply.pending_outbox`), as the query per mail saw them.

What the counts may differ in, and why that is safe:
- "the last 24 h" starts at the batch's first moment, not at each mail's: a row that ages out while
  the batch runs still counts, which can only hold back a reply, never allow one more.
- another worker's commit while the batch runs is not seen, as a row another worker has not
  committed yet never was: the limit was per transaction before too.
- an address the batch was not asked about (none of its mails' From or Reply-To), a row whose cause
  is not loaded, or a row of another mailbox: the counts are read from the database again, as
  before (`counted` returns None).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, literal_column, select, union_all
from sqlalchemy.orm import Session

from mailbot.db.chunks import ID_CHUNK
from mailbot.db.reads import read_rows
from mailbot.db.schema import InboundMail, OutboxMail

_KEY = "mailbot.counted_ahead"  # session.info, while a batch is decided
_TO, _BECAUSE_OF = "to", "because_of"


@dataclass
class _Counts:
    mailbox: str
    since: datetime
    to_keys: frozenset[str]
    from_keys: frozenset[str]
    to: Counter[str] = field(default_factory=Counter)  # recipient key -> mails to it
    because_of: Counter[str] = field(default_factory=Counter)  # sender key -> mails its mail caused
    causes: list[int] = field(default_factory=list)  # inbound ids of the batch's rows not counted yet
    blind: bool = False  # a row of the batch could not be counted: the database answers from then on


@contextmanager
def counts_ahead(
    session: Session, mailbox: str, to_keys: Collection[str], from_keys: Collection[str], since: datetime
) -> Iterator[None]:
    """While the block runs, `counted` answers for these recipient and sender keys from counts read
    now (mail to a customer since `since`) and kept up by `note_outbox_row`."""
    counts = _Counts(mailbox, since, frozenset(to_keys), frozenset(from_keys))
    _read(session, counts)
    session.info[_KEY] = counts
    try:
        yield
    finally:
        session.info.pop(_KEY, None)


def counted(session: Session, mailbox: str, to_key: str, from_key: str | None) -> tuple[int, int] | None:
    """(mail to `to_key`, mail that `from_key`'s mail caused; 0 for None) from the batch's counts, or
    None when they cannot say (outside a batch, another mailbox, an address not read ahead, a row
    not counted)."""
    counts: _Counts | None = session.info.get(_KEY)
    if counts is None or counts.mailbox != mailbox or to_key not in counts.to_keys:
        return None
    if from_key is not None and from_key not in counts.from_keys:
        return None
    _count_causes(session, counts)
    if counts.blind:
        return None
    return counts.to[to_key], counts.because_of[from_key] if from_key is not None else 0


def note_outbox_row(session: Session, row: OutboxMail) -> None:
    """A new outbox row in `session` (written now or waiting for the batch's INSERT): a mail to a
    customer adds itself to the batch's counts."""
    counts: _Counts | None = session.info.get(_KEY)
    if counts is None or not row.to_customer:
        return
    if row.mailbox != counts.mailbox:
        counts.blind = True
        return
    if row.recipient_key is not None:
        counts.to[row.recipient_key] += 1
    if row.inbound_id is not None:
        counts.causes.append(row.inbound_id)


def _count_causes(session: Session, counts: _Counts) -> None:
    """Add the batch's rows to their causing mails' senders. Not when a row is queued: its mail's
    sender is filled in when its decision ends (pipeline.process), and the next mail's count is the
    first that must see it. A cause the session does not hold makes the counts blind."""
    for inbound_id in counts.causes:
        cause = session.identity_map.get((InboundMail, (inbound_id,), None))  # see pending_outbox._known
        if cause is None or "from_key" not in cause.__dict__:
            counts.blind = True
        elif cause.__dict__["from_key"] is not None:
            counts.because_of[cause.__dict__["from_key"]] += 1
    counts.causes.clear()


def _read(session: Session, counts: _Counts) -> None:
    """Both counts for all keys in one statement (per chunk of keys: one for any batch of 64 mails)."""
    to_keys, from_keys = sorted(counts.to_keys), sorted(counts.from_keys)
    for start in range(0, max(len(to_keys), len(from_keys)), ID_CHUNK):
        params = {
            "mailbox": counts.mailbox,
            "since": counts.since,
            "to_keys": to_keys[start : start + ID_CHUNK],
            "from_keys": from_keys[start : start + ID_CHUNK],
        }
        for kind, key, number in read_rows(session, _BOTH, params):
            (counts.to if kind == _TO else counts.because_of)[key] += number


def mail_to(columns: Sequence[Any], key: ColumnElement[bool]) -> Select[Any]:
    """`columns` of the mail the limits count as sent to an address (`key` picks it): to a customer,
    from the mailbox, since `since`. The one definition of that count, per mail (pipeline.rule_context)
    and per batch (here), so the two never differ."""
    return (
        select(*columns)
        .select_from(OutboxMail)
        .where(
            OutboxMail.mailbox == bindparam("mailbox"),
            key,
            OutboxMail.created_at >= bindparam("since"),
            OutboxMail.to_customer.is_(True),
        )
    )


def mail_because_of(columns: Sequence[Any], key: ColumnElement[bool]) -> Select[Any]:
    """`columns` of the mail to customers that mail from a sender (`key` picks it) caused since
    `since`: the sender's mails by their key, then their outbox rows by `inbound_id` (the outbox row of
    a mail is in the mail's mailbox; naming the outbox's mailbox too would lead SQLite to read all of
    it first). As `mail_to`, for both counts."""
    return (
        select(*columns)
        .select_from(InboundMail)
        .join(OutboxMail, OutboxMail.inbound_id == InboundMail.id)
        .where(
            InboundMail.mailbox == bindparam("mailbox"),
            key,
            OutboxMail.to_customer.is_(True),
            OutboxMail.created_at >= bindparam("since"),
        )
    )


# grouped by key; built once (issue 13: building a statement costs more than running it)
_BOTH = union_all(
    mail_to(
        (literal_column(f"'{_TO}'"), OutboxMail.recipient_key, func.count()),
        OutboxMail.recipient_key.in_(bindparam("to_keys", expanding=True)),
    ).group_by(OutboxMail.recipient_key),
    mail_because_of(
        (literal_column(f"'{_BECAUSE_OF}'"), InboundMail.from_key, func.count()),
        InboundMail.from_key.in_(bindparam("from_keys", expanding=True)),
    ).group_by(InboundMail.from_key),
)
