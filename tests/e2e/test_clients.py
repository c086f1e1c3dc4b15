"""Several clients in one installation, over the real Dovecot and aiosmtpd: each mail is its receiving
client's, with that client's prefix, sender and knowledge base; nothing crosses between clients."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mailbot.cli import main
from mailbot.db.engine import make_engine, make_session_factory
from mailbot.db.schema import InboundMail, OutboxMail, Ticket
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE
from tests.e2e.conftest import make_mail, parse, text_of
from tests.servers import DovecotServer, SmtpSink

CUSTOMER = "kunde@customer.example.org"


@dataclass
class Installation:
    root: Path
    dovecot: DovecotServer
    sink: SmtpSink
    users: dict[str, str]  # slug → IMAP user

    @property
    def config(self) -> Path:
        return self.root / "mailbot.toml"

    def address(self, slug: str) -> str:
        return f"support@{slug}.example"

    def deliver(self, slug: str, raw: bytes) -> None:
        self.dovecot.deliver_lmtp(self.users[slug], raw)

    def run_once(self, *extra: str, expect: int = 0) -> None:
        assert main(["run", "--once", "--config", str(self.config), *extra]) == expect

    def status(self, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
        capsys.readouterr()
        assert main(["status", "--json", "--config", str(self.config), *extra]) == 0
        return json.loads(capsys.readouterr().out)

    def rows(self, model: Any) -> list[Any]:
        sessions = make_session_factory(make_engine(f"sqlite:///{self.root / 'mailbot.db'}"))
        with sessions() as session:
            return list(session.scalars(select(model).order_by(model.id)))


def add_client(
    root: Path, dovecot: DovecotServer, slug: str, prefix: str, kb: Path | None, extra: str = ""
) -> str:
    user = dovecot.new_user()
    folder = root / "clients" / slug
    folder.mkdir(parents=True)
    if kb is not None:
        shutil.copytree(kb, folder / "knowledge_base")
    (folder / "client.toml").write_text(
        f"""
[support]
address = "support@{slug}.example"
name = "{slug.capitalize()} Support"
ticket_prefix = "{prefix}"

[imap]
host = "127.0.0.1"
port = {dovecot.imap_port}
security = "none"
username = "{user}"
password = "secret"
poll_seconds = 2
{extra}
""",
        encoding="utf-8",
    )
    return user


@pytest.fixture
def installation(tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink) -> Installation:
    (tmp_path / "mailbot.toml").write_text(
        f"""
[clients]
dir = "clients"

[database]
url = "sqlite:///mailbot.db"

[support]
ticket_numbers = "sequential"

[team]
address = "team@agency.example"
language = "de"

[smtp]
host = "127.0.0.1"
port = {smtp_sink.port}
security = "none"

[business_hours]
always_open = true
""",
        encoding="utf-8",
    )
    users = {
        "aktivo": add_client(tmp_path, dovecot, "aktivo", "AK", SHIPPED_KNOWLEDGE_BASE),
        "parkfuchs": add_client(tmp_path, dovecot, "parkfuchs", "PF", SHIPPED_KNOWLEDGE_BASE),
    }
    return Installation(tmp_path, dovecot, smtp_sink, users)


PASSWORD_QUESTION = (
    "Passwort vergessen",
    "Hallo, ich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?",
)
FAULT = (
    "App stürzt ab",
    "Seit dem Update stürzt die App bei jedem Start sofort ab. Ich kann nichts mehr tun.",
)


def test_each_mail_is_answered_by_the_client_that_received_it(installation, capsys):
    installation.deliver("aktivo", make_mail(CUSTOMER, *PASSWORD_QUESTION, to=installation.address("aktivo")))
    installation.deliver("parkfuchs", make_mail(CUSTOMER, *FAULT, to=installation.address("parkfuchs")))
    installation.run_once()

    tickets = {t.mailbox: t for t in installation.rows(Ticket)}
    assert tickets["aktivo"].reference.startswith("AK-") and tickets["aktivo"].state == "answered"
    assert tickets["parkfuchs"].reference.startswith("PF-") and tickets["parkfuchs"].state == "escalated"
    customer_mail = {m.mail_from: parse(m.data) for m in installation.sink.messages if CUSTOMER in m.rcpt_tos}
    assert set(customer_mail) == {"support@aktivo.example", "support@parkfuchs.example"}
    assert "[AK-" in customer_mail["support@aktivo.example"]["Subject"]
    assert "Aktivo Support" in customer_mail["support@aktivo.example"]["From"]
    assert "[PF-" in customer_mail["support@parkfuchs.example"]["Subject"]
    assert "Parkfuchs Support" in text_of(customer_mail["support@parkfuchs.example"].as_bytes())

    status = installation.status(capsys)
    assert status["tickets"] == {"answered": 1, "escalated": 1}  # totals ...
    assert status["clients"]["aktivo"]["tickets"] == {"answered": 1}  # ... and per client
    assert status["clients"]["parkfuchs"]["tickets"] == {"escalated": 1}
    only = installation.status(capsys, "--client", "parkfuchs")
    assert list(only["clients"]) == ["parkfuchs"] and only["tickets"] == {"escalated": 1}


def test_a_reference_of_another_client_opens_a_new_ticket_and_reveals_nothing(installation):
    installation.deliver("aktivo", make_mail(CUSTOMER, *FAULT, to=installation.address("aktivo")))
    installation.run_once()
    (aktivo_ticket,) = installation.rows(Ticket)
    sent = [m for m in installation.sink.messages if CUSTOMER in m.rcpt_tos]
    aktivo_message_id = parse(sent[0].data)["Message-ID"]

    hijack = make_mail(
        CUSTOMER,
        f"Re: [{aktivo_ticket.reference}] App stürzt ab — Status?",
        "Wie ist der Stand?",
        to=installation.address("parkfuchs"),
        headers={"In-Reply-To": aktivo_message_id, "References": aktivo_message_id},
    )
    installation.deliver("parkfuchs", hijack)
    installation.run_once()

    tickets = installation.rows(Ticket)
    assert len(tickets) == 2
    new = tickets[1]
    assert new.mailbox == "parkfuchs" and new.reference.startswith("PF-") and new.id != aktivo_ticket.id
    after = [m for m in installation.sink.messages if CUSTOMER in m.rcpt_tos][len(sent) :]
    for message in after:
        assert aktivo_ticket.reference not in text_of(message.data)
        assert message.mail_from == "support@parkfuchs.example"
    assert installation.rows(Ticket)[0].state == aktivo_ticket.state  # A's ticket untouched


def test_a_client_with_a_broken_knowledge_base_escalates_everything(installation):
    broken = installation.root / "clients" / "parkfuchs" / "knowledge_base" / "broken.de.md"
    broken.write_text("---\nid: broken\n---\nno language, no examples\n", encoding="utf-8")
    installation.deliver(
        "parkfuchs", make_mail(CUSTOMER, *PASSWORD_QUESTION, to=installation.address("parkfuchs"))
    )
    installation.deliver("aktivo", make_mail(CUSTOMER, *PASSWORD_QUESTION, to=installation.address("aktivo")))
    installation.run_once()
    tickets = {t.mailbox: t for t in installation.rows(Ticket)}
    assert tickets["aktivo"].state == "answered"
    assert tickets["parkfuchs"].state == "escalated"  # never answered from aktivo's articles


def test_a_broken_client_config_leaves_the_others_running(installation, capsys):
    config = installation.root / "clients" / "parkfuchs" / "client.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n[limits]\nmax_atempts = 2\n", encoding="utf-8")
    installation.deliver("aktivo", make_mail(CUSTOMER, *PASSWORD_QUESTION, to=installation.address("aktivo")))
    installation.run_once(expect=1)
    err = capsys.readouterr().err
    assert "client parkfuchs not served" in err and f"{config}" in err and "max_atempts" in err
    assert [t.state for t in installation.rows(Ticket)] == ["answered"]
    assert all(
        row.mailbox == "aktivo" for row in installation.rows(InboundMail) + installation.rows(OutboxMail)
    )
