"""`mailbot kb gaps` on mail decided over the wire: Dovecot in, the real pipeline escalates what the
knowledge base does not cover, gaps.json and drafts out, `kb check` refuses a draft until it is answered."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.cli import main
from mailbot.db.schema import KnowledgeBaseGap
from tests.e2e.conftest import Bot, make_mail
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
