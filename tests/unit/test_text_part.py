"""compose.text_part encodes with binascii what the stdlib's content manager encoded (issue 13): the
same text after decoding, the same choice of 7bit, quoted-printable or base64 where the choice is
clear, and lines SMTP and RFC 2045 accept."""

from __future__ import annotations

import email
import random
from email import policy
from email.message import MIMEPart
from io import BytesIO

import pytest

from mailbot.reply.compose import MAIL_POLICY, _Generator, text_part

TRICKY = [
    "",
    "Hallo",
    "Guten Tag Frau Müller,\n\nvielen Dank für Ihre Nachricht.\n",
    "a line with trailing spaces   \nand a tab\t\n",
    ".\nA lone dot above, as SMTP would end the DATA with it.\n.",
    "From here on: a line that starts like an mbox separator.",
    "= and =3D and =\n=",
    "x" * 200,
    "ä" * 120,
    "Это письмо по-русски, почти без латинских букв.",
    "Emoji 🙂 and a non-breaking\u00a0space, a form\x0cfeed and\rcarriage returns\r\n.",
    "Zeile\u2028mit Zeilentrenner",
]


def _stdlib_part(content: str, subtype: str) -> MIMEPart:
    part = MIMEPart(policy=MAIL_POLICY)
    part.set_content(content, subtype=subtype, charset="utf-8")
    return part


def _written(part: MIMEPart) -> bytes:
    out = BytesIO()
    _Generator(out, policy=MAIL_POLICY).flatten(part)
    return out.getvalue()


def _random_texts(count: int) -> list[str]:
    rng = random.Random(20261206)
    pieces = [*"enrstlaiu", " ", "  ", "\t", "\n", "\r\n", ".", "=", "ä", "ß", "€", "🙂", "Ж", "\u00a0"]
    weights = [6] * 9 + [6, 1, 1, 3, 1, 2, 1, 2, 1, 1, 1, 1, 1]
    return ["".join(rng.choices(pieces, weights, k=rng.randint(1, 400))) for _ in range(count)]


@pytest.mark.parametrize("subtype", ["plain", "html"])
@pytest.mark.parametrize("content", [*TRICKY, *_random_texts(150)])
def test_the_part_reads_as_the_stdlibs_did(content: str, subtype: str) -> None:
    ours, theirs = _written(text_part(content, subtype)), _written(_stdlib_part(content, subtype))
    read, expected = (email.message_from_bytes(raw, policy=policy.default) for raw in (ours, theirs))
    assert read["Content-Type"] == expected["Content-Type"] == f'text/{subtype}; charset="utf-8"'
    assert read.get_content() == expected.get_content()
    assert all(len(line) <= 78 for line in ours.split(b"\r\n"))
    if read["Content-Transfer-Encoding"] == "quoted-printable":
        assert all(len(line) <= 76 for line in read.get_payload().splitlines())
    if content.isascii() and max(map(len, content.splitlines()), default=0) <= 78:
        assert read["Content-Transfer-Encoding"] == expected["Content-Transfer-Encoding"] == "7bit"


def test_mostly_latin_text_is_quoted_printable_and_other_scripts_base64() -> None:
    assert text_part(TRICKY[2], "plain")["Content-Transfer-Encoding"] == "quoted-printable"
    assert text_part(TRICKY[9], "plain")["Content-Transfer-Encoding"] == "base64"
