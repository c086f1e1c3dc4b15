"""compose_reply gives the same mail as before issue 13 made it cheaper (tests/unit/compose_cases.py):
the same bytes, but for where quoted-printable breaks its lines (binascii's encoder since session 16,
at 76 characters as RFC 2045 asks; the stdlib's broke at 78)."""

from __future__ import annotations

import email
import json
from email import policy

import pytest

from mailbot.reply.compose import compose_reply
from tests.unit.compose_cases import GOLDEN, cases

EXPECTED = json.loads(GOLDEN.read_text(encoding="utf-8"))
CASES = cases()


def test_the_golden_file_covers_every_case():
    assert sorted(EXPECTED) == sorted(CASES)


def _parts(raw: bytes) -> list[tuple[list[tuple[str, str]], bytes | None]]:
    """Every part's headers as written and its body decoded."""
    message = email.message_from_bytes(raw, policy=policy.compat32)
    return [
        (list(part.items()), None if part.is_multipart() else part.get_payload(decode=True))
        for part in message.walk()
    ]


@pytest.mark.parametrize("name", sorted(CASES))
def test_compose_gives_the_mail_it_gave_before(name):
    composed = compose_reply(**CASES[name])
    before = EXPECTED[name].encode("latin-1")
    assert _parts(composed) == _parts(before)
    changed = set(composed.split(b"\r\n")) ^ set(before.split(b"\r\n"))
    assert changed <= _quoted_printable_lines(composed) | _quoted_printable_lines(before)
    assert all(len(line) <= 76 for line in _quoted_printable_lines(composed))


def _quoted_printable_lines(raw: bytes) -> set[bytes]:
    message = email.message_from_bytes(raw, policy=policy.compat32)
    return {
        line.encode("ascii")
        for part in message.walk()
        if part["Content-Transfer-Encoding"] == "quoted-printable"
        for line in part.get_payload().splitlines()
    }


def test_composing_twice_in_a_row_gives_the_same_bytes():
    """Anything built once and reused (header classes, cached parts) must not leak from one mail into
    the next: compose every case twice, interleaved, and compare."""
    first = {name: compose_reply(**kwargs) for name, kwargs in CASES.items()}
    second = {name: compose_reply(**kwargs) for name, kwargs in reversed(CASES.items())}
    assert first == second


def test_what_compose_keeps_between_mails_stays_bounded():
    """Parsed and folded headers are kept only for the few values our own headers take: a boundary (one
    per mail) is never kept, and even a configuration with many X-Loop values cannot grow it past
    its bound."""
    from mailbot.reply import compose

    for number in range(compose._STABLE_MAX + 50):
        kwargs = CASES["answer.de"] | {"extra_headers": {"X-Loop": f"s{number}@example.com"}}
        compose_reply(**kwargs | {"message_id": f"<mb.{number}@example.com>"})
    assert len(compose._parsed_stable) <= compose._STABLE_MAX
    assert len(compose._folded_stable) <= compose._STABLE_MAX
    assert not any("boundary=" in key[-1] for key in (*compose._parsed_stable, *compose._folded_stable))
