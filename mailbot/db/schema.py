"""The database schema: every row belongs to a mailbox, unique keys do the de-duplication.

States are plain strings (see the *State classes) so that reports and `mailbot status` can group by them
without a join, and so that PostgreSQL and SQLite store them the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates

from mailbot.rules.base import address_key

ADDRESS_KEY_CHARS = 640  # a 320-character address whose domain grows to its A-labels (at most 253)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def clean_text(value: str, length: int | None = None) -> str:
    """Text as every database stores it: no NUL (PostgreSQL refuses it), no lone surrogates (not
    UTF-8), at most `length` characters. Mail is hostile input; one odd character must not stop a
    batch (issue 11: a 998+ character Message-ID stopped every later mail on PostgreSQL)."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if not value.isascii():
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value[:length] if length is not None else value


class MailString(TypeDecorator[str]):
    """A bounded string filled from mail: cleaned and cut to its length before it is stored."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else clean_text(value, self.impl.length)  # type: ignore[attr-defined]


class MailText(TypeDecorator[str]):
    """Unbounded text filled from mail (subjects, reasons, notes): cleaned before it is stored."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else clean_text(value)


class MailJSON(TypeDecorator[Any]):
    """JSON holding text from mail (decision records, reasons, job payloads): every string cleaned."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return _clean_json(value)


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(key)): _clean_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_json(item) for item in value]
    return value


class InboundState(StrEnum):
    RECEIVED = "received"  # stored, waiting to be processed
    PROCESSING = "processing"  # claimed by a worker (lease_until says until when)
    DONE = "done"  # decided; `outcome` says how
    QUARANTINED = "quarantined"  # kept for a human; `reason` says why


class Outcome(StrEnum):
    ANSWERED = "answered"
    ESCALATED = "escalated"
    FOLLOW_UP = "follow_up"
    IGNORED = "ignored"
    QUARANTINED = "quarantined"
    AGENT_ANSWER = "agent_answer"  # a team member's answer by mail (tickets.agent_mail)


class OutboxState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


NAMING = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class Base(DeclarativeBase):
    metadata = NAMING


class InstallationSecret(Base):
    """Secrets mailbot makes for itself (the Message-ID signing key), per mailbox, made once."""

    __tablename__ = "installation_secrets"
    mailbox: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class Watermark(Base):
    """The highest UID taken from an IMAP folder under one UIDVALIDITY."""

    __tablename__ = "watermarks"
    mailbox: Mapped[str] = mapped_column(String(40), primary_key=True)
    folder: Mapped[str] = mapped_column(String(300), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)


class MailboxWatch(Base):
    """Which fleet worker watches a client's mailbox now (`mailbot run --fleet`, mailbot.scaleout):
    written by the watch session when it starts, so `mailbot status` can say who holds what. Who may
    watch is decided by the job engine's lock, never by this row."""

    __tablename__ = "mailbox_watch"
    mailbox: Mapped[str] = mapped_column(String(40), primary_key=True)
    worker: Mapped[str] = mapped_column(String(300))  # host:pid
    engine_worker_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # its heartbeat row
    since: Mapped[datetime] = mapped_column(UTCDateTime)


class MeasureRow(Base):
    """A measure a report recommended (mailbot.reports.measures), kept so that the next report says
    what became of it; agents close it (`mailbot measures close`)."""

    __tablename__ = "measures"
    __table_args__ = (UniqueConstraint("mailbox", "key", "period"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(300))  # "<code>:<subject>"
    code: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(250))
    period: Mapped[str] = mapped_column(String(40))  # the report's period label that recommended it
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    figure: Mapped[str] = mapped_column(String(80))
    value: Mapped[float] = mapped_column(Float)
    line: Mapped[float] = mapped_column(Float)
    n: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open, done, dropped
    note: Mapped[str] = mapped_column(MailText, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LearnedExample(Base):
    """An agent's decision on a training example offered by `mailbot kb learn` (accepted: written into
    the knowledge base; rejected: never offered again). One row per client and candidate, so a candidate
    is offered once."""

    __tablename__ = "learned_examples"
    __table_args__ = (UniqueConstraint("mailbox", "candidate"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(40))
    candidate: Mapped[str] = mapped_column(String(40))  # "t<ticket id>" (article), "s<ticket id>" (severity)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    decision: Mapped[str] = mapped_column(String(20))  # accepted, rejected
    target: Mapped[str] = mapped_column(String(200), default="")  # article id or severity class
    path: Mapped[str] = mapped_column(MailText, default="")  # the file the example went into
    text: Mapped[str] = mapped_column(MailText, default="")  # the example as written (masked)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Erasure(Base):
    """An erasure done on a person's request (`mailbot privacy erase`): when, by whom, how many rows;
    never the address itself (mailbot.privacy.erase)."""

    __tablename__ = "erasures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(200))
    counts: Mapped[dict[str, int]] = mapped_column(MailJSON)


class FolderDeletion(Base):
    """A copy on the mail server (Processed, Quarantine) to delete because its row was erased or its
    retention ran out: queued in the transaction that erased the row, done by mailbot.privacy.folders
    when the server is reachable (an outage delays it, never loses it). The copy is recognised by its
    Message-ID and the SHA-256 of its bytes, so a reused Message-ID never deletes another person's mail."""

    __tablename__ = "folder_deletions"
    __table_args__ = (
        UniqueConstraint("mailbox", "inbound_id"),
        Index("ix_folder_deletions_open", "mailbox", "done_at", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(40))
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound_mail.id"))
    message_id: Mapped[str] = mapped_column(MailString(998))
    sha256: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(20))  # "erasure" or "retention"
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(MailText)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted: Mapped[int] = mapped_column(Integer, default=0)  # copies found and deleted


class InboundMail(Base):
    __tablename__ = "inbound_mail"
    __table_args__ = (
        UniqueConstraint("mailbox", "source_key"),
        UniqueConstraint("mailbox", "sha256"),
        # a true duplicate: same Message-ID, sender and body (not merely the same Message-ID: form
        # mailers reuse ids like <1@localhost> for every customer)
        UniqueConstraint("mailbox", "fingerprint"),
        Index("ix_inbound_mail_message_id", "mailbox", "message_id"),
        # the claim walks one state in arrival order (db.claims) without sorting the mailbox
        Index("ix_inbound_mail_claim", "mailbox", "state", "attempts", "received_at", "id"),
        Index("ix_inbound_mail_from_key", "mailbox", "from_key"),
        # which of a folder's UIDs are stored, asked after every pass (ingest.imap._known_uids)
        Index("ix_inbound_mail_uid", "mailbox", "folder", "uidvalidity", "uid"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(40))
    # imap:<folder>:<uidvalidity>:<uid> or maildir:<key>
    source_key: Mapped[str] = mapped_column(MailString(400))
    folder: Mapped[str] = mapped_column(MailString(300))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    uid: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[str] = mapped_column(MailString(998))
    sha256: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))  # ingest.keys.content_keys
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when it reached the mailbox
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(20), default=InboundState.RECEIVED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the fleet worker (its id in the job engine) that claimed it last; None outside a fleet
    claimed_by: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(MailText)
    outcome: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(MailText)
    from_addr: Mapped[str | None] = mapped_column(MailString(320))
    # address_key(from_addr), set with it: the per-sender limits count by it over an index
    from_key: Mapped[str | None] = mapped_column(MailString(ADDRESS_KEY_CHARS))
    subject: Mapped[str | None] = mapped_column(MailText)
    language: Mapped[str | None] = mapped_column(String(5))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    decision: Mapped[dict[str, Any] | None] = mapped_column(MailJSON)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source_done: Mapped[bool] = mapped_column(default=False)  # moved to its final folder on the server
    # looked at while the business calendar was closed and left for the opening at this instant: not
    # looked at again before it (mailbot.pipeline.deferral)
    deferred_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # personal data removed (mailbot.privacy: on a person's request or when its retention ran out)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attachments_removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # from `raw`

    @validates("from_addr")
    def _keep_from_key(self, _: str, value: str | None) -> str | None:
        self.from_key = _stored_key(value, 320)
        return value


class SkippedDuplicate(Base):
    """A mail not stored because the mailbox already has it (`mailbot status` counts them)."""

    __tablename__ = "skipped_duplicates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(40))
    source_key: Mapped[str] = mapped_column(MailString(400))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("inbound_mail.id"))
    matched_by: Mapped[str] = mapped_column(String(20))  # "content" (same bytes) or "fingerprint"
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("mailbox", "reference"),
        # incident grouping: the most recent open faults of one severity (tickets/incidents.py)
        Index("ix_tickets_open_faults", "mailbox", "state", "severity", "created_at"),
        Index("ix_tickets_customer", "mailbox", "customer"),
        # the mailbox's newest ticket, read for every sequential ticket number (tickets/service.py)
        Index("ix_tickets_newest", "mailbox", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str | None] = mapped_column(String(40))  # "MB-000123", set right after insert
    customer: Mapped[str] = mapped_column(MailString(320))
    customer_name: Mapped[str] = mapped_column(MailString(300), default="")
    subject: Mapped[str] = mapped_column(MailText, default="")
    language: Mapped[str] = mapped_column(String(5))
    state: Mapped[str] = mapped_column(String(20))
    article_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # the 2nd level: severity guess with its reasons, SLA clock, incident parent, external mirror
    severity: Mapped[str | None] = mapped_column(String(20))
    severity_reasons: Mapped[list[str] | None] = mapped_column(MailJSON)
    # the customer was told the guess (classify.disclosure); the team always sees it
    severity_shown: Mapped[bool] = mapped_column(default=False, server_default=false())
    text_excerpt: Mapped[str] = mapped_column(MailText, default="")  # the customer's words, for grouping
    sla_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # first answer of a person
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # rate limit of status answers
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    external_key: Mapped[str | None] = mapped_column(String(100))  # e.g. the Jira issue key
    external_comment_id: Mapped[int | None] = mapped_column(BigInteger)  # last public comment relayed
    # when the Jira follow-up last looked at the request: the least recently looked at come first
    external_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # personal data removed (mailbot.privacy)


class TicketEvent(Base):
    __tablename__ = "ticket_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(30))
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_mail.id"))
    note: Mapped[str] = mapped_column(MailText, default="")


class OutboxMail(Base):
    """A mail we will send: rendered and given its Message-ID at enqueue time, so a re-send is identical.

    Mail caused by an inbound mail is unique per (inbound, kind); mail caused by anything else (an
    agent's command, the SLA watch, a Jira comment) carries a `dedup_key` naming its cause.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("message_id"),
        UniqueConstraint("inbound_id", "kind"),
        UniqueConstraint("mailbox", "dedup_key"),
        Index("ix_outbox_state", "mailbox", "state", "next_attempt_at"),
        Index("ix_outbox_recipient_key", "mailbox", "recipient_key", "created_at"),
        Index("ix_outbox_ticket", "ticket_id", "kind", "created_at"),
        # a ticket's mails, newest first: the thread of the team's notices (tickets/notify.to_team)
        Index("ix_outbox_ticket_thread", "ticket_id", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(30))
    to_customer: Mapped[bool] = mapped_column()
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_mail.id"))
    message_id: Mapped[str] = mapped_column(MailString(998))
    mail_from: Mapped[str] = mapped_column(String(320))
    recipient: Mapped[str] = mapped_column(MailString(320))
    # address_key(recipient), set with it: the per-recipient limit counts by it over an index
    recipient_key: Mapped[str | None] = mapped_column(MailString(ADDRESS_KEY_CHARS))
    subject: Mapped[str] = mapped_column(MailText)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(20), default=OutboxState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[int | None] = mapped_column(BigInteger)  # as InboundMail.claimed_by
    last_error: Mapped[str | None] = mapped_column(MailText)
    smtp_response: Mapped[str | None] = mapped_column(MailText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dedup_key: Mapped[str | None] = mapped_column(MailString(200))
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # personal data removed (mailbot.privacy)

    @validates("recipient")
    def _keep_recipient_key(self, _: str, value: str) -> str:
        self.recipient_key = _stored_key(value, 320)
        return value


def _stored_key(address: str | None, length: int) -> str | None:
    """`address_key` of the address as its column keeps it (cleaned, cut to `length`), so that a row counts
    exactly as the Python comparison of the stored address did. Set by the classes' validators, so no
    writer can forget it; the migration that added the columns computed it for older rows."""
    return None if address is None else address_key(clean_text(address, length))


class JobState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class EscalationJob(Base):
    """A call to an escalation backend (Jira, webhook), durable and retried like the outbox."""

    __tablename__ = "escalation_jobs"
    __table_args__ = (
        UniqueConstraint("mailbox", "dedup_key"),
        Index("ix_escalation_jobs_state", "mailbox", "state", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    backend: Mapped[str] = mapped_column(String(20))  # "jira" or "webhook"
    event: Mapped[str] = mapped_column(String(40))  # "ticket.escalated", "ticket.solved", ...
    dedup_key: Mapped[str] = mapped_column(String(200))  # also the webhook's delivery id
    payload: Mapped[dict[str, Any]] = mapped_column(MailJSON)
    state: Mapped[str] = mapped_column(String(20), default=JobState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(MailText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class KnowledgeBaseGap(Base):
    """A topic `mailbot kb gaps` found among a client's unanswered mail (mailbot.reports.gaps), kept so
    that the next run gives the same topic the same id (matched by its members and its top terms) and a
    report can say since when a gap is open. Ids are never reused, also after a gap is no longer seen."""

    __tablename__ = "kb_gaps"
    mailbox: Mapped[str] = mapped_column(String(40), primary_key=True)
    gap_id: Mapped[str] = mapped_column(String(20), primary_key=True)  # "gap-0007"
    title: Mapped[str] = mapped_column(MailText, default="")
    terms: Mapped[dict[str, float]] = mapped_column(MailJSON)  # top terms -> c-TF-IDF weight
    members: Mapped[list[int]] = mapped_column(MailJSON)  # inbound ids of the last run that saw it
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReviewState(StrEnum):
    """Where a review stands for the agency (mailbot.reviews): its replies carry their own states."""

    NEW = "new"  # stored (or edited), not decided yet
    DECIDED = "decided"  # decided; a draft waits or was posted (see review_replies)
    PERSON = "person"  # a person decides: no draft was written
    DONE = "done"  # nothing more to do (answered, or a person chose not to answer)


class ReplyState(StrEnum):
    DRAFT = "draft"  # waits for a person
    APPROVED = "approved"  # to be posted (by a person, or `auto` within the daily cap)
    POSTING = "posting"  # a post is under way; a crash leaves it here: read back before posting again
    UNKNOWN = "unknown"  # the store did not answer a post: read back before posting again
    POSTED = "posted"  # the store holds it (public_state: pending until Apple publishes it)
    REJECTED = "rejected"  # a person chose not to post it
    FAILED = "failed"  # the store refused it for good (last_error says why): a person looks
    SUPERSEDED = "superseded"  # a newer draft for the same review replaced it before it was posted


class StoreApp(Base):
    """One app of a client in a store: the poll's watermark and health (issue 16)."""

    __tablename__ = "review_apps"
    store: Mapped[str] = mapped_column(String(10), primary_key=True)  # "apple" or "google"
    app: Mapped[str] = mapped_column(String(150), primary_key=True)  # Apple app id, Google package
    mailbox: Mapped[str] = mapped_column(String(40))
    watermark_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # newest review time stored
    watermark_ids: Mapped[list[str]] = mapped_column(MailJSON, default=list)  # review ids at that instant
    polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last attempt
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last poll that read everything
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)  # first failure after a success
    last_error: Mapped[str | None] = mapped_column(MailText)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the team was told polling fails
    wait_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # quota: no call before this
    swept_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last look at all unanswered reviews


class StoreReviewRow(Base):
    """One customer review, keyed by (store, app, review id); an edit updates the row and is decided again."""

    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("store", "app", "review_id"),
        Index("ix_reviews_state", "mailbox", "state"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(40))
    store: Mapped[str] = mapped_column(String(10))
    app: Mapped[str] = mapped_column(String(150))
    review_id: Mapped[str] = mapped_column(String(200))
    rating: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(MailText, default="")
    body: Mapped[str] = mapped_column(MailText, default="")
    author: Mapped[str] = mapped_column(MailText, default="")  # the store's nickname: personal data
    language: Mapped[str | None] = mapped_column(String(5))  # detected from the text; None: not de/en
    territory: Mapped[str] = mapped_column(String(10), default="")
    app_version: Mapped[str] = mapped_column(String(60), default="")
    text_sha256: Mapped[str] = mapped_column(String(64))  # of rating, title and body: an edit changes it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the store's time
    modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # Google's lastModified
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # mailbot saw a changed text
    state: Mapped[str] = mapped_column(String(20), default=ReviewState.NEW)
    action: Mapped[str] = mapped_column(String(20), default="")  # thank, answer, ticket, person ("": new)
    reason: Mapped[str] = mapped_column(MailText, default="")
    article_id: Mapped[str | None] = mapped_column(String(200))
    severity: Mapped[str | None] = mapped_column(String(20))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReviewReply(Base):
    """A reply mailbot means to post to a review: drafted, approved, then posted exactly once.

    One reply per review is public in the store (a later post replaces it), so a newer draft supersedes an
    older one that was not posted; a posted one stays as the record of what the store shows."""

    __tablename__ = "review_replies"
    __table_args__ = (Index("ix_review_replies_state", "mailbox", "state", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(40))
    review_pk: Mapped[int] = mapped_column(ForeignKey("reviews.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # thank, answer, passed_on, fixed, manual
    phrasing: Mapped[str] = mapped_column(String(60), default="")
    text: Mapped[str] = mapped_column(MailText)
    problems: Mapped[list[str]] = mapped_column(MailJSON, default=list)  # the checker's; none when approvable
    state: Mapped[str] = mapped_column(String(20), default=ReplyState.DRAFT)
    auto: Mapped[bool] = mapped_column(default=False)  # approved by the `auto` rule, not a person
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(MailString(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(MailText)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_id: Mapped[str] = mapped_column(String(200), default="")  # Apple's response id
    public_state: Mapped[str | None] = mapped_column(String(20))  # pending, published
