"""Compose cases whose bytes before issue 13's faster compose are kept in golden/compose_before_issue13.json.

`compose_reply` must reproduce these mails byte for byte (tests/unit/test_reply_compose_golden.py):
every rendered mail of golden/render_before_branding.json (real template output, de and en) with the
header variants the outbox uses, plus the edge cases the unit tests name (encoded-word look-alikes,
long ids, attached originals that need base64, content that contains a boundary).
Regenerate only when the bytes change on purpose: ``python -m tests.unit.compose_cases``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from mailbot.reply.compose import compose_reply
from mailbot.reply.render import Rendered

HERE = Path(__file__).resolve().parent
RENDERS = HERE / "golden" / "render_before_branding.json"
GOLDEN = HERE / "golden" / "compose_before_issue13.json"

BERLIN = timezone(timedelta(hours=2))
ORIGINAL = (
    b"From: Erika =?utf-8?q?M=C3=BCller?= <erika@example.com>\r\n"
    b"To: support@example.com\r\n"
    b"Subject: Drucker\r\n"
    b"Message-ID: <orig@example.com>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Der Drucker druckt nicht. Gr\xc3\xbc\xc3\x9fe\r\n"
)
_BASE: dict[str, Any] = {
    "from_addr": "support@example.com",
    "from_name": "Beispiel GmbH – Support",
    "to_addr": "erika@example.com",
    "message_id": "<mb.0123abcd.0123456789abcdef0123@example.com>",
    "in_reply_to": "<orig@example.com>",
    "references": ["<root@example.com>", "<orig@example.com>"],
    "date": datetime(2024, 5, 14, 9, 30, 5, tzinfo=BERLIN),
    "extra_headers": {"X-Loop": "support@example.com"},
}
# What the outbox passes (mailbot/reply/outbox.py): answers, notices, a person's reply, a record.
_VARIANTS: list[dict[str, Any]] = [
    {"precedence": None},
    {"auto_submitted": "auto-generated", "attach_rfc822": ORIGINAL, "to_addr": "team@example.com"},
    {"auto_submitted": None, "precedence": None, "in_reply_to": None, "references": []},
    {"auto_submitted": "auto-generated", "extra_headers": {"X-Loop": "s@example.com", "Reply-To": "e@x.de"}},
    {"to_addr": None, "date": datetime(2026, 12, 24, 23, 59, tzinfo=UTC)},
]
_LONG_ID = f"<{'x' * 200}@example.com>"
_REFS = [f"<r{i}.{'x' * 60}@example.com>" for i in range(19)] + ["<parent@example.com>"]
_SIMPLE = Rendered("Re: Grüße aus Köln – Drucker [MB-000123]", "Guten Tag,\n\nÄÖÜ ß €\n", "<p>ä</p>\n")
_EDGE: dict[str, dict[str, Any]] = {
    "encoded-word-subject": {"rendered": Rendered("=?utf-8?q?looks_encoded?= and more", "t\n", "<p>h</p>\n")},
    "encoded-word-inside": {"rendered": Rendered("Re: =?iso-8859-1?b?w6Q=?= und mehr", "t\n", "<p>h</p>\n")},
    "long-umlaut-subject": {"rendered": Rendered("ä" * 200, "t\n", "<p>h</p>\n")},
    "long-ascii-subject": {"rendered": Rendered("x" * 300, "t\n", "<p>h</p>\n")},
    "padded-subject": {"rendered": Rendered("  leading and trailing  ", "t\n", "<p>h</p>\n")},
    "empty": {"rendered": Rendered("", "", "")},
    "ascii-7bit": {"rendered": Rendered("Hello", "Hello,\n\nplain ascii.\n", "<p>plain</p>\n")},
    "long-ascii-line": {"rendered": Rendered("Hello", "y" * 200 + "\n", "<p>" + "z " * 300 + "</p>\n")},
    "crlf-and-cr-in-text": {"rendered": Rendered("S", "a\r\nb\rc\n", "<p>\r\n</p>")},
    "specials-display-name": {"rendered": _SIMPLE, "from_name": 'Müller, "Support" <Team>'},
    "idn-recipient": {"rendered": _SIMPLE, "to_addr": "kunde@straße.example"},
    "long-references": {"rendered": _SIMPLE, "in_reply_to": "<parent@example.com>", "references": _REFS},
    "long-message-id": {"rendered": _SIMPLE, "in_reply_to": _LONG_ID, "references": [_LONG_ID]},
    "x-header-umlaut": {"rendered": _SIMPLE, "extra_headers": {"X-Mailbot-Ticket": "MB-1 – Müller"}},
    "original-lf-only": {"rendered": _SIMPLE, "attach_rfc822": ORIGINAL.replace(b"\r\n", b"\n")},
    "original-ascii": {"rendered": _SIMPLE, "attach_rfc822": b"From: a@example.com\r\n\r\nhello\r\n"},
    "original-long-line": {"rendered": _SIMPLE, "attach_rfc822": b"From: a@b.example\r\n\r\n" + b"x" * 1200},
    "original-nul": {"rendered": _SIMPLE, "attach_rfc822": b"From: a@b.example\r\n\r\nnul \x00 byte\r\n"},
}


def _boundary_clash_cases() -> dict[str, dict[str, Any]]:
    """Content that contains the boundary the message id gives: the counter must step on."""
    probe = compose_reply(**(_BASE | {"rendered": _SIMPLE, "attach_rfc822": ORIGINAL}))
    lines = [line for line in probe.split(b"\r\n") if b"boundary=" in line]
    mixed, alternative = (line.split(b'"')[1].decode() for line in lines)
    clash = ORIGINAL + f"--{mixed}--\r\n".encode()
    return {
        "boundary-in-original": {"rendered": _SIMPLE, "attach_rfc822": clash},
        "boundary-in-ascii-text": {"rendered": Rendered("S", f"see\n--{alternative}\n", "<p>h</p>\n")},
        "boundary-in-ascii-html": {
            "rendered": Rendered("S", "t\n", f"--{alternative}\n--{alternative}.1\n"),
            "attach_rfc822": ORIGINAL,
        },
    }


def cases() -> dict[str, dict[str, Any]]:
    """Every case's keyword arguments for `compose_reply`, by name."""
    renders = json.loads(RENDERS.read_text(encoding="utf-8"))
    out: dict[str, dict[str, Any]] = {}
    for index, (name, parts) in enumerate(sorted(renders.items())):
        rendered = Rendered(parts["subject"], parts["text"], parts["html"])
        out[name] = _BASE | _VARIANTS[index % len(_VARIANTS)] | {"rendered": rendered}
    for name, overrides in (_EDGE | _boundary_clash_cases()).items():
        out[name] = _BASE | overrides
    return out


def compose_all() -> dict[str, str]:
    """``{case: the composed bytes as latin-1 text}`` (JSON holds text; latin-1 maps bytes 1:1)."""
    return {name: compose_reply(**kwargs).decode("latin-1") for name, kwargs in cases().items()}


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(compose_all(), indent=0) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")
