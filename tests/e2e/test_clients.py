"""Several clients in one installation, over the real Dovecot and aiosmtpd: each mail is its receiving
client's, with that client's prefix, sender and knowledge base; nothing crosses between clients."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from functools import cached_property
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
    """mailbot.toml plus clients/<slug>/client.toml, one Dovecot user per client, one SMTP sink."""

    root: Path
    dovecot: DovecotServer
    sink: SmtpSink
    users: dict[str, str]  # slug → IMAP user
    database_url: str = ""

    @property
    def config(self) -> Path:
        return self.root / "mailbot.toml"

    def address(self, slug: str) -> str:
        return f"support@{slug}.example"

    def client_file(self, slug: str) -> Path:
        return self.root / "clients" / slug / "client.toml"

    def add(self, slug: str, prefix: str, extra: str = "", kb: Path | None = SHIPPED_KNOWLEDGE_BASE) -> None:
        self.users[slug] = add_client(self.root, self.dovecot, slug, prefix, kb, extra)

    def deliver(self, slug: str, raw: bytes) -> None:
        self.dovecot.deliver_lmtp(self.users[slug], raw)

    def arrives(self, slug: str, raw: bytes, when: str) -> None:
        """Delivered at `when` (the INBOX date the SLA clock starts from)."""
        self.dovecot.append(self.users[slug], "INBOX", raw, msg_time=datetime.fromisoformat(when))

    def run_once(self, *extra: str, expect: int = 0) -> None:
        assert main(["run", "--once", "--config", str(self.config), *extra]) == expect

    def cli(self, capsys: pytest.CaptureFixture[str], *args: str, expect: int = 0) -> tuple[str, str]:
        """`mailbot ARGS --config ...`: its exit code must be `expect`; (stdout, stderr)."""
        capsys.readouterr()
        assert main([*args, "--config", str(self.config)]) == expect
        captured = capsys.readouterr()
        return captured.out, captured.err

    def status(self, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
        return json.loads(self.cli(capsys, "status", "--json", *extra)[0])

    def sent(self, *, to: str | None = None, sender: str | None = None) -> list[EmailMessage]:
        """What reached the SMTP sink (envelope recipient `to`, envelope sender `sender`)."""
        return [
            parse(m.data)
            for m in self.sink.messages
            if (to is None or to in m.rcpt_tos) and (sender is None or m.mail_from == sender)
        ]

    @cached_property
    def _sessions(self) -> Any:
        return make_session_factory(make_engine(self.database_url))

    def rows(self, model: Any) -> list[Any]:
        with self._sessions() as session:
            return list(session.scalars(select(model).order_by(model.id)))

    def tickets(self, slug: str | None = None) -> list[Ticket]:
        return [t for t in self.rows(Ticket) if slug is None or t.mailbox == slug]


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


def make_installation(
    root: Path,
    dovecot: DovecotServer,
    sink: SmtpSink,
    *,
    database_url: str | None = None,
    model_dir: Path | None = None,
    defaults: str = "[business_hours]\nalways_open = true\n",
) -> Installation:
    """An installation without clients yet (`Installation.add`). `model_dir`: a folder shared by
    tests, so a client whose knowledge base is the same as in an earlier test is not trained again.
    `defaults`: more sections of mailbot.toml."""
    url = database_url or f"sqlite:///{root / 'mailbot.db'}"
    (root / "clients").mkdir(parents=True)
    classifier = f'[classifier]\nmodel_dir = "{model_dir}"\n' if model_dir is not None else ""
    (root / "mailbot.toml").write_text(
        f"""
[clients]
dir = "clients"

[database]
url = "{url}"

[support]
ticket_numbers = "sequential"

[team]
address = "team@agency.example"
language = "de"

[smtp]
host = "127.0.0.1"
port = {sink.port}
security = "none"

{classifier}
{defaults}
""",
        encoding="utf-8",
    )
    return Installation(root, dovecot, sink, {}, url)


def shared_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model folder for the whole test run: a client with the same slug and articles as in an
    earlier test loads the model saved then instead of training again (minutes over a module)."""
    folder = tmp_path_factory.getbasetemp() / "client-models"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture
def installation(tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink) -> Installation:
    built = make_installation(tmp_path, dovecot, smtp_sink)
    built.add("aktivo", "AK")
    built.add("parkfuchs", "PF")
    return built


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
