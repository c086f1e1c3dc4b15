"""`mailbot demo` (Maildir in, local SMTP sink out) and the small CLI commands."""

from __future__ import annotations

import json
import re
import stat
from email import message_from_bytes, policy
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from mailbot.cli import main
from mailbot.db.schema import ReplyState, ReviewReply, ReviewState, StoreReviewRow, Ticket
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE, SHIPPED_TEMPLATES


def test_demo_runs_the_real_pipeline_and_leaves_eml_files(tmp_path, capsys):
    directory = tmp_path / "demo"
    tuesday = "2026-12-08T10:00+00:00"  # within both clients' business hours
    assert main(["demo", "--dir", str(directory), "--now", tuesday]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.endswith(".eml") or ".eml " in line}
    assert "answered    password-reset" in lines["01-password-forgotten-de.eml"]
    assert "escalated" in lines["03-crash-after-update-de.eml"]
    assert "escalated" in lines["04-lost-property-en.eml"]
    assert "ignored     rule auto_submitted" in lines["07-out-of-office-de.eml"]
    assert "ignored" in lines["08-newsletter-en.eml"]
    # the second client app of the same installation: its own knowledge base, prefix and sender
    assert "client kerbside: Kerbside Help <help@kerbside.example>, open" in out
    assert re.search(r"answered +extend-parking \[KS-[1-9][0-9]{7}\]", lines["01-extend-meeting-en.eml"])
    assert "escalated" in lines["03-crash-start-parking-en.eml"]
    assert "ignored" in lines["05-out-of-office-en.eml"]

    sent = sorted((directory / "sent").glob("*.eml"))
    # aktivo: 6 answers, 2 acknowledgements, 2 team notices, and for its reviews the crash ticket's team
    # notice and the digest of drafts; kerbside: 2, 2, 2
    assert len(sent) == 18
    mails = [message_from_bytes(path.read_bytes(), policy=policy.default) for path in sent]
    kerbside = [m for m in mails if "help@kerbside.example" in m["From"]]
    assert len(kerbside) == 6 and all("[KS-" in m["Subject"] for m in kerbside)
    assert sum("team@kerbside.example" in m["To"] for m in kerbside) == 2  # its own team
    aktivo = [m for m in mails if "support@example.com" in m["From"]]
    tickets_mails = [m for m in aktivo if not m["Subject"].startswith("Bewertungen")]  # the digest has none
    assert len(tickets_mails) == 11
    assert all(re.search(r"\[MB-[1-9][0-9]{7}\]", m["Subject"]) for m in tickets_mails)  # random numbers
    german_team = [m.get_body(("plain",)).get_content() for m in aktivo if m["To"] == "team@example.com"]
    assert any("Grund:    laut Artikel app-crash gehört dieses Thema zum 2nd Level" in t for t in german_team)
    # the samples were moved out of each client's Maildir into its .Processed folder
    for slug, count in (("aktivo", 10), ("kerbside", 5)):
        maildir = directory / "clients" / slug / "Maildir"
        assert not list((maildir / "new").iterdir())
        assert len(list((maildir / ".Processed" / "cur").iterdir())) == count

    capsys.readouterr()
    assert main(["status", "--json", "--config", str(directory / "mailbot.toml")]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["inbound"] == {"done": 15}
    assert status["outbox"] == {"sent": 18}
    assert status["clients"]["kerbside"]["inbound"] == {"done": 5}

    _assert_reviews_answered(directory, out, mails, capsys)

    # running the demo again starts afresh instead of mixing two runs
    assert main(["demo", "--dir", str(directory), "--now", tuesday]) == 0
    assert len(list((directory / "sent").glob("*.eml"))) == 18
    assert capsys.readouterr().out.count("posted automatically") == 1


def _assert_reviews_answered(directory: Path, out: str, mails: list, capsys) -> None:
    """The demo app's six store reviews: one thank-you posted by itself (the daily cap of 1 keeps the second
    a draft), the others drafts, a ticket or a person's; all of them aktivo's, none of them kerbside's."""
    part = out[out.index("app-store reviews") : out.index("client kerbside")]
    assert part.count("posted automatically") == 1
    assert "thank-you posted automatically; the store now shows (public):" in part
    assert "today's automatic thank-you is used up" in part
    assert part.count("waits for `mailbot reviews approve R") == 3
    assert part.count("a person decides:") == 2 and "neither German nor English" in part
    assert re.search(r"ticket \[MB-[1-9][0-9]{7}\] \((critical|major)\), the team was told", part)
    assert "mailbot reviews list --config" in out and "cannot reach a store" in out

    engine = create_engine(f"sqlite:///{directory / 'mailbot.db'}")
    with Session(engine) as session:
        reviews = list(session.scalars(select(StoreReviewRow).order_by(StoreReviewRow.id)))
        replies = list(session.scalars(select(ReviewReply).order_by(ReviewReply.id)))
        tickets = list(session.scalars(select(Ticket)))
    engine.dispose()
    assert len(reviews) == 6 and {r.mailbox for r in reviews} == {"aktivo"}
    assert (
        sorted((r.store, r.app) for r in reviews)
        == [("apple", "1470010001")] * 3 + [("google", "de.aktivo.app")] * 3
    )
    assert {r.mailbox for r in replies} == {"aktivo"}
    (posted,) = [r for r in replies if r.state == ReplyState.POSTED]
    assert posted.auto and posted.kind == "thank" and posted.public_state == "published"
    drafts = sorted(r.kind for r in replies if r.state == ReplyState.DRAFT)
    assert drafts == ["answer", "passed_on", "thank"]
    assert sum(r.state == ReviewState.PERSON for r in reviews) == 2
    (crash,) = [r for r in reviews if r.ticket_id is not None]
    (ticket,) = [t for t in tickets if t.id == crash.ticket_id]
    assert crash.rating == 1 and crash.language == "de" and ticket.mailbox == "aktivo"
    assert [t.mailbox for t in tickets if t.customer.endswith(".invalid")] == ["aktivo"]
    # nothing of aktivo's reviews in kerbside's mail; aktivo's team got the ticket notice and the digest
    kerbside = "\n".join(m.get_body(("plain",)).get_content() for m in mails if "kerbside" in m["From"])
    assert all(r.title not in kerbside and r.body[:30] not in kerbside for r in reviews)
    to_team = [m["Subject"] for m in mails if m["To"] == "team@example.com"]
    assert any("App-Store-Bewertung" in s for s in to_team) and any("Bewertungen" in s for s in to_team)
    keys = sorted((directory / "keys").iterdir())
    assert [k.suffix for k in keys] == [".p8", ".json"]
    assert all(stat.S_IMODE(k.stat().st_mode) == 0o600 for k in keys)

    config = str(directory / "mailbot.toml")
    capsys.readouterr()
    assert main(["reviews", "list", "--config", config, "--client", "aktivo"]) == 0
    listed = capsys.readouterr().out
    assert listed.count("a draft waits for approval") == 3 and listed.count("a person decides") == 2
    # the stand-ins are gone, as the demo says: the next pass cannot reach a store
    assert main(["reviews", "run", "--config", config, "--client", "aktivo"]) == 1
    assert "could not be reached" in capsys.readouterr().out


def test_demo_refuses_a_directory_it_did_not_make(tmp_path, capsys):
    (tmp_path / "precious.txt").write_text("keep me")
    assert main(["demo", "--dir", str(tmp_path)]) == 2
    assert "not made by `mailbot demo`" in capsys.readouterr().err
    assert (tmp_path / "precious.txt").exists()


def test_kb_check_accepts_the_shipped_kb_and_names_file_and_line_of_a_mistake(tmp_path, capsys):
    assert main(["kb", "check", "--kb", str(SHIPPED_KNOWLEDGE_BASE)]) == 0
    assert "OK" in capsys.readouterr().out

    article = tmp_path / "broken.md"
    article.write_text("---\nid: Broken Id\ntitle: x\nlanguage: de\nexamples:\n  - hallo\n---\nAntwort\n")
    assert main(["kb", "check", "--kb", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{article}:2:" in out and "fix" in out

    article.unlink()
    (tmp_path / "_severity").mkdir()
    (tmp_path / "_severity" / "critical.md").write_text("---\nseverity: urgent\nexamples:\n  - kaputt\n---\n")
    assert main(["kb", "check", "--kb", str(tmp_path)]) == 1
    assert "_severity/critical.md" in capsys.readouterr().out


def test_bad_config_names_the_key(tmp_path, capsys):
    config = tmp_path / "mailbot.toml"
    config.write_text('[support]\naddress = "nope"\n[team]\naddress = "t@example.com"\n')
    assert main(["status", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "[support] address" in err and "[smtp]: required key is missing" in err


def test_maildir_duplicates_are_moved_and_processed_once(tmp_path, capsys):
    from mailbot.demo.sink import EmlSink
    from tests.e2e.conftest import make_mail

    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    mail = make_mail("erika@example.org", "Passwort vergessen", "Ich habe mein Passwort vergessen.")
    (maildir / "new" / "1.a.host").write_bytes(mail)
    (maildir / "new" / "2.b.host").write_bytes(mail)  # delivered twice
    with EmlSink(tmp_path / "sent") as sink:
        config = tmp_path / "mailbot.toml"
        config.write_text(
            f'[support]\naddress = "support@example.com"\n[team]\naddress = "team@example.com"\n'
            f'[maildir]\npath = "Maildir"\n'
            f'[smtp]\nhost = "127.0.0.1"\nport = {sink.port}\nsecurity = "none"\n'
            f'[knowledge_base]\npath = "{SHIPPED_KNOWLEDGE_BASE}"\n'
            f'[templates]\npath = "{SHIPPED_TEMPLATES}"\n'
        )
        assert main(["run", "--once", "--config", str(config)]) == 0
        assert main(["run", "--once", "--config", str(config)]) == 0
        assert sink.received == 1
    assert not list((maildir / "new").iterdir())
    assert len(list((maildir / ".Processed" / "cur").iterdir())) == 2
