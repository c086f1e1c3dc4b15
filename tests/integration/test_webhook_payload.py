"""The webhook receives a ticket's subject on one bounded line, whatever the customer wrote (issue 11),
over real HTTP to the webhook stand-in."""

from __future__ import annotations

from pathlib import Path

from mailbot.db.schema import Ticket
from mailbot.escalate.jobs import SUBJECT_CHARS, enqueue_jobs
from tests.integration.test_escalation_jobs import CUSTOMER, SECRET, make_desk
from tests.servers.webhook_sink import WebhookSink


def test_the_webhook_subject_is_one_bounded_line_and_the_name_has_no_controls(tmp_path: Path) -> None:
    subject = (
        "Drucker\r\nX-Injected: ja\tläuft\u2028über " + "a" * 100_000
    )  # a decoded =0D=0A and a 100 kB tail
    with WebhookSink(SECRET) as sink:
        desk = make_desk(tmp_path, webhook=sink)
        with desk.app.sessions.begin() as session:
            ticket = Ticket(
                mailbox=desk.app.mailbox, customer=CUSTOMER, customer_name="\x1b[1mErika\u202e Muster",
                subject=subject,
                language="de", state="escalated", created_at=desk.clock(), updated_at=desk.clock(),
                text_excerpt="Der Drucker läuft über.",
            )  # fmt: skip
            session.add(ticket)
            session.flush()
            ticket.reference = "MB-10000001"
            enqueue_jobs(session, desk.app, ticket, "ticket.escalated", "t-1", desk.clock())
        desk.run()

        (delivery,) = sink.deliveries
        sent = delivery.event["ticket"]["subject"]
        assert sent.startswith("Drucker X-Injected: ja läuft über aaa")
        assert len(sent) == SUBJECT_CHARS and "\n" not in sent and "\r" not in sent
        assert delivery.event["ticket"]["text"] == "Der Drucker läuft über."
        assert delivery.event["ticket"]["customer_name"] == "Erika Muster"
