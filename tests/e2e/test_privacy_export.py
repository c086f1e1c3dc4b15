"""`mailbot privacy export` (issue 15, Art. 15): everything about one address of one client, nothing else."""

from __future__ import annotations

import json
import stat
import zipfile
from pathlib import Path

from mailbot.cli import main
from tests.e2e.conftest import Bot, make_mail, parse

ERIKA = "Erika.Muster@example.org"
OTHER = "max.beispiel@example.org"
QUESTION = "Hallo,\n\nich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?\n\nErika\n"


def test_export_holds_the_persons_mails_tickets_and_replies_and_nobody_elses(
    bot: Bot, tmp_path: Path, capsys
) -> None:
    first = make_mail(ERIKA, "Passwort vergessen", QUESTION)
    bot.deliver(first)
    bot.deliver(make_mail(OTHER, "Rechnung", "Wo finde ich meine Rechnung? Max"))
    bot.run_once()
    answer = parse(bot.sent_to(ERIKA)[0])
    reply = make_mail(
        ERIKA, "AW: Passwort", "Danke, hat geklappt!",
        headers={"In-Reply-To": answer["Message-ID"], "References": answer["Message-ID"]},
    )  # fmt: skip
    bot.deliver(reply)
    bot.run_once()

    out = tmp_path / "erika.zip"
    capsys.readouterr()
    # typed in another case: the same person
    assert (
        main(
            ["privacy", "export", "--config", str(bot.config), "--address", ERIKA.lower(), "--out", str(out)]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "2 received, 1 ticket(s), 1 sent" in printed and ERIKA.lower() not in printed  # masked
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with zipfile.ZipFile(out) as bundle:
        document = json.loads(bundle.read("export.json"))
        raw = {name: bundle.read(name) for name in document["files"]}
    assert [m["subject"] for m in document["received_mails"]] == ["Passwort vergessen", "AW: Passwort"]
    assert [t["customer"] for t in document["tickets"]] == [ERIKA]
    assert {e["kind"] for e in document["ticket_events"]} >= {"created", "answered", "customer_reply"}
    assert [m["kind"] for m in document["sent_mails"]] == ["answer"]
    stored = [data for name, data in raw.items() if name.startswith("mails/received-")]
    assert [data.endswith(sent) for data, sent in zip(stored, (first, reply), strict=True)] == [True, True]
    assert stored[0].startswith(b"Return-Path:")  # as the mailbox got them: the server's trace headers too
    everything = json.dumps(document) + "".join(r.decode("utf-8", "replace") for r in raw.values())
    assert OTHER not in everything and "Rechnung" not in everything


def test_export_of_an_unknown_address_is_empty_and_a_bad_address_is_refused(
    bot: Bot, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "nobody.zip"
    assert (
        main(
            [
                "privacy",
                "export",
                "--config",
                str(bot.config),
                "--address",
                "nobody@example.org",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "nothing held" in capsys.readouterr().out
    with zipfile.ZipFile(out) as bundle:
        assert json.loads(bundle.read("export.json"))["tickets"] == []
    assert (
        main(
            [
                "privacy",
                "export",
                "--config",
                str(bot.config),
                "--address",
                "not an address",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "is not an e-mail address" in capsys.readouterr().err
