"""Hostile text in subjects and names (issue 11), over the real Dovecot and SMTP sink: control, escape and
bidi characters never reach a subject or name we write; a 1 MB subject is decided like any other mail."""

from __future__ import annotations

import base64
import time

import pytest

from tests.e2e.conftest import TEAM, Bot, parse, text_of

pytestmark = pytest.mark.servers
CUSTOMER = "erika@kunde.example"
UNSAFE = ("\x1b", "\x07", "\x9b", "\u202e", "\u2066", "\u200b")


def raw_mail(subject: bytes, name: bytes = b"Erika Muster") -> bytes:
    body = "Die App stürzt ab.".encode()
    return (
        b"From: " + name + b" <" + CUSTOMER.encode() + b">\r\nTo: support@example.com\r\nSubject: " + subject
        + b"\r\nMessage-ID: <hostile-text-1@kunde.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + body + b"\r\n"
    )  # fmt: skip


def test_controls_escapes_and_bidi_characters_never_reach_a_subject_or_name_we_write(bot: Bot) -> None:
    subject = "App stürzt ab \x1b]0;pwned\x07\u202eexe.fdp \x1b[31mrot\x1b[0m\u200b".encode()
    hostile_name = "\x1b[1mErika\x1b[0m Mus\u200bter \u2066".encode()
    name = b"=?utf-8?b?" + base64.b64encode(hostile_name) + b"?="  # as a mail client encodes it
    bot.deliver(raw_mail(subject, name))
    bot.run_once()

    (ack,) = bot.sent_to(CUSTOMER)
    assert parse(ack)["Subject"] == "Re: App stürzt ab exe.fdp rot [MB-000001]"
    assert "Erika Muster" in text_of(ack)  # the greeting
    (notice,) = bot.sent_to(TEAM)
    assert parse(notice)["Subject"] == "[MB-000001] Neues Ticket: App stürzt ab exe.fdp rot"
    assert "Erika Muster <erika@kunde.example>" in text_of(notice)
    for raw in (ack, notice):
        headers = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
        decoded = str(parse(raw)["Subject"])
        assert not any(ch in decoded or ch in headers for ch in UNSAFE)
    (ticket,) = bot.tickets()
    assert ticket.subject == "App stürzt ab exe.fdp rot"  # stored and shown (tickets list/show) without them
    assert not any(ch in text_of(ack) for ch in UNSAFE)


def test_a_1_mb_subject_is_decided_in_seconds_and_written_back_one_line(bot: Bot) -> None:
    bot.deliver(raw_mail(b"Drucker " + b"a" * 1_000_000))
    started = time.perf_counter()
    bot.run_once()
    spent = time.perf_counter() - started
    print(f"run --once with a 1 MB subject: {spent:.1f} s")
    assert spent < 60  # a whole pass with IMAP, model and SMTP; the subject itself takes under a second
    (ack,) = bot.sent_to(CUSTOMER)
    subject = parse(ack)["Subject"]
    assert subject.startswith("Re: Drucker a") and subject.endswith("… [MB-000001]") and len(subject) < 250
    (notice,) = bot.sent_to(TEAM)
    assert len(parse(notice)["Subject"]) < 250
