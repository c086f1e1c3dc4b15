"""Issue 10: customer mails greet the person by name as they would be addressed, or neutrally.

`greeting_name` is a pure function, so the shapes display names take in real mail are a table; the
rendered greetings check that every customer kind in both languages uses it, and the parser and
`rules.reply_target` that a configured contact form greets the person in its Reply-To.
"""

from __future__ import annotations

import pytest

from mailbot.domain import Language
from mailbot.parse import parse_mail
from mailbot.reply.names import greeting_name
from mailbot.reply.render import CUSTOMER_KINDS, TemplateRenderer
from mailbot.rules import RuleContext
from mailbot.rules.reply_target import reply_target
from tests.unit.test_reply_render import CONTEXTS, TEMPLATES

GREETINGS = [
    # directories: surname first
    ("Müller, Katrin", "Katrin Müller"),
    ('"Meier, Hans"', "Hans Meier"),
    ("von der Leyen, Ursula", "Ursula von der Leyen"),
    ("de Vries, Jan", "Jan de Vries"),
    ("D'Angelo, Maria", "Maria D'Angelo"),
    ("Smith, John, Jr.", "John Smith"),
    # capitals: title case; the given name decides the order, or the mixed-case word does
    ("MEIER HANS", "Hans Meier"),
    ("HANS MEIER", "Hans Meier"),
    ("MEIER Hans", "Hans Meier"),
    ("Hans MEIER", "Hans Meier"),
    ("MÜLLER HANS-PETER", "Hans-Peter Müller"),
    ("SCHMIDT-MEIER ANNE-MARIE", "Anne-Marie Schmidt-Meier"),
    ("VON DER LEYEN URSULA", "Ursula von der Leyen"),
    ("URSULA VON DER LEYEN", "Ursula von der Leyen"),
    ("VON DER LEYEN Ursula", "Ursula von der Leyen"),
    ("JAN DE VRIES", "Jan de Vries"),
    ("O'BRIEN PATRICK", "Patrick O'Brien"),
    ("RONALD MCDONALD", "Ronald McDonald"),
    ("ÖZTÜRK AYŞE", "Ayşe Öztürk"),
    ("ŁUKASZ ŻÓŁĆ", "Łukasz Żółć"),
    ("hans meier", "Hans Meier"),
    ("meier hans", "Hans Meier"),
    ("GRABOWSKI ZBIGNIEW", "Grabowski Zbigniew"),  # no known given name: the order as written
    # mixed case is left as written
    ("Katrin Müller", "Katrin Müller"),
    ("Anne-Marie Schmidt", "Anne-Marie Schmidt"),
    ("Ronald McDonald", "Ronald McDonald"),
    ("Jan de Vries", "Jan de Vries"),
    ("Maria del Carmen García López", "Maria del Carmen García López"),
    ("Jürgen Weiß", "Jürgen Weiß"),  # an RFC 2047 name arrives decoded
    ("山田 太郎", "山田 太郎"),
    # titles stay, salutations only before a lone surname, degrees go
    ("Dr. Hans Meier", "Dr. Hans Meier"),
    ("Meier, Dr. Hans", "Dr. Hans Meier"),
    ("DR. HANS MEIER", "Dr. Hans Meier"),
    ("Dr.Hans Meier", "Dr. Hans Meier"),
    ("Dr. med. Hans Meier", "Dr. Hans Meier"),
    ("Prof. Dr. Anna Schulz", "Prof. Dr. Anna Schulz"),
    ("Frau Müller", "Frau Müller"),
    ("Herr Dr. Meier", "Herr Dr. Meier"),
    ("Herr Hans Meier", "Hans Meier"),
    ("Mr Smith", "Mr Smith"),
    ("Mrs. Jane Doe", "Jane Doe"),
    ("Hans Meier, MBA", "Hans Meier"),
    ("Hans Meier PhD", "Hans Meier"),
    # what is not the name: quotes, comments, companies after a bar, nicknames, emoji
    ("'Katrin Müller'", "Katrin Müller"),
    ("„Katrin Müller“", "Katrin Müller"),
    ("Hans Meier (Aktivo GmbH)", "Hans Meier"),
    ("Hans Meier [EXT]", "Hans Meier"),
    ("Hans Meier | Aktivo", "Hans Meier"),
    ("Hans Meier - Vertrieb", "Hans Meier"),
    ("Katrin Müller via Kontaktformular", "Katrin Müller"),
    ('Hans "Hansi" Meier', "Hans Meier"),
    ("Katrin 🌸 Müller", "Katrin Müller"),
    ("  Katrin\tMüller  ", "Katrin Müller"),
    ("Familie Meier", "Familie Meier"),
    ("Katrin", "Katrin"),
    # no person's name: greet neutrally
    ("", ""),
    ("   ", ""),
    ("support@x.de", ""),
    ("'hans@x.de'", ""),
    ("hans.meier", ""),
    ("www.shop.de", ""),
    ("Shop.de", ""),
    ("=?utf-8?q?J=C3=BCrgen?=", ""),  # left encoded by a broken sender
    ("+49 171 2345678", ""),
    ("Kunde 4711", ""),
    ("K.", ""),
    ("K", ""),
    ("H. M.", ""),
    ("Meier", ""),  # a lone surname: "Guten Tag Meier," reads rude
    ("kmeier", ""),
    ("🌸", ""),
    ("Kontaktformular", ""),
    ("noreply", ""),
    ("No-Reply", ""),
    ("Aktivo GmbH", ""),
    ("Support Team", ""),
    ("IT-Support", ""),
    ("Kunden-Service Aktivo", ""),
    ("Buchhaltung", ""),
    ("Hans & Erika Meier", ""),
    ("Müller und Partner", ""),
    ("Meier, Hans, Vertrieb", ""),
    ("Anonymous", ""),
    ("NULL", ""),
    ("-", ""),
    ("???", ""),
]


@pytest.mark.parametrize(("display_name", "expected"), GREETINGS)
def test_greeting_name(display_name, expected):
    assert greeting_name(display_name) == expected


def test_greeting_name_of_none():
    assert greeting_name(None) == ""


@pytest.fixture(scope="module")
def renderer() -> TemplateRenderer:
    return TemplateRenderer(TEMPLATES)


SALUTATION = {Language.DE: "Guten Tag", Language.EN: "Hello"}


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("kind", CUSTOMER_KINDS)
@pytest.mark.parametrize(
    ("display_name", "expected"),
    [("Müller, Katrin", "Katrin Müller"), ("MEIER HANS", "Hans Meier"), ("support@x.de", "")],
)
def test_every_customer_mail_greets_with_the_greeting_name(renderer, kind, language, display_name, expected):
    out = renderer.render(kind, language, {**CONTEXTS[kind], "customer_name": display_name})
    greeting = f"{SALUTATION[language]} {expected}," if expected else f"{SALUTATION[language]},"
    assert out.text.startswith(greeting + "\n")
    assert f">{greeting}</p>" in out.html
    if not expected:
        assert "x.de" not in out.text + out.html


def raw_mail(from_header: str, reply_to: str | None = None) -> bytes:
    lines = [f"From: {from_header}", "To: support@aktivo.example", "Subject: Parkschein"]
    if reply_to is not None:
        lines.append(f"Reply-To: {reply_to}")
    lines += ["Message-ID: <form-1@shop.example>", "Content-Type: text/plain; charset=utf-8", ""]
    return ("\r\n".join(lines) + "\r\nMein Parkschein wurde doppelt abgebucht.\r\n").encode()


FORMS = RuleContext(
    own_addresses=frozenset({"support@aktivo.example"}),
    own_message_id_domains=frozenset(),
    form_senders=frozenset({"noreply@shop.example", "form@shop.example"}),
)


@pytest.mark.parametrize(
    ("from_header", "reply_to", "reply_address", "addressee", "greeting"),
    [
        # a configured contact form: the person is in Reply-To
        (
            "Kontaktformular <noreply@shop.example>",
            "Katrin Müller <katrin@kunde.example>",
            "katrin@kunde.example",
            "Katrin Müller",
            "Katrin Müller",
        ),
        (
            "noreply@shop.example",
            '"Meier, Hans" <hans@kunde.example>',
            "hans@kunde.example",
            "Meier, Hans",
            "Hans Meier",
        ),
        (
            "=?utf-8?q?Kontaktformular?= <form@shop.example>",
            "=?utf-8?q?J=C3=BCrgen_Wei=C3=9F?= <jw@kunde.example>",
            "jw@kunde.example",
            "Jürgen Weiß",
            "Jürgen Weiß",
        ),
        # Reply-To without a name: we write to an address we have no name for
        ("Kontaktformular <noreply@shop.example>", "katrin@kunde.example", "katrin@kunde.example", "", ""),
        # Reply-To the same address (any case of the domain): the sender's name
        (
            "Katrin Müller <katrin@kunde.example>",
            "<katrin@Kunde.example>",
            "katrin@kunde.example",
            "Katrin Müller",
            "Katrin Müller",
        ),
        ("MEIER HANS <hans@kunde.example>", None, "hans@kunde.example", "MEIER HANS", "Hans Meier"),
        # issue 11: a form that is not configured is a sender like any other, its Reply-To not honoured
        (
            "Kontaktformular <noreply@other-shop.example>",
            "Katrin Müller <katrin@kunde.example>",
            "noreply@other-shop.example",
            "Kontaktformular",
            "",
        ),
        # ... and a stranger's Reply-To never gets the name the stranger chose for it
        (
            "Mallory Evans <mallory@evil.example>",
            "Dear Victim <victim@kunde.example>",
            "mallory@evil.example",
            "Mallory Evans",
            "Mallory Evans",
        ),
    ],
)
def test_contact_form_greets_the_person_in_reply_to(
    from_header, reply_to, reply_address, addressee, greeting
):
    mail = parse_mail(raw_mail(from_header, reply_to), default_language=Language.DE)
    target = reply_target(mail, FORMS)
    assert target.address == reply_address
    assert target.name == addressee
    assert greeting_name(target.name) == greeting


def test_parse_keeps_the_reply_to_display_name():
    mail = parse_mail(
        raw_mail("Kontaktformular <noreply@shop.example>", "Katrin Müller <katrin@kunde.example>")
    )
    assert (mail.reply_to, mail.reply_to_name) == ("katrin@kunde.example", "Katrin Müller")
    assert (mail.from_addr, mail.from_name) == ("noreply@shop.example", "Kontaktformular")
    assert parse_mail(raw_mail("Katrin <k@kunde.example>")).reply_to_name == ""
