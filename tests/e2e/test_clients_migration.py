"""A single-file installation moves into a clients folder: its database rows stay that client's."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from mailbot.cli import main
from mailbot.db.engine import make_engine, make_session_factory
from mailbot.db.schema import Ticket
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE
from tests.e2e.conftest import SUPPORT, make_mail, parse, write_config

CUSTOMER = "kunde@customer.example.org"


def tickets(url: str) -> list[Ticket]:
    with make_session_factory(make_engine(url))() as session:
        return list(session.scalars(select(Ticket).order_by(Ticket.id)))


def test_rows_of_a_single_file_installation_move_to_its_client(
    tmp_path: Path, dovecot, imap_user, smtp_sink, capsys
):
    (tmp_path / "single").mkdir()
    single = write_config(tmp_path / "single" / "mailbot.toml", dovecot, imap_user, smtp_sink)
    url = f"sqlite:///{tmp_path / 'single' / 'mailbot.db'}"
    dovecot.deliver_lmtp(
        imap_user, make_mail(CUSTOMER, "App stürzt ab", "Die App stürzt bei jedem Start ab.")
    )
    assert main(["run", "--once", "--config", str(single)]) == 0
    (old,) = tickets(url)
    assert old.mailbox == "default" and old.state == "escalated"
    acknowledgement = parse(smtp_sink.messages[-1].data)

    # the same mailbox, now one client of an installation with a clients folder
    root = tmp_path / "agency"
    folder = root / "clients" / "aktivo"
    folder.mkdir(parents=True)
    text = single.read_text(encoding="utf-8")
    own, _, _ = text.partition("[database]")
    (folder / "client.toml").write_text(own, encoding="utf-8")
    (folder / "knowledge_base").symlink_to(SHIPPED_KNOWLEDGE_BASE)
    (root / "mailbot.toml").write_text(
        f'[clients]\ndir = "clients"\n[database]\nurl = "{url}"\n', encoding="utf-8"
    )
    config = str(root / "mailbot.toml")

    # before the rename the database holds no mail of "aktivo" but its Processed folder does: refused
    assert main(["run", "--once", "--config", config]) == 1
    assert "not started" in capsys.readouterr().err
    assert main(["clients", "rename", "default", "aktivo", "--config", config]) == 0
    assert main(["clients", "rename", "default", "aktivo", "--config", config]) == 1  # nothing left to move

    follow_up = make_mail(
        CUSTOMER,
        f"Re: {acknowledgement['Subject']}",
        "Es passiert immer noch.",
        to=SUPPORT,
        headers={"In-Reply-To": acknowledgement["Message-ID"], "References": acknowledgement["Message-ID"]},
    )
    dovecot.deliver_lmtp(imap_user, follow_up)
    assert main(["run", "--once", "--config", config]) == 0
    (same,) = tickets(url)  # the follow-up joined the old ticket: no new one
    assert same.id == old.id and same.mailbox == "aktivo"
