"""`mailbot kb learn` over a history made over the wire: escalations, agents' answers (by mail and CLI),
a severity correction, a customer coming back; then list, accept, reject, and the knowledge base."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailbot.classify.severity_examples import load_severity_examples
from mailbot.cli import main
from mailbot.kb import load_knowledge_base
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE
from tests.e2e.conftest import TEAM, Bot, make_mail, parse, write_config
from tests.e2e.test_agent_mail import MEMBER, reply_to_notice
from tests.servers import DovecotServer, SmtpSink

ERIKA = "erika.muster@example.org"
MAX = "max.beispiel@example.org"
LENA = "lena.schmidt@example.org"
PASSWORD_QUESTION = (
    "Hallo,\n\nich habe mein Passwort vergessen und komme nicht mehr in mein Konto. Wie kann ich es "
    "zurücksetzen? Sie erreichen mich unter 0170 1234567.\n\nViele Grüße\nErika Muster\n"
)
CRASH_REPORT = (
    "Guten Tag,\n\nseit dem letzten Update stürzt die App beim Öffnen sofort ab, meine Kundennummer ist "
    "4711081542.\n\nGruß\nMax Beispiel\n"
)
CANCEL_QUESTION = "Hallo,\n\nwie kann ich mein Abo kündigen?\n\nDanke\nLena Schmidt\n"


@pytest.fixture
def desk(tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink) -> Bot:
    """Members answer by mail; every answer is a near miss (threshold 0.999), so every mail is escalated
    and the notice suggests the best article; the knowledge base is a copy the test may change."""
    kb = tmp_path / "kb"
    shutil.copytree(SHIPPED_KNOWLEDGE_BASE, kb)
    config = write_config(
        tmp_path / "mailbot.toml",
        dovecot,
        imap_user,
        smtp_sink,
        team=f'members = ["{MEMBER}"]',
        extra="[classifier]\nthreshold = 0.999\n",
    )
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace(f'path = "{SHIPPED_KNOWLEDGE_BASE}"', f'path = "{kb}"', 1), encoding="utf-8"
    )
    return Bot(dovecot, imap_user, smtp_sink, config)


def learn(desk: Bot, capsys: pytest.CaptureFixture[str], *args: str, now: datetime | None = None) -> str:
    capsys.readouterr()
    clock = ["--now", now.isoformat()] if now else []
    code = main(["kb", "learn", "--config", str(desk.config), *clock, *args])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def listed(desk: Bot, capsys: pytest.CaptureFixture[str], now: datetime | None = None) -> dict[str, dict]:
    return {c["id"]: c for c in json.loads(learn(desk, capsys, "--json", now=now))}


def history(desk: Bot) -> None:
    """Erika's question answered by a member's "OK" (the suggested article), Max's crash report
    answered on the command line and its severity corrected, Lena's question answered but she comes
    back: it did not help."""
    config = ["--config", str(desk.config)]
    desk.deliver(make_mail(ERIKA, "Passwort vergessen", PASSWORD_QUESTION))
    desk.run_once()
    [notice] = desk.sent_to(TEAM)
    desk.deliver(reply_to_notice(notice, MEMBER, "OK"))
    desk.deliver(make_mail(MAX, "App stürzt ab", CRASH_REPORT))
    desk.deliver(make_mail(LENA, "Abo", CANCEL_QUESTION))
    desk.run_once()
    erika, max_, lena = desk.tickets()
    assert erika.state == "answered"  # by the member's OK
    assert main(["tickets", "reply", max_.reference, "-m", "Bitte installieren Sie 2.3.1.", *config]) == 0
    assert main(["tickets", "severity", max_.reference, "minor", "--note", "nur ein Gerät", *config]) == 0
    assert main(["tickets", "reply", lena.reference, "-m", "Unter Profil > Abo.", *config]) == 0
    answer = parse(desk.sent_to(LENA)[-1])
    desk.deliver(
        make_mail(
            LENA,
            "AW: " + answer["Subject"],
            "Das hilft nicht, da gibt es keinen Knopf.",
            headers={"In-Reply-To": answer["Message-ID"], "References": answer["Message-ID"]},
        )
    )
    desk.run_once()


def test_agents_answers_become_examples_only_when_accepted(desk: Bot, capsys, tmp_path: Path) -> None:
    history(desk)
    erika, max_, lena = desk.tickets()
    kb = tmp_path / "kb"
    article_file = kb / "account" / "password-reset.de.md"
    before = article_file.read_bytes()

    waiting = listed(desk, capsys)
    assert waiting[f"t{erika.id}"]["pending"] and waiting[f"t{max_.id}"]["pending"]
    assert f"t{lena.id}" not in waiting  # she came back: the answer did not settle it
    assert waiting[f"s{max_.id}"]["target"] == "minor" and not waiting[f"s{max_.id}"]["pending"]
    assert main(["kb", "learn", "--config", str(desk.config), "--accept", f"t{erika.id}"]) == 1
    assert "may still come back" in capsys.readouterr().err
    assert article_file.read_bytes() == before

    later = datetime.now(UTC) + timedelta(days=10)
    offered = listed(desk, capsys, later)
    assert set(offered) == {f"t{erika.id}", f"t{max_.id}", f"s{max_.id}"}
    erika_c, max_c = offered[f"t{erika.id}"], offered[f"t{max_.id}"]
    assert erika_c["target"] == "password-reset" and not erika_c["pending"]  # the article the member sent
    assert max_c["target"] is None and max_c["ranking"]  # named at confirmation, the ranking helps
    assert "1234567" not in erika_c["text"] and "ich habe mein Passwort vergessen" in erika_c["text"]
    assert "4711081542" not in max_c["text"]
    text_listing = learn(desk, capsys, now=later)
    assert f"name one: --accept t{max_.id}=ARTICLE" in text_listing and "classifier's ranking" in text_listing

    # without an article, t<max> cannot be accepted; Erika's goes into password-reset.de.md
    code = main(
        ["kb", "learn", "--config", str(desk.config), "--now", later.isoformat(), "--accept", f"t{max_.id}"]
    )
    assert code == 1 and "name the article" in capsys.readouterr().err
    # --since is read in the business calendar's zone, where today may already be tomorrow in UTC
    after_today = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    assert json.loads(learn(desk, capsys, "--json", "--since", after_today, now=later)) == []
    accept = ["--accept", f"t{erika.id}", f"s{max_.id}", f"s{max_.id}"]  # named twice: written once
    assert main(["kb", "learn", "--config", str(desk.config), "--now", later.isoformat(), *accept]) == 1
    out, err = capsys.readouterr()
    assert out.count("example added to") == 2 and "retrains before its next pass" in out
    assert f"s{max_.id}: was decided already" in err
    after = article_file.read_bytes()
    assert after.startswith(before.split(b"\n---\n", 1)[0])  # the front matter's start unchanged
    assert len(after.splitlines()) == len(before.splitlines()) + 1
    assert after.replace(b"\n  - " + erika_c["text"].encode() + b"\n", b"\n", 1) == before
    assert main(["kb", "check", "--kb", str(kb)]) == 0
    assert (
        erika_c["text"]
        in next(
            a for a in load_knowledge_base(kb).articles if a.id == "password-reset" and a.language == "de"
        ).examples
    )
    assert any(
        e.label == "minor" and e.text == offered[f"s{max_.id}"]["text"] for e in load_severity_examples(kb)
    )

    # reject the crash report: never offered again; nothing is accepted twice
    out = learn(desk, capsys, "--reject", f"t{max_.id}", now=later)
    assert "rejected" in out
    assert listed(desk, capsys, later) == {}
    unchanged = article_file.read_bytes()
    code = main(
        ["kb", "learn", "--config", str(desk.config), "--now", later.isoformat(), "--accept", f"t{erika.id}"]
    )
    assert code == 1 and "decided already" in capsys.readouterr().err
    assert article_file.read_bytes() == unchanged
