"""A mailbot wired to the real test Dovecot and a real aiosmtpd sink, driven through its CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mailbot.cli import main
from mailbot.config import load_settings
from mailbot.db.engine import make_engine, make_session_factory
from mailbot.db.schema import InboundMail, OutboxMail, Ticket
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE, SHIPPED_TEMPLATES
from tests.servers import DovecotServer, SmtpSink

SUPPORT = "support@example.com"
TEAM = "team@example.com"


def make_mail(
    sender: str,
    subject: str,
    body: str,
    *,
    to: str = SUPPORT,
    name: str = "",
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"{name} <{sender}>" if name else sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = format_datetime(datetime.now().astimezone())
    mail["Message-ID"] = message_id or make_msgid(domain="customer.example.org")
    for key, value in (headers or {}).items():
        mail[key] = value
    mail.set_content(body)
    return mail.as_bytes(policy=policy.SMTP)


def parse(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def text_of(raw: bytes) -> str:
    body = parse(raw).get_body(("plain",))
    assert body is not None
    return body.get_content()


@dataclass
class Bot:
    dovecot: DovecotServer
    user: str
    sink: SmtpSink
    config: Path

    def deliver(self, raw: bytes) -> None:
        """As an MTA would: LMTP into the user's INBOX."""
        self.dovecot.deliver_lmtp(self.user, raw)

    def run_once(self, *extra: str, expect: int = 0) -> None:
        assert main(["run", "--once", "--config", str(self.config), *extra]) == expect

    def status(self, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
        capsys.readouterr()
        assert main(["status", "--json", "--config", str(self.config)]) == 0
        return json.loads(capsys.readouterr().out)

    def sent_to(self, address: str) -> list[bytes]:
        return [m.data for m in self.sink.messages if address in m.rcpt_tos]

    @cached_property
    def db(self) -> Any:
        """One engine for the test's lifetime (the config's database does not change during a test)."""
        settings = load_settings(self.config)
        return make_session_factory(make_engine(settings.database.url))

    def tickets(self) -> list[Ticket]:
        with self.db() as session:
            return list(session.scalars(select(Ticket).order_by(Ticket.id)))

    def inbound(self) -> list[InboundMail]:
        with self.db() as session:
            return list(session.scalars(select(InboundMail).order_by(InboundMail.id)))

    def outbox(self) -> list[OutboxMail]:
        with self.db() as session:
            return list(session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


MODEL_FOLDER: list[Path] = []  # where this test's bots keep their classifier model (`model_folder`)


@pytest.fixture(scope="session")
def shared_model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shared-model")


@pytest.fixture(autouse=True)
def model_folder(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """One classifier model folder for the bots of the whole run: the shipped KB's model is trained
    once and read by the tests after (training and saving it took ~2.6 s per test, minutes over the
    suite); a KB that differs is trained there again. A test about a missing model or about training
    from scratch is marked `own_model` and gets a folder of its own."""
    if request.node.get_closest_marker("own_model"):
        folder = tmp_path / "model"
    else:
        folder = request.getfixturevalue("shared_model_folder")
    MODEL_FOLDER.append(folder)
    yield folder
    MODEL_FOLDER.clear()


def with_model_folder(extra: str) -> str:
    """`extra` with this test's model folder in its [classifier] section (one is added if it has none)."""
    if not MODEL_FOLDER or "model_dir" in extra:
        return extra
    line = f'model_dir = "{MODEL_FOLDER[-1]}"'
    if "[classifier]" in extra:
        return extra.replace("[classifier]", f"[classifier]\n{line}", 1)
    return f"{extra}\n[classifier]\n{line}\n"


def write_config(
    path: Path,
    dovecot: DovecotServer,
    user: str,
    sink: SmtpSink,
    *,
    security: str = "none",
    extra: str = "",
    hours: str = "always_open = true",
    database_url: str | None = None,
    support: str = "",
    team: str = "",
) -> Path:
    """`extra`: whole sections at the end; `support`, `team`: more keys of [support], [team]; `hours`:
    [business_hours]."""
    port = dovecot.imaps_port if security == "tls" else dovecot.imap_port
    path.write_text(
        f"""
[support]
address = "{SUPPORT}"
name = "Aktivo Support"
ticket_prefix = "MB"
ticket_numbers = "sequential"  # readable references in the tests; the default (random) is tested on its own
{support}
[team]
address = "{TEAM}"
language = "de"
{team}
[imap]
host = "127.0.0.1"
port = {port}
security = "{security}"
cafile = "{dovecot.cafile}"
username = "{user}"
password = "secret"
poll_seconds = 2
[smtp]
host = "127.0.0.1"
port = {sink.port}
security = "none"
[database]
url = "{database_url or f"sqlite:///{path.parent / 'mailbot.db'}"}"
[knowledge_base]
path = "{SHIPPED_KNOWLEDGE_BASE}"
[templates]
path = "{SHIPPED_TEMPLATES}"
[business_hours]
{hours}
{with_model_folder(extra)}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def bot(tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink) -> Iterator[Bot]:
    yield Bot(
        dovecot, imap_user, smtp_sink, write_config(tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink)
    )
