"""`mailbot tickets list|show|reply` over two clients: with `--client` only that client's tickets, without
it every client's, each row naming its client; a bare number that both clients have is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import text_of
from tests.e2e.test_clients import FAULT, Installation, make_installation, shared_models
from tests.e2e.test_clients_isolation import A, B, to
from tests.servers import DovecotServer, SmtpSink

pytestmark = pytest.mark.servers
CUSTOMER = "erika@customer.example.org"


@pytest.fixture
def installation(
    tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink, tmp_path_factory: pytest.TempPathFactory
) -> Installation:
    built = make_installation(tmp_path, dovecot, smtp_sink, model_dir=shared_models(tmp_path_factory))
    built.add(A, "AK")
    built.add(B, "PF")
    for slug in (A, B):
        to(built, slug, CUSTOMER, *FAULT)
    built.run_once()
    return built


def test_list_with_and_without_client(installation: Installation, capsys: pytest.CaptureFixture[str]) -> None:
    rows = json.loads(installation.cli(capsys, "tickets", "list", "--json")[0])
    assert sorted((row["client"], row["reference"]) for row in rows) == [(A, "AK-000001"), (B, "PF-000001")]
    only = json.loads(installation.cli(capsys, "tickets", "list", "--json", "--client", B)[0])
    assert [(row["client"], row["reference"]) for row in only] == [(B, "PF-000001")]
    out, _ = installation.cli(capsys, "tickets", "list")
    lines = out.splitlines()
    assert len(lines) == 2
    assert any(line.startswith(A) and "AK-000001" in line for line in lines)
    assert any(line.startswith(B) and "PF-000001" in line for line in lines)
    out, _ = installation.cli(capsys, "tickets", "list", "--client", A)
    assert "AK-000001" in out and "PF-000001" not in out


def test_show_names_the_client_and_refuses_a_number_both_clients_have(
    installation: Installation, capsys: pytest.CaptureFixture[str]
) -> None:
    _, err = installation.cli(capsys, "tickets", "show", "1", expect=1)
    assert "several clients" in err and A in err and B in err
    shown = json.loads(installation.cli(capsys, "tickets", "show", "PF-000001", "--json")[0])
    assert shown["client"] == B and shown["reference"] == "PF-000001"
    shown = json.loads(installation.cli(capsys, "tickets", "show", "1", "--client", A, "--json")[0])
    assert shown["client"] == A and shown["reference"] == "AK-000001"
    assert {entry["to"] for entry in shown["conversation"] if entry["direction"] == "out"} <= {CUSTOMER}
    _, err = installation.cli(capsys, "tickets", "show", "PF-000001", "--client", A, expect=1)
    assert "PF-000001" in err


def test_reply_goes_out_as_the_ticket_s_client_and_never_through_another(
    installation: Installation, capsys: pytest.CaptureFixture[str]
) -> None:
    before = len(installation.sink.messages)
    installation.cli(capsys, "tickets", "reply", "1", "-m", "Wir sind dran.", expect=1)  # whose 1?
    installation.cli(capsys, "tickets", "reply", "PF-000001", "--client", A, "-m", "Falsch.", expect=1)
    assert len(installation.sink.messages) == before

    out, _ = installation.cli(
        capsys, "tickets", "reply", "1", "--client", B, "-m", "Wir sind dran.", "--agent", "Katrin B."
    )
    assert "PF-000001" in out
    installation.cli(capsys, "tickets", "reply", "ak-1", "-m", "Wir prüfen das.", "--agent", "Jonas K.")
    replies = installation.sent(to=CUSTOMER)[-2:]
    by_sender = {message["From"].addresses[0].addr_spec: message for message in replies}
    parkfuchs, aktivo = by_sender[installation.address(B)], by_sender[installation.address(A)]
    assert "[PF-000001]" in parkfuchs["Subject"]
    text = text_of(parkfuchs.as_bytes())
    assert "Wir sind dran." in text and "Mit freundlichen Grüßen\nKatrin B.\nParkfuchs Support" in text
    assert "[AK-000001]" in aktivo["Subject"]
    assert "Jonas K.\nAktivo Support" in text_of(aktivo.as_bytes())
