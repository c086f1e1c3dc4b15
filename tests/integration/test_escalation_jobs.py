"""The escalation job queue against the JSM stand-in and the webhook receiver, over real HTTP.

No mail servers: tickets and stored mails are written straight into a SQLite database, then
`run_due_jobs` / `poll_jira` run at chosen instants of a fake clock, as the worker would run them.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mailbot.app import App, open_database
from mailbot.config import Settings
from mailbot.db.schema import EscalationJob, InboundMail, InboundState, OutboxMail, Ticket, TicketEvent
from mailbot.escalate.jobs import MAX_SERVER_WAIT, enqueue_jobs, poll_jira, run_due_jobs
from mailbot.ingest.keys import content_keys
from mailbot.paths import SHIPPED_TEMPLATES
from tests.e2e.conftest import text_of
from tests.servers.jsm import FakeJsm
from tests.servers.webhook_sink import WebhookSink

T0 = datetime(2026, 5, 26, 7, 0, tzinfo=UTC)
CUSTOMER = "erika@kunde.example"
SECRET = "webhook-secret-0123456789"


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Desk:
    """An App wired to the stand-ins, with helpers to write tickets and mails and read jobs back."""

    app: App
    clock: Clock

    def ticket(self, severity: str | None = "critical", text: str = "Die App stürzt beim Start ab.") -> int:
        with self.app.sessions.begin() as session:
            ticket = Ticket(
                mailbox=self.app.mailbox, customer=CUSTOMER, customer_name="Erika Muster",
                subject="App stürzt ab", language="de", state="escalated", created_at=self.clock(),
                updated_at=self.clock(),
                severity=severity, severity_reasons=["'stürzt ab' klingt nach Ausfall", "alle Nutzer"],
                text_excerpt=text, response_due_at=self.clock() + timedelta(hours=2),
                resolution_due_at=self.clock() + timedelta(hours=8),
            )  # fmt: skip
            session.add(ticket)
            session.flush()
            ticket.reference = f"MB-{ticket.id:06d}"
            enqueue_jobs(session, self.app, ticket, "ticket.escalated", f"ticket-{ticket.id}", self.clock())
            return ticket.id

    def reply(self, ticket_id: int, body: str, files: list[tuple[str, str, bytes]] = ()) -> int:  # type: ignore[assignment]
        mail = EmailMessage()
        mail["From"] = f"Erika Muster <{CUSTOMER}>"
        mail["To"] = "support@example.com"
        mail["Subject"] = "Re: App stürzt ab"
        mail["Message-ID"] = make_msgid(domain="kunde.example")
        mail.set_content(body)
        for name, ctype, data in files:
            maintype, subtype = ctype.split("/")
            mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        raw = mail.as_bytes()
        with self.app.sessions.begin() as session:
            keys = content_keys(raw)
            row = InboundMail(
                mailbox=self.app.mailbox, source_key=f"test:{mail['Message-ID']}", folder="INBOX",
                message_id=keys.message_id, sha256=keys.sha256, fingerprint=keys.fingerprint, raw=raw,
                size=len(raw),
                received_at=self.clock(), ingested_at=self.clock(), state=InboundState.DONE,
                ticket_id=ticket_id,
            )  # fmt: skip
            session.add(row)
            session.flush()
            ticket = session.get_one(Ticket, ticket_id)
            enqueue_jobs(
                session, self.app, ticket, "ticket.customer_reply", f"inbound-{row.id}", self.clock(),
                inbound_id=row.id,
            )  # fmt: skip
            return row.id

    def run(self, at: datetime | None = None) -> Any:
        if at is not None:
            self.clock.now = at
        return run_due_jobs(self.app)

    def jobs(self) -> list[EscalationJob]:
        with self.app.sessions() as session:
            return list(session.scalars(select(EscalationJob).order_by(EscalationJob.id)))

    def get(self, ticket_id: int) -> Ticket:
        with self.app.sessions() as session:
            return session.get_one(Ticket, ticket_id)

    def events(self, ticket_id: int, kind: str) -> list[str]:
        with self.app.sessions() as session:
            query = select(TicketEvent.note).where(
                TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind
            )
            return list(session.scalars(query.order_by(TicketEvent.id)))


def make_desk(
    tmp_path: Path,
    jira: FakeJsm | None = None,
    webhook: WebhookSink | None = None,
    webhook_timeout: float = 10,
    database_url: str | None = None,
    **jira_keys: Any,
) -> Desk:
    values: dict[str, Any] = {
        "support": {"address": "support@example.com"},
        "team": {"address": "team@example.com"},
        "maildir": {"path": str(tmp_path / "Maildir")},
        "smtp": {"host": "127.0.0.1", "security": "none"},
        "database": {"url": database_url or f"sqlite:///{tmp_path / 'mailbot.db'}"},
        "templates": {"path": str(SHIPPED_TEMPLATES)},
    }
    if jira is not None:
        values["jira"] = {"base_url": jira.base_url, "user": jira.user, "token": jira.token,
                          "service_desk_id": jira.service_desk_id, "request_type_id": jira.request_type_id,
                          "timeout_seconds": 5} | jira_keys  # fmt: skip
    if webhook is not None:
        values["webhook"] = {
            "url": webhook.url,
            "secret": SECRET,
            "events": ["ticket.escalated", "ticket.solved"],
            "timeout_seconds": webhook_timeout,
        }
    clock = Clock()
    engine, sessions = open_database(Settings.model_validate(values))
    app = App(Settings.model_validate(values), engine, sessions, clock)
    _ = app.message_id_key  # as build_app does: made before any job holds a transaction
    return Desk(app, clock)


@pytest.fixture
def jsm() -> Iterator[FakeJsm]:
    with FakeJsm() as fake:
        yield fake


@pytest.fixture
def desk(tmp_path: Path, jsm: FakeJsm) -> Desk:
    return make_desk(tmp_path, jsm)


# --- permanent errors fail at once, with the server's words ---------------------------------------


def test_unknown_priority_fails_the_job_at_once_with_jiras_message(tmp_path: Path, jsm: FakeJsm) -> None:
    desk = make_desk(tmp_path, jsm, priorities={"critical": "Blocker"})
    desk.ticket(severity="critical")

    report = desk.run()

    (job,) = desk.jobs()
    assert (job.state, job.attempts, report.failed, report.deferred) == ("failed", 1, 1, 0)
    assert "Priority: Specify a valid value for priority" in (job.last_error or "")
    assert "priority 'Blocker' ([jira] priorities)" in (job.last_error or "")
    desk.run(T0 + timedelta(hours=1))
    assert len(jsm.calls("POST", "/request")) == 1  # never tried again


def test_rejected_token_fails_the_job_for_good(tmp_path: Path, jsm: FakeJsm) -> None:
    desk = make_desk(tmp_path, jsm, token="not-the-token-0123456789")
    desk.ticket()
    desk.run()
    (job,) = desk.jobs()
    assert job.state == "failed" and "Jira rejected the API token for bot@example.test" in (
        job.last_error or ""
    )
    assert "not-the-token" not in (job.last_error or "")


def test_webhook_that_answers_401_fails_for_good(tmp_path: Path) -> None:
    with WebhookSink("another-secret-0123456789") as sink:  # the receiver does not know our secret
        desk = make_desk(tmp_path, webhook=sink)
        desk.ticket()
        desk.run()
        desk.run(T0 + timedelta(hours=2))
        (job,) = desk.jobs()
        assert job.state == "failed" and "refused ticket.escalated with 401" in (job.last_error or "")
        assert len(sink.deliveries) == 1


# --- transient errors: backoff, and the server's Retry-After -------------------------------------


def test_jira_retry_after_is_honoured_and_holds_back_the_other_jira_jobs(desk: Desk, jsm: FakeJsm) -> None:
    first, second = desk.ticket(), desk.ticket()
    jsm.fail_next(1, status=429, retry_after="3600")

    report = desk.run()

    jobs = desk.jobs()
    assert [j.state for j in jobs] == ["pending", "pending"] and report.deferred == 2
    assert all(j.next_attempt_at >= T0 + timedelta(seconds=3600) for j in jobs)
    assert [j.attempts for j in jobs] == [1, 0]  # the second job was not even tried
    calls = len(jsm.received)
    desk.run(T0 + timedelta(minutes=30))
    assert len(jsm.received) == calls  # nothing asked while Jira wants quiet
    desk.run(T0 + timedelta(seconds=3601))
    assert [j.state for j in desk.jobs()] == ["done", "done"]
    assert desk.get(first).external_key and desk.get(second).external_key


def test_an_absurd_retry_after_is_cut_to_a_sane_bound(desk: Desk, jsm: FakeJsm) -> None:
    desk.ticket()
    jsm.fail_next(1, status=503, retry_after="8640000")  # 100 days
    desk.run()
    (job,) = desk.jobs()
    assert T0 + timedelta(minutes=30) < job.next_attempt_at <= T0 + MAX_SERVER_WAIT


def test_webhook_retry_after_is_honoured(tmp_path: Path) -> None:
    with WebhookSink(SECRET) as sink:
        desk = make_desk(tmp_path, webhook=sink)
        desk.ticket()
        sink.respond_next(429, headers={"Retry-After": "3600"})
        desk.run()
        (job,) = desk.jobs()
        assert job.state == "pending" and job.next_attempt_at >= T0 + timedelta(seconds=3600)
        desk.run(T0 + timedelta(minutes=10))
        assert len(sink.deliveries) == 1
        desk.run(T0 + timedelta(seconds=3600))
        assert desk.jobs()[0].state == "done" and len(sink.deliveries) == 2


def test_a_job_that_raises_does_not_stop_the_other_jobs(tmp_path: Path, jsm: FakeJsm) -> None:
    with WebhookSink(SECRET) as sink:
        desk = make_desk(tmp_path, jsm, webhook=sink)
        desk.ticket()

        def broken() -> Any:
            raise RuntimeError("a bug")

        report = run_due_jobs(desk.app, make_jira=broken)
        states = {j.backend: (j.state, j.last_error) for j in desk.jobs()}
        assert states["jira"] == ("pending", "RuntimeError: a bug") and report.deferred == 1
        assert states["webhook"] == ("done", None) and len(sink.deliveries) == 1


# --- what the request shows the customer, and what only the agents see ---------------------------


def test_description_holds_only_the_customers_words_and_the_assessment_is_internal(
    desk: Desk, jsm: FakeJsm
) -> None:
    ticket_id = desk.ticket(severity="critical", text="Die App stürzt beim Start ab.")
    desk.run()

    key = desk.get(ticket_id).external_key
    assert key
    (post,) = jsm.calls("POST", "/request")
    assert post.json["requestFieldValues"]["description"] == "Die App stürzt beim Start ab."
    (note,) = jsm.request(key).comments
    assert note["public"] is False and note["author"]["accountId"] == jsm.bot_account
    assert note["body"].startswith(f"mailbot MB-{ticket_id:06d} · customer {CUSTOMER} (Erika Muster)")
    assert "Severity guess: critical ('stürzt ab' klingt nach Ausfall; alle Nutzer)" in note["body"]
    assert "Response due 2026-05-26T09:00:00+00:00" in note["body"]
    assert desk.events(ticket_id, "mirrored") == [f"Jira Service Management {key}"]


def test_a_failing_note_never_raises_a_second_request(desk: Desk, jsm: FakeJsm) -> None:
    ticket_id = desk.ticket()
    jsm.fail_next(1, status=502, method="POST", path="/request/HELP-1/comment")

    desk.run()
    (job,) = desk.jobs()
    assert job.state == "pending" and desk.get(ticket_id).external_key == "HELP-1"  # kept at once

    desk.run(T0 + timedelta(hours=2))
    assert desk.jobs()[0].state == "done"
    assert len(jsm.calls("POST", "/request")) == 1
    assert [c["public"] for c in jsm.request("HELP-1").comments] == [False]
    desk.jobs()  # and a run of the same job again (a crash before the commit) adds nothing
    with desk.app.sessions.begin() as session:
        session.get_one(EscalationJob, job.id).state = "pending"
    desk.run()
    assert len(jsm.calls("POST", "/request")) == 1 and len(jsm.request("HELP-1").comments) == 1


# --- the customer's follow-up mails ---------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def test_customer_reply_becomes_a_public_comment_with_its_attachments_once(desk: Desk, jsm: FakeJsm) -> None:
    ticket_id = desk.ticket()
    desk.run()
    desk.reply(ticket_id, "Hier der Screenshot, der Fehler kommt sofort.", [("fehler.png", "image/png", PNG)])

    desk.run(T0 + timedelta(minutes=5))

    request = jsm.request("HELP-1")
    comment = request.comments[-1]
    assert comment["public"] is True and comment["author"]["accountId"] == jsm.bot_account
    assert comment["body"].startswith(
        f"E-mail from {CUSTOMER} · 2026-05-26 09:00 +0200 · MB-{ticket_id:06d}\n\n"
    )
    assert "Hier der Screenshot, der Fehler kommt sofort." in comment["body"]
    assert [(a.filename, a.data, a.public) for a in request.attachments] == [("fehler.png", PNG, True)]
    (note,) = desk.events(ticket_id, "jira_comment")
    assert note.startswith("customer reply mirrored: public comment") and "1 attachment(s)" in note

    with desk.app.sessions.begin() as session:  # the same job once more, as after a crash before its commit
        session.get_one(EscalationJob, desk.jobs()[-1].id).state = "pending"
    desk.run()
    assert len(jsm.request("HELP-1").comments) == 2 and len(jsm.request("HELP-1").attachments) == 1


def test_reply_waits_for_its_request_without_using_up_attempts(desk: Desk, jsm: FakeJsm) -> None:
    ticket_id = desk.ticket()
    jsm.fail_next(1, status=503)  # raising the request fails first
    desk.run()
    desk.reply(ticket_id, "Noch ein Detail: es passiert nur unter Android.")
    desk.run(T0 + timedelta(seconds=1))  # the request job is still backing off
    mirror, reply = desk.jobs()
    assert (reply.state, reply.attempts) == ("pending", 0)
    assert reply.next_attempt_at > mirror.next_attempt_at and "waiting until Jira job" in (
        reply.last_error or ""
    )

    desk.run(T0 + timedelta(hours=1))
    assert [j.state for j in desk.jobs()] == ["done", "done"]
    assert "nur unter Android" in jsm.request("HELP-1").comments[-1]["body"]


def test_reply_to_a_ticket_without_a_request_is_not_sent_to_jira(tmp_path: Path, jsm: FakeJsm) -> None:
    desk = make_desk(tmp_path, jsm, priorities={"critical": "Blocker"})  # the request can never be raised
    ticket_id = desk.ticket()
    desk.run()
    desk.reply(ticket_id, "Und jetzt?")
    assert [j.event for j in desk.jobs()] == ["ticket.escalated"]


def test_a_stored_reply_that_cannot_be_read_fails_its_job_at_once(desk: Desk, jsm: FakeJsm) -> None:
    ticket_id = desk.ticket()
    desk.run()
    inbound = desk.reply(ticket_id, "x")
    with desk.app.sessions.begin() as session:
        session.get_one(InboundMail, inbound).raw = b"   "
    desk.run()
    reply = desk.jobs()[-1]
    assert (reply.state, reply.attempts) == ("failed", 1)
    assert f"the mail #{inbound} of this reply cannot be read: empty message" in (reply.last_error or "")


def test_replies_can_be_internal_or_off(tmp_path: Path, jsm: FakeJsm) -> None:
    desk = make_desk(tmp_path, jsm, customer_replies="internal")
    ticket_id = desk.ticket()
    desk.run()
    desk.reply(ticket_id, "Bitte nur intern weitergeben.")
    desk.run()
    assert jsm.request("HELP-1").comments[-1]["public"] is False

    off = make_desk(tmp_path / "off", jsm, customer_replies="off")
    other = off.ticket()
    off.run()
    off.reply(other, "Das geht nicht nach Jira.")
    assert [j.event for j in off.jobs()] == ["ticket.escalated"]


def test_attachments_over_the_limit_are_named_in_the_comment_not_sent(tmp_path: Path, jsm: FakeJsm) -> None:
    desk = make_desk(tmp_path, jsm, attachment_max_mb=0.001)  # about 1 KB
    ticket_id = desk.ticket()
    desk.run()
    desk.reply(ticket_id, "Anbei.", [("klein.txt", "text/plain", b"ok"), ("gross.png", "image/png", PNG)])
    desk.run()
    request = jsm.request("HELP-1")
    assert [a.filename for a in request.attachments] == ["klein.txt"]
    assert (
        "Not attached (kept in mailbot): gross.png (2.0 kB, over [jira] attachment_max_mb: 1.0 kB)"
        in (request.comments[-1]["body"])
    )


def test_poll_relays_the_agents_comments_but_not_the_customers_words_we_added(
    desk: Desk, jsm: FakeJsm
) -> None:
    ticket_id = desk.ticket()
    desk.run()
    desk.reply(ticket_id, "Hier noch ein Screenshot.", [("a.png", "image/png", PNG)])
    desk.run()
    jsm.add_comment("HELP-1", "Danke, wir sehen uns das an.")

    poll_jira(desk.app)
    poll_jira(desk.app)

    with desk.app.sessions() as session:
        mails = session.scalars(select(OutboxMail).where(OutboxMail.kind == "agent_reply")).all()
        assert len(mails) == 1 and "wir sehen uns das an" in text_of(mails[0].raw)
    assert desk.get(ticket_id).external_comment_id == max(
        int(c["id"]) for c in jsm.request("HELP-1").comments
    )


def test_a_ticket_reopened_by_the_customer_is_not_solved_again_by_the_same_jira_resolution(
    desk: Desk, jsm: FakeJsm
) -> None:
    from mailbot.tickets.service import reopen

    ticket_id = desk.ticket()
    desk.run()
    jsm.add_comment("HELP-1", "Behoben mit Version 2.3.1.")
    jsm.set_status("HELP-1", "Resolved", "DONE")
    poll_jira(desk.app)
    assert desk.get(ticket_id).state == "solved"

    with desk.app.sessions.begin() as session:  # "still broken!": the customer's reply reopens the ticket
        reopen(session, desk.app, session.get_one(Ticket, ticket_id), "customer replied", desk.clock())
    poll_jira(desk.app)
    poll_jira(desk.app)
    assert desk.get(ticket_id).state == "escalated"  # Jira still shows the old resolution: wait

    jsm.set_status("HELP-1", "In progress", "INDETERMINATE")  # the agent reopens the request ...
    poll_jira(desk.app)
    jsm.set_status("HELP-1", "Resolved", "DONE")  # ... and resolves it again
    poll_jira(desk.app)
    assert desk.get(ticket_id).state == "solved"
    with desk.app.sessions() as session:
        solved = session.scalars(select(OutboxMail).where(OutboxMail.kind == "solved")).all()
        assert len(solved) == 2


# --- issue 11: whose comments reach whom, how many, and how long a pass may take -------------------


def agent_replies(desk: Desk) -> list[OutboxMail]:
    with desk.app.sessions() as session:
        query = select(OutboxMail).where(OutboxMail.kind == "agent_reply").order_by(OutboxMail.id)
        return list(session.scalars(query))


def test_the_customers_own_comment_is_not_echoed_even_when_the_profile_hides_the_address(
    desk: Desk, jsm: FakeJsm
) -> None:
    erika = jsm.add_customer(CUSTOMER, "Erika Muster", email_visible=False)
    jsm_participant = jsm.add_customer("kollege@kunde.example", "Kollege", email_visible=False)
    ticket_id = desk.ticket()
    desk.run()
    assert jsm.request("HELP-1").reporter == erika
    jsm.add_participant("HELP-1", jsm_participant)
    jsm.add_comment("HELP-1", "Meine IBAN ist DE89 3704 0044 0532 0130 00.", by=erika)
    jsm.add_comment("HELP-1", "Bei mir auch, geboren am 1.2.1980.", by=jsm_participant)

    report = poll_jira(desk.app)

    assert report.done == 1 and agent_replies(desk) == []  # neither customer's words go anywhere
    assert desk.get(ticket_id).external_comment_id == max(
        int(c["id"]) for c in jsm.request("HELP-1").comments
    )
    jsm.add_comment("HELP-1", "Danke, wir prüfen das.")
    poll_jira(desk.app)
    (mail,) = agent_replies(desk)
    assert "wir prüfen das" in text_of(mail.raw) and "DE89" not in text_of(mail.raw)


def test_three_hundred_comments_are_one_bounded_mail_per_poll_in_order_and_never_twice(
    tmp_path: Path, jsm: FakeJsm, database_url: str
) -> None:
    desk = make_desk(tmp_path, jsm, database_url=database_url)
    ticket_id = desk.ticket()
    desk.run()
    jsm.add_comment("HELP-1", "Anfang " + "lang " * 20_000)  # 100,000 characters
    for n in range(1, 300):
        jsm.add_comment("HELP-1", f"Kommentar Nummer {n:03d}.")

    poll_jira(desk.app)
    (first,) = agent_replies(desk)
    assert len(first.raw) < 150_000
    text = text_of(first.raw)
    assert text.startswith("Guten Tag") and "(gekürzt)" in text
    numbers = [int(n) for n in re.findall(r"Kommentar Nummer (\d{3})", text)]
    assert numbers == list(range(1, len(numbers) + 1)) and 0 < len(numbers) < 299

    with desk.app.sessions.begin() as session:  # a re-poll of the same comments (as if redone) ...
        session.get_one(Ticket, ticket_id).external_comment_id = None
    poll_jira(desk.app)
    assert len(agent_replies(desk)) == 1  # ... finds their mail by its dedup key: nothing twice

    for _ in range(10):
        poll_jira(desk.app)
    mails = agent_replies(desk)
    relayed = [int(n) for m in mails for n in re.findall(r"Kommentar Nummer (\d{3})", text_of(m.raw))]
    assert relayed == list(range(1, 300))  # every comment once, in order
    assert len(mails) == 1 + (299 - len(numbers) + 49) // 50
    assert "the next ones follow at the next poll" in desk.events(ticket_id, "jira_comments_waiting")[0]


def test_a_pass_of_the_jira_follow_up_is_bounded_and_reaches_every_request_in_turn(
    desk: Desk, jsm: FakeJsm
) -> None:
    tickets = [desk.ticket() for _ in range(3)]
    desk.run()
    for n, key in enumerate(("HELP-1", "HELP-2", "HELP-3"), start=1):
        jsm.add_comment(key, f"Antwort {n}")
    ticks = iter(range(0, 1000, 10))  # every look at the clock is 10 s later: one request per pass

    for _ in range(3):
        report = poll_jira(desk.app, budget_seconds=5, monotonic=lambda: float(next(ticks)))
        assert report.done == 1 and report.waiting == 2

    assert len(agent_replies(desk)) == 3  # the least recently looked at first: each was reached once
    assert [desk.get(t).external_polled_at is not None for t in tickets] == [True] * 3


def test_a_dripping_jira_ends_the_follow_up_pass_within_the_timeout(tmp_path: Path, jsm: FakeJsm) -> None:
    desk = make_desk(tmp_path, jsm, timeout_seconds=1)
    for _ in range(3):
        desk.ticket()
    desk.run()
    jsm.drip_next(5, interval=0.4)  # each byte within the read timeout, the whole answer never

    started = time.monotonic()
    report = poll_jira(desk.app)
    took = time.monotonic() - started

    assert took < 3, f"the pass took {took:.1f} s"
    assert report.done == 0 and report.waiting == 2 and "no complete answer within 1 s" in report.errors[0]


def pending_webhook_jobs(desk: Desk, count: int) -> None:
    """`count` queued webhook events of one ticket, as a backlog after a long outage would be."""
    ticket_id = desk.ticket()
    with desk.app.sessions.begin() as session:
        ticket = session.get_one(Ticket, ticket_id)
        for n in range(count - 1):
            enqueue_jobs(session, desk.app, ticket, "ticket.escalated", f"backlog-{n}", desk.clock())


def run_bounded(what: Any, limit: float) -> float:
    """Run `what` in a thread; fail (instead of hanging the suite) when it takes longer than `limit`."""
    done = threading.Event()
    started = time.monotonic()
    worker = threading.Thread(target=lambda: (what(), done.set()), daemon=True)
    worker.start()
    worker.join(limit)
    took = time.monotonic() - started
    assert done.is_set(), f"still running after {took:.0f} s"
    return took


def test_a_dripping_webhook_costs_one_deadline_per_pass_not_one_per_event(tmp_path: Path) -> None:
    with WebhookSink(SECRET) as sink:
        desk = make_desk(tmp_path, webhook=sink, webhook_timeout=2)
        pending_webhook_jobs(desk, 50)
        sink.drip_next(50, interval=1.5)  # the receiver: one byte every 1.5 s
        reports: list[Any] = []

        took = run_bounded(lambda: reports.append(desk.run()), limit=20)

        print(f"pass with a dripping receiver: {took:.2f} s")
        assert took < 4
        jobs = desk.jobs()
        assert jobs[0].attempts == 1 and "no complete answer within 2 s" in (jobs[0].last_error or "")
        assert [j.attempts for j in jobs[1:]] == [0] * 49 and {j.state for j in jobs} == {"pending"}
        assert reports[0].waiting == 49


def test_a_long_backlog_is_worked_off_in_bounded_passes(tmp_path: Path) -> None:
    with WebhookSink(SECRET) as sink:
        desk = make_desk(tmp_path, webhook=sink)
        pending_webhook_jobs(desk, 400)

        started = time.monotonic()
        first = run_due_jobs(desk.app, budget_seconds=0.5)
        took = time.monotonic() - started

        print(f"first pass over 400 events: {took:.2f} s, {first.done} delivered")
        assert took < 2.5 and first.done > 0 and first.waiting == 400 - first.done
        assert sum(j.attempts for j in desk.jobs()) == first.done  # the rest was not touched
        while run_due_jobs(desk.app, budget_seconds=0.5).waiting:
            pass
        assert {j.state for j in desk.jobs()} == {"done"} and len(sink.deliveries) == 400


def test_a_huge_subject_and_name_stay_small_in_the_webhook_event(tmp_path: Path) -> None:
    with WebhookSink(SECRET) as sink:
        desk = make_desk(tmp_path, webhook=sink)
        ticket_id = desk.ticket()
        with desk.app.sessions.begin() as session:  # what 1 MB headers leave on a ticket
            ticket = session.get_one(Ticket, ticket_id)
            ticket.subject, ticket.customer_name = "S" * 1_000_000, "N" * 1_000_000
            ticket.text_excerpt = "T" * 1_000_000
            session.flush()
            enqueue_jobs(session, desk.app, ticket, "ticket.escalated", "huge", desk.clock())
        desk.run()
        event = sink.deliveries[-1].event["ticket"]
        assert len(event["subject"]) == 255 and len(event["customer_name"]) <= 300
        assert len(sink.deliveries[-1].body) < 10_000


@pytest.mark.parametrize("status", [401, 403])
def test_a_webhook_that_refuses_us_fails_the_job_at_once(tmp_path: Path, status: int) -> None:
    with WebhookSink(SECRET) as sink:
        desk = make_desk(tmp_path, webhook=sink)
        desk.ticket()
        sink.respond_next(status)
        report = desk.run()
        desk.run(T0 + timedelta(hours=12))
        (job,) = desk.jobs()
        assert (job.state, job.attempts, report.failed) == ("failed", 1, 1)
        assert f"refused ticket.escalated with {status}" in (job.last_error or "")
        assert len(sink.deliveries) == 1  # never asked again
