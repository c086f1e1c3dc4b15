"""Signatures on the forge corpus; greeting, disclaimer and banner removal in German and English."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mailbot.parse import parse_mail
from mailbot.parse.disclaimer import strip_banner, strip_disclaimers
from mailbot.parse.greeting import is_greeting
from mailbot.parse.reply import extract_body

FORGE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "forge_signatures"
SIG = "#sig#"
QUESTION = "Wie kann ich meine Rechnungsadresse ändern?"


@dataclass
class ForgeScore:
    """Lines removed after the first kept line count as removed as signature; before it, greeting."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    mails: Counter[str] = field(default_factory=Counter)
    greetings: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / max(self.tp + self.fp, 1)

    @property
    def recall(self) -> float:
        return self.tp / max(self.tp + self.fn, 1)

    @property
    def f1(self) -> float:
        return 2 * self.precision * self.recall / max(self.precision + self.recall, 1e-9)

    def exact(self, kind: str) -> float:
        return self.mails[f"{kind} exact"] / max(self.mails[kind], 1)


def _normalise(line: str) -> str:
    return " ".join(line.split())


def removed_lines(lines: list[str], body: str) -> tuple[set[int], set[int]]:
    """Indexes of non-blank input lines missing from ``body``: (before the first kept, after it)."""
    kept = [_normalise(line) for line in body.split("\n") if line.strip()]
    j, first, removed = 0, None, set()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        if j < len(kept) and _normalise(line) == kept[j]:
            j += 1
            first = i if first is None else first
        else:
            removed.add(i)
    if j < len(kept):
        raise ValueError("the body is not a subsequence of the input lines")
    first = len(lines) if first is None else first
    return {i for i in removed if i < first}, {i for i in removed if i > first}


def score_forge(root: Path = FORGE) -> ForgeScore:
    """Compare ``extract_body`` with the ``#sig#`` annotations of every mail in P/ and N/."""
    score = ForgeScore()
    for kind in ("P", "N"):
        for path in sorted((root / kind).glob("*_body.txt"), key=lambda p: int(p.name.split("_")[0])):
            raw = path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n").split("\n")
            lines = [line.removeprefix(SIG) for line in raw]
            wanted = {i for i, line in enumerate(raw) if line.startswith(SIG) and line[len(SIG) :].strip()}
            leading, trailing = removed_lines(lines, extract_body("\n".join(lines)))
            score.tp += len(trailing & wanted)
            score.fp += len(trailing - wanted)
            score.fn += len(wanted - trailing)
            score.mails[kind] += 1
            score.mails[f"{kind} exact"] += trailing == wanted
            score.mails[f"{kind} content removed"] += bool(trailing - wanted)
            score.greetings += [lines[i].strip() for i in sorted(leading)]
            if trailing != wanted:
                missed = [lines[i].strip() for i in sorted(wanted - trailing)]
                extra = [lines[i].strip() for i in sorted(trailing - wanted)]
                score.misses.append(f"{kind}/{path.name}: missed {missed} extra {extra}")
    return score


@pytest.mark.skipif(not FORGE.is_dir(), reason=f"forge signature data not found at {FORGE}")
def test_forge_signatures_are_removed_and_nothing_else():
    """Guard at the level reached on the shared half (F1 0.986, exact P 47/48, N 46/48), with
    room for one or two mails: the held-back half is checked by the project."""
    score = score_forge()
    assert score.mails["P"] >= 40 and score.mails["N"] >= 40
    assert score.precision >= 0.96, score.misses
    assert score.recall >= 0.96, score.misses
    assert score.f1 >= 0.97, score.misses
    assert score.exact("P") >= 0.95, score.misses
    assert score.exact("N") >= 0.93, score.misses


@pytest.mark.parametrize(
    "signature",
    [
        "Erika",
        "Erika Mustermann\nACME GmbH\nTel. +49 30 1234567",
        "i. A. Max Müller\nKundenservice",
        "-John",
        "Max Mustermann - 0171 1234567",
        "John Smith\nHead of IT\n\n+44 20 7946 0958\njohn.smith@example.com",
    ],
)
def test_sign_off_by_bare_name_is_removed(signature):
    assert extract_body(f"{QUESTION}\n\n{signature}") == QUESTION


@pytest.mark.parametrize(
    "ending",
    [
        "Office 2019",  # a version, not a phone number
        "- Drucker HP 4000\n- Scanner Canon",  # a list, not a "-John" signature
        "Happy New Year, and thanks for all the help this year!",
    ],
)
def test_short_last_paragraph_that_is_no_name_is_kept(ending):
    assert extract_body(f"{QUESTION}\n\n{ending}") == f"{QUESTION}\n\n{ending}"


@pytest.mark.parametrize(
    "line",
    [
        "Hallo,",
        "Hallo Support-Team,",
        "Hallo zusammen!",
        "Hallo ihr Lieben,",
        "Liebes Support-Team,",
        "Sehr geehrte Damen und Herren,",
        "Sehr geehrter Herr Dr. Müller,",
        "Guten Tag,",
        "Guten Morgen Frau Meier",
        "Moin,",
        "Hi there,",
        "Hi folks",
        "Hello Anna,",
        "Dear Sir or Madam,",
        "Dear Customer Service Team:",
        "Good morning,",
        "Greetings!",
    ],
)
def test_greeting_lines(line):
    assert is_greeting(line)


@pytest.mark.parametrize(
    "line",
    [
        "Hallo, ich habe ein Problem mit meiner Rechnung.",
        "Hallo, mein Drucker druckt nicht",
        "Hi, my printer is broken",
        "Hello I Need Help",
        "Hi. I am fine.",
        "Liebe Grüße",
        "Liebe Grüße, Erika",
        "Dear customer, your invoice is attached and the amount is due",
        "Tag der offenen Tür ist am Samstag",
        "Thanks,",
    ],
)
def test_not_greeting_lines(line):
    assert not is_greeting(line)


@pytest.mark.parametrize(
    "greeting",
    ["Hallo Support-Team,", "Sehr geehrte Damen und Herren,", "Hi there,", "Dear Sir or Madam,"],
)
def test_greeting_and_one_sentence_keeps_the_sentence(greeting):
    assert extract_body(f"{greeting}\n\n{QUESTION}") == QUESTION
    assert extract_body(f"{greeting}\n{QUESTION}") == QUESTION


@pytest.mark.parametrize("text", ["Hallo", "Hello,", "Sehr geehrte Damen und Herren,"])
def test_a_mail_of_only_a_greeting_keeps_it(text):
    assert extract_body(text) == text


DISCLAIMERS = [
    "Diese E-Mail enthält vertrauliche und/oder rechtlich geschützte Informationen. Wenn Sie nicht der\n"
    "richtige Adressat sind oder diese E-Mail irrtümlich erhalten haben, informieren Sie bitte sofort den\n"
    "Absender und vernichten Sie diese Mail. Das unerlaubte Kopieren sowie die unbefugte Weitergabe\n"
    "dieser Mail ist nicht gestattet.",
    "This e-mail and any attachments are confidential and may be privileged. If you are not the intended\n"
    "recipient, please notify the sender immediately and delete it.",
    "Please consider the environment before printing this e-mail.",
    "Bitte denken Sie an die Umwelt, bevor Sie diese E-Mail ausdrucken.",
    "Disclaimer\n\nThe information contained in this communication is confidential and intended solely\n"
    "for the use of the recipient.",
    "ACME GmbH, Musterstraße 1, 12345 Musterstadt\nSitz der Gesellschaft: Musterstadt, Amtsgericht "
    "Musterstadt HRB 12345\nGeschäftsführer: Max Mustermann",
    "This email has been scanned for viruses and malware.",
]


@pytest.mark.parametrize("disclaimer", DISCLAIMERS)
def test_trailing_disclaimer_is_removed(disclaimer):
    text = f"Hallo,\n\n{QUESTION}\nDie Kundennummer ist 4711.\n\n{disclaimer}\n"
    assert extract_body(text) == f"{QUESTION}\nDie Kundennummer ist 4711."


@pytest.mark.parametrize("signature", ["Viele Grüße\nErika Mustermann", "Sent from my iPhone", "Erika"])
def test_disclaimer_after_a_signature_is_removed(signature):
    text = f"{QUESTION}\n\n{signature}\n\n{DISCLAIMERS[0]}"
    assert extract_body(text) == QUESTION


@pytest.mark.parametrize(
    "text",
    [
        # a sentence about confidentiality is content, and the first paragraph always stays
        f"{QUESTION}\n\nThe e-mail I got from you is marked confidential, is that right?",
        DISCLAIMERS[1],
    ],
)
def test_text_that_only_mentions_confidentiality_is_kept(text):
    assert strip_disclaimers(text.split("\n")) == text.split("\n")


@pytest.mark.parametrize(
    "banner",
    [
        "CAUTION: This email originated from outside of the organization. Do not click links or open\n"
        "attachments unless you recognize the sender and know the content is safe.",
        "ACHTUNG: Diese E-Mail stammt von außerhalb der Organisation. Klicken Sie nicht auf Links.",
        "[EXTERNAL EMAIL] Be careful with links and attachments.",
    ],
)
def test_external_sender_banner_is_removed(banner):
    assert extract_body(f"{banner}\n\nHallo,\n\n{QUESTION}") == QUESTION
    assert strip_banner([banner]) == [banner]  # never everything


def test_whole_mail_with_greeting_signature_disclaimer_and_history():
    raw = (
        "From: Kunde <kunde@example.com>\nSubject: Re: Rechnung\nContent-Type: text/plain; charset=utf-8\n\n"
        f"Sehr geehrte Damen und Herren,\n\n{QUESTION}\n\nMit freundlichen Grüßen\nErika Mustermann\n\n"
        f"{DISCLAIMERS[0]}\n\nAm 04.03.2024 um 10:15 schrieb Support <s@example.com>:\n> Guten Tag"
    ).replace("\n", "\r\n")
    assert parse_mail(raw.encode()).body == QUESTION
