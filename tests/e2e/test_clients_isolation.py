"""Two clients of one installation over the real Dovecot and aiosmtpd: whatever one client knows about a
customer (a ticket, its reference, its Message-IDs, a reply budget, an incident, an SLA clock, a
quarantined mail) never shows or counts at the other, and a customer cannot reach it from there."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailbot.db.schema import InboundMail, OutboxMail, Ticket, TicketEvent
from tests.e2e.conftest import make_mail, parse, text_of
from tests.e2e.test_clients import FAULT, Installation, make_installation, shared_models
from tests.e2e.test_second_level import OUTAGE
from tests.servers import DovecotServer, SmtpSink

pytestmark = pytest.mark.servers
A, B = "aktivo", "parkfuchs"
OWN_TEAMS = '\n[team]\naddress = "team@{slug}.example"\n'


def two_clients(root: Path, dovecot: DovecotServer, sink: SmtpSink, models: Path, url: str | None = None,
                defaults: str = "[business_hours]\nalways_open = true\n") -> Installation:  # fmt: skip
    installation = make_installation(
        root, dovecot, sink, database_url=url, model_dir=models, defaults=defaults
    )
    installation.add(A, "AK", OWN_TEAMS.format(slug=A))
    installation.add(B, "PF", OWN_TEAMS.format(slug=B))
    return installation


@pytest.fixture
def installation(
    tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink, tmp_path_factory: pytest.TempPathFactory
) -> Installation:
    return two_clients(tmp_path, dovecot, smtp_sink, shared_models(tmp_path_factory))


def to(installation: Installation, slug: str, sender: str, subject: str, body: str, **kw: object) -> None:
    installation.deliver(slug, make_mail(sender, subject, body, to=installation.address(slug), **kw))  # type: ignore[arg-type]


def mail_text(message: EmailMessage) -> str:
    return f"{message['Subject']}\n{text_of(message.as_bytes())}"


def events_of(installation: Installation, ticket: Ticket) -> list[tuple[str, str]]:
    return [(e.kind, e.note) for e in installation.rows(TicketEvent) if e.ticket_id == ticket.id]


def test_a_foreign_reference_in_subject_in_reply_to_or_references_opens_a_new_ticket(
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    tmp_path_factory: pytest.TempPathFactory,
    database_url: str,
) -> None:
    """Each way of pointing at aktivo's ticket, alone, in a mail to parkfuchs: a new parkfuchs ticket,
    and not a word of aktivo's ticket, on SQLite and on PostgreSQL."""
    installation = two_clients(tmp_path, dovecot, smtp_sink, shared_models(tmp_path_factory), database_url)
    customers = [f"kunde{n}@customer.example.org" for n in range(3)]
    for customer in customers:
        to(installation, A, customer, f"App stürzt ab bei {customer}", FAULT[1])
    installation.run_once()
    a_tickets = installation.tickets(A)
    assert [t.state for t in a_tickets] == ["escalated"] * 3
    a_before = {t.id: (t.state, t.updated_at, events_of(installation, t)) for t in a_tickets}
    acks = {c: installation.sent(to=c, sender=installation.address(A))[0] for c in customers}
    a_sent = len(installation.sent(sender=installation.address(A)))

    subject_only, in_reply_to_only, references_only = customers
    ticket_of = {t.customer: t for t in a_tickets}
    to(installation, B, subject_only, f"Re: [{ticket_of[subject_only].reference}] Wie ist der Stand?",
       "Wie ist der Stand? Gibt es schon eine Lösung?")  # fmt: skip
    to(installation, B, in_reply_to_only, "Re: Ihre Anfrage", "Wie ist der Stand? Gibt es schon eine Lösung?",
       headers={"In-Reply-To": acks[in_reply_to_only]["Message-ID"]})  # fmt: skip
    to(installation, B, references_only, "Re: Ihre Anfrage", "Wie ist der Stand? Gibt es schon eine Lösung?",
       headers={"References": acks[references_only]["Message-ID"]})  # fmt: skip
    installation.run_once()

    b_tickets = installation.tickets(B)
    assert sorted(t.customer for t in b_tickets) == sorted(customers)  # one new ticket each, at parkfuchs
    assert all(t.reference.startswith("PF-") for t in b_tickets)
    b_mail = [m for c in customers for m in installation.sent(to=c, sender=installation.address(B))]
    assert len(b_mail) == 3  # parkfuchs did answer, each from its own address ...
    for message in b_mail:
        text = text_of(message.as_bytes())
        for ticket in a_tickets:  # ... and not a word of aktivo's tickets (the subject repeats only
            assert ticket.reference not in text  # what the customer wrote in theirs)
            assert str(message["Subject"]).count(ticket.reference) <= 1
            assert ticket.subject not in text
        assert "Aktivo Support" not in text and installation.address(A) not in text
    kinds = {row.kind for row in installation.rows(OutboxMail) if row.mailbox == B}
    assert "status" not in kinds
    after = {t.id: (t.state, t.updated_at, events_of(installation, t)) for t in installation.tickets(A)}
    assert after == a_before  # aktivo's tickets untouched
    assert len(installation.sent(sender=installation.address(A))) == a_sent
    assert {row.mailbox for row in installation.rows(InboundMail) if row.ticket_id in after} == {A}


def test_status_question_without_reference_is_answered_only_by_the_client_holding_the_ticket(
    installation: Installation,
) -> None:
    customer = "erika@customer.example.org"
    to(installation, A, customer, "App stürzt ab", FAULT[1])
    installation.run_once()
    (a_ticket,) = installation.tickets(A)
    assert a_ticket.state == "escalated"

    to(installation, B, customer, "Meine Anfrage", "Guten Tag, wie ist der Stand?")
    installation.run_once()
    for message in installation.sent(to=customer, sender=installation.address(B)):
        assert a_ticket.reference not in mail_text(message)
    assert "status" not in {row.kind for row in installation.rows(OutboxMail) if row.mailbox == B}

    # the same question at aktivo is answered with the state of its one open ticket: the feature works
    to(installation, A, customer, "Meine Anfrage", "Guten Tag, wie ist der Stand?")
    installation.run_once()
    (status,) = [row for row in installation.rows(OutboxMail) if row.kind == "status"]
    assert status.mailbox == A and status.ticket_id == a_ticket.id
    assert a_ticket.reference in mail_text(parse(status.raw))


def test_one_customer_at_two_clients_has_two_tickets_and_replies_stay_in_their_thread(
    installation: Installation,
) -> None:
    customer = "erika@customer.example.org"
    to(installation, A, customer, *FAULT)
    to(installation, B, customer, *FAULT)
    installation.run_once()
    (a_ticket,) = installation.tickets(A)
    (b_ticket,) = installation.tickets(B)
    assert a_ticket.customer == b_ticket.customer == customer and a_ticket.id != b_ticket.id

    (b_ack,) = installation.sent(to=customer, sender=installation.address(B))
    to(installation, B, customer, f"Re: {b_ack['Subject']}", "Hier noch ein Screenshot-Link: https://x.example/1",
       headers={"In-Reply-To": b_ack["Message-ID"]})  # fmt: skip
    installation.run_once()
    assert [t.id for t in installation.tickets()] == [a_ticket.id, b_ticket.id]  # no new ticket
    (follow_up,) = [row for row in installation.rows(InboundMail) if b"Screenshot-Link" in row.raw]
    assert follow_up.mailbox == B and follow_up.ticket_id == b_ticket.id
    assert not any(kind == "follow_up" for kind, _ in events_of(installation, a_ticket))


def test_reply_budget_is_counted_per_client(
    tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink, tmp_path_factory: pytest.TempPathFactory
) -> None:
    limits = "[business_hours]\nalways_open = true\n[limits]\nreplies_per_sender_per_day = 2\n"
    installation = two_clients(tmp_path, dovecot, smtp_sink, shared_models(tmp_path_factory), defaults=limits)
    customer = "flood@customer.example.org"
    for number in range(3):
        to(installation, A, customer, f"Problem {number}", f"Etwas ganz Unbekanntes Nummer {number}.")
    installation.run_once()
    assert len(installation.tickets(A)) == 3
    assert (
        len(installation.sent(to=customer, sender=installation.address(A))) == 2
    )  # aktivo's budget is used up

    to(installation, B, customer, "Problem", "Etwas ganz Unbekanntes bei parkfuchs.")
    installation.run_once()
    assert len(installation.sent(to=customer, sender=installation.address(B))) == 1  # parkfuchs' is not


def test_an_automatic_mail_of_one_client_reaching_another_is_not_answered(installation: Installation) -> None:
    """aktivo answers a mail that claims to come from parkfuchs' address; its automatic answer then
    lands in parkfuchs' mailbox, whose loop guard must stop there, as aktivo's stops its own mail."""
    to(installation, A, installation.address(B), *FAULT)
    installation.run_once()
    (bounced,) = [m for m in installation.sink.messages if installation.address(B) in m.rcpt_tos]
    assert bounced.mail_from == installation.address(A)
    installation.deliver(B, bounced.data)  # parkfuchs receives aktivo's acknowledgement
    installation.deliver(A, bounced.data)  # and a copy finds its way back to aktivo
    installation.run_once()

    last = {row.mailbox: row for row in installation.rows(InboundMail)}  # the newest mail of each
    assert last[B].outcome == "ignored" and last[B].reason
    assert last[A].outcome == "ignored" and "own" in (last[A].reason or "")
    assert installation.sent(sender=installation.address(B)) == []
    assert installation.tickets(B) == []
    assert len(installation.sent(sender=installation.address(A))) == 1 + 1  # the acknowledgement + notice


def test_similar_faults_at_two_clients_are_two_incidents(installation: Installation) -> None:
    bodies = [
        OUTAGE,
        "Hallo, seit dem Update stürzt die App bei allen sofort beim Start ab, keiner kann buchen.",
    ]
    for n, body in enumerate(bodies):
        for slug in (A, B):
            when = f"2026-05-26T09:0{n}+02:00"
            installation.arrives(slug, make_mail(f"{slug}{n}@kunde.example", "App stürzt ab", body), when)
    installation.run_once("--now", "2026-05-26T09:05+02:00")

    for slug in (A, B):
        parent, child = installation.tickets(slug)
        assert parent.severity == child.severity == "critical"
        assert parent.parent_id is None and child.parent_id == parent.id  # grouped within the client ...
    tickets = {t.id: t for t in installation.tickets()}
    for ticket in tickets.values():  # ... never across
        assert ticket.parent_id is None or tickets[ticket.parent_id].mailbox == ticket.mailbox
    for slug in (A, B):
        for notice in installation.sent(to=f"team@{slug}.example"):
            other = "PF-" if slug == A else "AK-"
            assert other not in mail_text(notice)


def test_sla_warnings_go_to_each_clients_own_team_and_name_its_own_ticket(installation: Installation) -> None:
    for slug in (A, B):
        mail = make_mail(f"erika@{slug}-kunde.example", "App stürzt ab", OUTAGE, name="Erika Muster")
        installation.arrives(slug, mail, "2026-05-26T09:00+02:00")
    installation.run_once("--now", "2026-05-26T09:01+02:00")
    installation.run_once("--now", "2026-05-26T10:40+02:00")  # 1 h 40 of 2 h: past warn_at (75 %)

    for slug, other in ((A, B), (B, A)):
        (ticket,) = installation.tickets(slug)
        (other_ticket,) = installation.tickets(other)
        alerts = [m for m in installation.sent(to=f"team@{slug}.example") if "SLA" in m["Subject"]]
        assert len(alerts) == 1
        assert ticket.reference in mail_text(alerts[0])
        assert other_ticket.reference not in mail_text(alerts[0])
        assert alerts[0]["From"].addresses[0].addr_spec == installation.address(slug)
    assert not [m for m in installation.sent(to="team@agency.example")]  # the default team: not theirs


def test_quarantine_is_listed_per_client_and_released_only_by_its_client(
    installation: Installation, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = b"Subject: kaputt\r\n\r\nkein Absender, keine Header"
    installation.deliver(A, broken)
    installation.deliver(B, broken)
    installation.run_once()

    items = json.loads(installation.cli(capsys, "quarantine", "list", "--json")[0])
    assert sorted(item["client"] for item in items) == [A, B]
    ids = {item["client"]: item["id"] for item in items}
    out, _ = installation.cli(capsys, "quarantine", "list")
    assert out.startswith(A) and f"{B}  #{ids[B]}" in out
    only = json.loads(installation.cli(capsys, "quarantine", "list", "--json", "--client", A)[0])
    assert [(item["client"], item["id"]) for item in only] == [(A, ids[A])]

    _, err = installation.cli(capsys, "quarantine", "release", str(ids[B]), "--client", A, expect=1)
    assert f"#{ids[B]}" in err
    _, err = installation.cli(capsys, "quarantine", "show", str(ids[B]), "--client", A, expect=1)
    states = {row.id: row.state for row in installation.rows(InboundMail)}
    assert states[ids[B]] == "quarantined"
    installation.cli(capsys, "quarantine", "release", str(ids[B]), "--client", B)
    states = {row.id: row.state for row in installation.rows(InboundMail)}
    assert states[ids[B]] == "received" and states[ids[A]] == "quarantined"
