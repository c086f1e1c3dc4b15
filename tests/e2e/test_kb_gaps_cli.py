"""`mailbot kb gaps` on mail decided over the wire: Dovecot in, the real pipeline escalates what the
knowledge base does not cover, gaps.json and drafts out, `kb check` refuses a draft until it is answered."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.cli import main
from mailbot.db.schema import KnowledgeBaseGap, Outcome, Ticket
from mailbot.reports.gap_corpus import load_gap_mails
from tests.e2e.conftest import Bot, make_mail
from tests.integration.db_rows import NOW, inbound, migrated
from tests.unit.gap_mails import ONE_OFFS, PLANTED

TOPICS = ("gutschein", "warteliste")
PHONE = "0170 9876543"


def days() -> list[str]:
    today = date.today()
    return [
        "--since",
        (today - timedelta(days=1)).isoformat(),
        "--until",
        (today + timedelta(days=1)).isoformat(),
    ]


def gaps(bot: Bot, out: Path) -> dict[str, object]:
    assert main(["kb", "gaps", "--config", str(bot.config), *days(), "--out", str(out)]) == 0
    return json.loads((out / "gaps.json").read_text(encoding="utf-8"))


def test_kb_gaps_finds_the_topics_without_article_and_writes_drafts_kb_check_refuses_until_answered(
    bot: Bot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    senders: dict[str, str] = {}
    for topic in TOPICS:
        for number, (subject, body) in enumerate(PLANTED[topic]):
            sender = f"{topic}.{number}@example.org"
            senders[sender] = topic
            text = f"{body}\nSie erreichen mich unter {PHONE}." if number == 0 else body
            bot.deliver(make_mail(sender, subject or "Frage", f"Hallo,\n\n{text}\n\nViele Grüße\n"))
    for number, (subject, body) in enumerate(ONE_OFFS[:3]):
        bot.deliver(make_mail(f"single.{number}@example.org", subject, body))
    bot.run_once()
    topic_of = {t.reference: senders.get(t.customer, "one-off") for t in bot.tickets()}

    capsys.readouterr()
    found = gaps(bot, tmp_path / "out")
    printed = capsys.readouterr().out

    entries = found["gaps"]
    assert isinstance(entries, list)
    assert {entry["id"] for entry in entries} == {"gap-0001", "gap-0002"}
    for entry in entries:
        sources = [r["reference"] for r in entry["representatives"]]
        (topic,) = {topic_of[reference] for reference in sources}  # one planted topic per gap
        assert topic in [term for term, _ in entry["terms"]]
        assert entry["verdict"] == "new" and entry["size"] >= 5
        assert entry["id"] in printed and entry["name"] in printed
    everything = (tmp_path / "out" / "gaps.json").read_text(encoding="utf-8") + "".join(
        path.read_text(encoding="utf-8") for path in (tmp_path / "out").glob("*.md")
    )
    assert "@example.org" not in everything and "9876543" not in everything

    drafts = sorted((tmp_path / "out").glob("gap-*.md"))
    assert [path.name for path in drafts] == ["gap-0001.de.md", "gap-0002.de.md"]
    capsys.readouterr()
    assert main(["kb", "check", "--kb", str(tmp_path / "out")]) == 1
    refused = capsys.readouterr().out
    for path in drafts:
        line = next(n for n, text in enumerate(path.read_text().split("\n"), 1) if "[[draft]]" in text)
        assert f"{path}:{line}: the answer is still a draft" in refused
    for path in drafts:
        kept = [text for text in path.read_text(encoding="utf-8").split("\n") if "[[draft]]" not in text]
        path.write_text(
            "\n".join(kept).rstrip() + "\nTippen Sie auf **Profil → Gutscheine**.\n", encoding="utf-8"
        )
    assert main(["kb", "check", "--kb", str(tmp_path / "out")]) == 0

    again = gaps(bot, tmp_path / "again")
    assert [(e["id"], e["size"]) for e in again["gaps"]] == [(e["id"], e["size"]) for e in entries]  # type: ignore[index, union-attr]
    with bot.db() as session:
        stored = session.scalars(select(KnowledgeBaseGap).order_by(KnowledgeBaseGap.gap_id)).all()
        assert [(row.gap_id, len(row.members)) for row in stored] == [(e["id"], e["size"]) for e in entries]  # type: ignore[index]


def test_kb_gaps_needs_a_valid_range(bot: Bot, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["kb", "gaps", "--config", str(bot.config), "--out", str(tmp_path)]
    assert main([*args, "--since", "2026-12-05", "--until", "2026-12-01"]) == 2
    assert "before --since" in capsys.readouterr().err


def test_the_corpus_is_the_clients_unanswered_requests_of_the_range(tmp_path: Path) -> None:
    """Rows as the pipeline writes them (ORM, migrated SQLite): which requests count as unanswered."""
    sessions = migrated(f"sqlite:///{tmp_path / 'gaps.db'}")
    since, until = NOW - timedelta(days=1), NOW + timedelta(days=1)
    cases = {  # name: (mailbox, arrival, outcome, confidence, severity) with threshold 0.6
        "confident answer": ("mb", NOW, Outcome.ANSWERED, 0.9, None),
        "answer near the threshold": ("mb", NOW, Outcome.ANSWERED, 0.62, None),
        "not confident": ("mb", NOW, Outcome.ESCALATED, 0.3, None),
        "confident, escalated for a second question": ("mb", NOW, Outcome.ESCALATED, 0.9, None),
        "escalated fault": ("mb", NOW, Outcome.ESCALATED, 0.9, "major"),
        "not a fault": ("mb", NOW, Outcome.ESCALATED, 0.9, "none"),
        "follow-up": ("mb", NOW, Outcome.FOLLOW_UP, 0.1, None),
        "another client's": ("other", NOW, Outcome.ESCALATED, 0.3, None),
        "before the range": ("mb", since - timedelta(seconds=1), Outcome.ESCALATED, 0.3, None),
    }
    ids = {}
    with sessions.begin() as session:
        for name, (mailbox, at, outcome, confidence, severity) in cases.items():
            row = inbound(session, mailbox=mailbox, received_at=at)
            ticket = Ticket(
                mailbox=mailbox, customer=f"{len(ids)}@example.org", subject=name, language="de",
                state="escalated", created_at=at, updated_at=at, text_excerpt=f"Text: {name}",
                severity=severity, reference=f"MB-{len(ids):06d}",
            )  # fmt: skip
            session.add(ticket)
            session.flush()
            row.outcome, row.ticket_id, row.language = outcome, ticket.id, "de"
            row.decision = {
                "prediction": {"article_id": "refund", "confidence": confidence, "threshold": 0.6}
            }
            ids[row.id] = name
    with sessions() as session:
        mails = load_gap_mails(session, "mb", since, until)
    assert {ids[mail.inbound_id]: mail.why for mail in mails} == {
        "answer near the threshold": "near_threshold",
        "not confident": "not_confident",
        "escalated fault": "fault",
    }
    fault = next(mail for mail in mails if mail.why == "fault")
    assert (fault.subject, fault.text, fault.severity, fault.article_id) == (
        "escalated fault",
        "Text: escalated fault",
        "major",
        "refund",
    )
