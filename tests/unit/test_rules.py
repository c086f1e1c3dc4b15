"""The loop guard as one table: each row a small mail, the context and the exact rule names expected."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.domain import Language, ParsedMail, RuleEffect, SenderCheck, Verification
from mailbot.rules import RULES, RuleContext, apply_rules, is_automatic

OWN = "support@example.com"
CTX = RuleContext(
    own_addresses=frozenset({OWN}),
    own_message_id_domains=frozenset({"example.com"}),
    own_message_ids=frozenset({"<sent-1@example.com>"}),
)

TEAM = {"team_addresses": frozenset({"team@example.com"})}


def make_mail(headers: dict[str, str | list[str]] | None = None, **fields: Any) -> ParsedMail:
    """A plain customer mail; `headers` adds header fields (one value, or a list of occurrences)."""
    values: dict[str, Any] = {
        "message_id": "<abc.123@mail.customer.de>",
        "subject": "Passwort vergessen",
        "from_addr": "kunde@customer.de",
        "from_name": "Karla Kunde",
        "reply_to": None,
        "to": (OWN,),
        "cc": (),
        "date": None,
        "in_reply_to": None,
        "references": (),
        "return_path": "kunde@customer.de",
        "content_type": "text/plain",
        "text": "Hallo, ich komme nicht mehr in mein Konto.",
        "body": "Hallo, ich komme nicht mehr in mein Konto.",
        "language": Language.DE,
    }
    values.update(fields)
    values["headers"] = {
        name.lower(): (value,) if isinstance(value, str) else tuple(value)
        for name, value in (headers or {}).items()
    }
    return ParsedMail(**values)


def case(
    case_id: str, expected: tuple[str, ...], headers: dict | None = None, ctx: dict | None = None, **fields
):
    return pytest.param(headers or {}, fields, ctx or {}, expected, id=case_id)


BOUNCE = {
    "return_path": "",
    "from_addr": "MAILER-DAEMON@mx.customer.de",
    "content_type": "multipart/report",
    "subject": "Undelivered Mail Returned to Sender",
}

CASES = [
    case("normal customer mail", ()),
    # --- Auto-Submitted (RFC 3834 §5) ---
    case("auto-submitted no", (), {"Auto-Submitted": "no"}),
    case("auto-submitted No with space", (), {"Auto-Submitted": " No "}),
    case("auto-submitted no with comment", (), {"Auto-Submitted": "NO (typed by a person)"}),
    case("auto-submitted no with params", (), {"Auto-Submitted": "no; x=y"}),
    case("auto-replied", ("auto_submitted",), {"Auto-Submitted": "auto-replied"}),
    case(
        "auto-replied with params",
        ("auto_submitted",),
        {"Auto-Submitted": "auto-replied; owner-email=a@b.de"},
    ),
    case("auto-generated mixed case", ("auto_submitted",), {"Auto-Submitted": "Auto-Generated"}),
    case("auto-notified (sieve)", ("auto_submitted",), {"Auto-Submitted": "auto-notified"}),
    case("auto-submitted empty", ("auto_submitted",), {"Auto-Submitted": ""}),
    case(
        "auto-submitted second occurrence", ("auto_submitted",), {"Auto-Submitted": ["no", "auto-generated"]}
    ),
    # --- X-Auto-Response-Suppress: item-wise, not the whole string ---
    case(
        "suppress comma list",
        ("auto_response_suppress",),
        {"X-Auto-Response-Suppress": "DR, RN, NRN, OOF, AutoReply"},
    ),
    case("suppress OOF alone", ("auto_response_suppress",), {"X-Auto-Response-Suppress": "OOF"}),
    case("suppress All", ("auto_response_suppress",), {"X-Auto-Response-Suppress": "All"}),
    case("suppress DR alone", ("auto_response_suppress",), {"X-Auto-Response-Suppress": "DR"}),
    case("suppress no spaces", ("auto_response_suppress",), {"X-Auto-Response-Suppress": "oof,autoreply"}),
    case("suppress space separated", ("auto_response_suppress",), {"X-Auto-Response-Suppress": "NRN RN"}),
    case("suppress None", (), {"X-Auto-Response-Suppress": "None"}),
    case("suppress substring only", (), {"X-Auto-Response-Suppress": "OOFX, NDRY"}),
    # --- other vendor markers ---
    case("x-autoreply yes", ("autoreply_header",), {"X-Autoreply": "yes"}),
    case("x-autorespond empty", ("autoreply_header",), {"X-Autorespond": ""}),
    case("x-autoresponder", ("autoreply_header",), {"X-Autoresponder": "vacation"}),
    case("x-auto-reply no", (), {"X-Auto-Reply": "no"}),
    case("x-precedence auto_reply", ("precedence",), {"X-Precedence": "auto_reply"}),
    # --- Precedence ---
    case("precedence first-class", (), {"Precedence": "first-class"}),
    case("precedence normal", (), {"Precedence": "normal"}),
    case("precedence bulk", ("precedence",), {"Precedence": "bulk"}),
    case("precedence BULK", ("precedence",), {"Precedence": "BULK"}),
    case("precedence junk", ("precedence",), {"Precedence": "junk"}),
    case("precedence list with comment", ("precedence",), {"Precedence": " list (via mlm)"}),
    # --- mailing lists (RFC 2369 / 2919 / 8058) ---
    case("list-id", ("mailing_list",), {"List-Id": "<users.lists.example.org>"}),
    case("list-unsubscribe", ("mailing_list",), {"List-Unsubscribe": "<mailto:leave@news.example.org>"}),
    case("list-post", ("mailing_list",), {"List-Post": "<mailto:users@lists.example.org>"}),
    case("list-help", ("mailing_list",), {"List-Help": "<mailto:help@lists.example.org>"}),
    case("list-unsubscribe-post", ("mailing_list",), {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}),
    case("mailing-list", ("mailing_list",), {"Mailing-List": "contact users-help@example.org"}),
    case("x-mailing-list", ("mailing_list",), {"X-Mailing-List": "users@example.org"}),
    case("several list headers", ("mailing_list",), {"List-Id": "<a.b>", "List-Post": "NO"}),
    # --- bounces and receipts ---
    case("return-path null", ("null_reverse_path",), return_path=""),
    case("return-path <> unnormalised", ("null_reverse_path",), return_path="<>"),
    case("return-path absent", (), return_path=None),
    case("return-path other sender", (), return_path="bounces+123@esp.example.net"),
    case("mailer-daemon uppercase", ("daemon_sender",), from_addr="MAILER-DAEMON@mx.customer.de"),
    case(
        "mailer-daemon without domain", ("daemon_sender", "unusable_reply_address"), from_addr="MAILER-DAEMON"
    ),
    case("postmaster", ("daemon_sender",), from_addr="Postmaster@customer.de"),
    case("multipart/report", ("multipart_report",), content_type="multipart/report"),
    case("multipart/mixed", (), content_type="multipart/mixed"),
    case("x-failed-recipients", ("failed_recipients",), {"X-Failed-Recipients": "gone@customer.de"}),
    case(
        "full bounce",
        (
            "auto_submitted",
            "null_reverse_path",
            "daemon_sender",
            "multipart_report",
            "failed_recipients",
            "bounce_subject",  # issue 11: the subject of a plain-text bounce counts too
        ),
        {"Auto-Submitted": "auto-replied", "X-Failed-Recipients": "gone@customer.de"},
        **BOUNCE,
    ),
    # --- our own mail coming back ---
    case("own address as from", ("own_address",), from_addr=OWN),
    case("own address other case", ("own_address",), from_addr="Support@Example.COM"),
    case("own from, customer reply-to", ("own_address",), from_addr=OWN, reply_to="kunde@customer.de"),
    case("x-loop names us", ("own_loop_header",), {"X-Loop": "<SUPPORT@example.com>"}),
    case("x-loop names someone else", (), {"X-Loop": "helpdesk@customer.de"}),
    case("own message id", ("own_message_id",), message_id="<sent-1@example.com>"),
    case("own domain alone is not enough", (), message_id="<other-7@example.com>"),
    case(
        "own message id given without brackets",
        ("own_message_id",),
        ctx={"own_message_ids": frozenset({"sent-9@example.com"})},
        message_id="<sent-9@example.com>",
    ),
    # --- reply address ---
    case("reply-to is us", ("reply_to_own_address",), reply_to="support@example.com"),
    case("empty from", ("unusable_reply_address",), from_addr=""),
    case("from not an address", ("unusable_reply_address",), from_addr="Karla Kunde"),
    case("from without dotted domain", ("unusable_reply_address",), from_addr="kunde@localhost"),
    case("from with bracket", ("unusable_reply_address",), from_addr="kunde@customer.de>"),
    case("internationalised address", (), from_addr="jürgen@müller.de"),
    case("noreply sender", ("noreply_address",), from_addr="noreply@shop.example"),
    case("no-reply sender", ("noreply_address",), from_addr="No-Reply@shop.example"),
    case("do-not-reply sender", ("noreply_address",), from_addr="do_not_reply@shop.example"),
    case("noreply with suffix", ("noreply_address",), from_addr="noreply-dmarc-support@google.com"),
    # issue 11: a Reply-To is where a reply goes only for a contact form of ours or on From's domain
    case(
        "form sender, person reply-to",
        (),
        ctx={"form_senders": frozenset({"noreply@shop.example"})},
        from_addr="noreply@shop.example",
        reply_to="kunde@customer.de",
    ),
    case(
        "unconfigured noreply from, stranger reply-to",
        ("noreply_address",),
        from_addr="noreply@shop.example",
        reply_to="kunde@customer.de",
    ),
    case("person from, noreply reply-to elsewhere", (), reply_to="noreply@elsewhere.example"),
    case("person from, noreply reply-to same domain", ("noreply_address",), reply_to="noreply@customer.de"),
    case("person from, broken reply-to elsewhere", (), reply_to="not an address"),
    case(
        "form sender forged",
        ("noreply_address",),
        ctx={
            "form_senders": frozenset({"noreply@shop.example"}),
            "sender_check": SenderCheck(Verification.FAIL, "dmarc=fail for shop.example"),
        },
        from_addr="noreply@shop.example",
        reply_to="kunde@customer.de",
    ),
    # --- the team's own address (issue 11) ---
    case("team address as from", ("team_address",), ctx=TEAM, from_addr="Team@Example.com"),
    case("team address as reply-to", ("team_address",), ctx=TEAM, reply_to="team@example.com"),
    case(
        "team mailbox auto-responder without headers",
        ("team_address", "auto_reply_subject"),
        ctx=TEAM,
        from_addr="team@example.com",
        subject="Automatische Antwort: [MB-000001] Neues Ticket",
    ),
    case(
        "team mailbox auto-responder",
        ("team_address", "auto_submitted"),
        {"Auto-Submitted": "auto-replied"},
        ctx=TEAM,
        from_addr="team@example.com",
    ),
    case("a colleague of the team is a customer", (), ctx=TEAM, from_addr="katrin@example.com"),
    # --- several senders (issue 11) ---
    case(
        "two from addresses",
        ("ambiguous_sender",),
        sender_ambiguity="From names 2 addresses (a@customer.de, b@evil.example)",
    ),
    case("reply@ is fine", (), from_addr="reply@customer.de"),
    # --- subjects of header-less auto-responders ---
    case("subject automatic reply", ("auto_reply_subject",), subject="Automatic reply: Passwort vergessen"),
    case("subject automatische antwort", ("auto_reply_subject",), subject="Automatische Antwort: Rechnung"),
    case("subject out of office", ("auto_reply_subject",), subject="Out of Office: Rechnung"),
    case("subject out of office autoreply", ("auto_reply_subject",), subject="Out of Office AutoReply: x"),
    case("subject out of office alone", ("auto_reply_subject",), subject="out of the office"),
    case("subject ticket receipt en", ("auto_reply_subject",), subject="Thank you for your message"),
    case("subject ticket receipt de", ("auto_reply_subject",), subject="Vielen Dank für Ihre Anfrage!"),
    case("subject receipt de", ("auto_reply_subject",), subject="Ihre Anfrage ist bei uns eingegangen"),
    case("subject thanks with news", (), subject="Thank you for your message, but the app still crashes"),
    case("subject abwesenheitsnotiz", ("auto_reply_subject",), subject="Abwesenheitsnotiz: Ihre Anfrage"),
    case("subject autoreply alone", ("auto_reply_subject",), subject="AutoReply"),
    case("subject auto colon", ("auto_reply_subject",), subject="Auto: Ihre Anfrage"),
    case("subject abwesend colon", ("auto_reply_subject",), subject="Abwesend: bis 12.5."),
    case("subject out of office hours", (), subject="Out of office hours support needed"),
    case("subject about a car", (), subject="Auto kaputt, Termin verschieben"),
    case("subject about absence feature", (), subject="Abwesenheit in der App eintragen"),
    case("subject reply to an oof", (), subject="Re: Out of Office"),
    # --- header-less absence notes: the subject and an absence body together are ignored ---
    case(
        "absence note de without headers",
        ("absence_note", "auto_reply_subject"),
        subject="Automatische Antwort: Ihre Anfrage bei Aktivo",
        body="Vielen Dank für Ihre Nachricht. Ich bin bis einschließlich 7. Dezember 2026 nicht im Büro und "
        "habe keinen Zugriff auf meine E-Mails. In dringenden Fällen wenden Sie sich bitte an meine "
        "Kollegin Petra Lange.",
    ),
    case(
        "absence note de, return date only",
        ("absence_note", "auto_reply_subject"),
        subject="Abwesenheitsnotiz: Rechnung",
        body="Ich bin im Urlaub und ab dem 12.1. wieder erreichbar.",
    ),
    case(
        "absence note en without headers",
        ("absence_note", "auto_reply_subject"),
        subject="Out of Office: Re: your request [MB-000004]",
        body="Thank you for your email. I am out of the office until Monday 7 December with limited access "
        "to email. For urgent matters please contact my colleague Dan (dan@example.net).",
    ),
    case(
        "absence note en, on leave",
        ("absence_note", "auto_reply_subject"),
        subject="Automatic reply: Invoice",
        body="I'm on annual leave and will reply to your message when I return.",
    ),
    case(
        "person typing out of office: a fault",
        ("auto_reply_subject",),
        subject="Out of office: server down",
        body="Our server is down since 8:00 and nobody in the office can book rooms. Please call me back.",
    ),
    case(
        "person typing abwesend: no arrangement",
        ("auto_reply_subject",),
        subject="Abwesend: Kurs eintragen",
        body="Wie trage ich ein, dass ich im Urlaub bin, damit meine Kurse pausieren?",
    ),
    case(
        "absence wording under a normal subject",
        (),
        subject="Mitgliedschaft pausieren",
        body="Ich bin bis zum 7. Dezember im Urlaub. Kann ich meine Mitgliedschaft so lange pausieren?",
    ),
    case(
        "absence note too long to be one",
        ("auto_reply_subject",),
        subject="Out of office: booking broken",
        body="I am out of the office until Monday, but this cannot wait. " + "The booking page fails. " * 40,
    ),
    # --- per-sender limit (RFC 3834 §2) ---
    case("below limit", (), ctx={"replies_to_sender_today": 2}),
    case("at limit", ("sender_limit",), ctx={"replies_to_sender_today": 3}),
    case("above limit", ("sender_limit",), ctx={"replies_to_sender_today": 4}),
    case("limit zero means never", ("sender_limit",), ctx={"max_replies_per_sender": 0}),
    case("custom limit below", (), ctx={"replies_to_sender_today": 9, "max_replies_per_sender": 10}),
    case("sender at limit", ("sender_limit",), ctx={"replies_for_sender_today": 3}),
    case("sender below limit", (), ctx={"replies_for_sender_today": 2, "replies_to_sender_today": 2}),
    # --- several at once: table order ---
    case(
        "exchange out-of-office at limit",
        ("auto_submitted", "auto_response_suppress", "auto_reply_subject", "sender_limit"),
        {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
        ctx={"replies_to_sender_today": 3},
        subject="Automatic reply: Passwort vergessen",
    ),
    case(
        "newsletter from noreply",
        ("precedence", "mailing_list", "noreply_address"),
        {"Precedence": "bulk", "List-Unsubscribe": "<https://x.example/u>"},
        from_addr="noreply@news.example",
    ),
    case(
        "own mail reflected by a list",
        ("own_address", "own_message_id", "precedence", "mailing_list"),
        {"Precedence": "list", "List-Id": "<team.example.com>"},
        from_addr=OWN,
        message_id="<sent-1@example.com>",
    ),
]


@pytest.mark.parametrize(("headers", "fields", "ctx", "expected"), CASES)
def test_rule_table(headers: dict, fields: dict, ctx: dict, expected: tuple[str, ...]) -> None:
    hits = apply_rules(make_mail(headers, **fields), replace(CTX, **ctx))
    assert tuple(hit.name for hit in hits) == expected


def test_effects_come_from_the_table() -> None:
    effects = {rule.name: rule.effect for rule in RULES}
    hits = apply_rules(make_mail({"Auto-Submitted": "auto-replied"}, subject="Autoreply"), CTX)
    assert [(h.name, h.effect) for h in hits] == [
        ("auto_submitted", RuleEffect.IGNORE),
        ("auto_reply_subject", RuleEffect.NO_REPLY),
    ]
    assert all(effects[h.name] is h.effect for h in hits)


def test_table_is_ignore_first_with_unique_snake_case_names() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in names)
    effects = [rule.effect for rule in RULES]
    assert effects == sorted(effects, key=lambda e: e is RuleEffect.NO_REPLY)


@pytest.mark.parametrize(
    ("headers", "fields", "needle"),
    [
        ({"Auto-Submitted": "auto-replied"}, {}, "Auto-Submitted: auto-replied (RFC 3834"),
        ({"X-Auto-Response-Suppress": "DR, OOF"}, {}, "X-Auto-Response-Suppress: DR, OOF (the sender"),
        ({"Precedence": "BULK"}, {}, "Precedence: BULK"),
        ({"List-Id": "<users.example.org>"}, {}, "List-Id: <users.example.org>"),
        (
            {"Content-Type": 'multipart/report; report-type="disposition-notification"'},
            {"content_type": "multipart/report"},
            "report-type=disposition-notification",
        ),
        ({}, {"return_path": ""}, "Return-Path: <>"),
        ({}, {"from_addr": "MAILER-DAEMON@mx.customer.de"}, "From: MAILER-DAEMON@mx.customer.de"),
        ({}, {"subject": "Abwesenheitsnotiz: Rechnung"}, "Subject: Abwesenheitsnotiz: Rechnung"),
    ],
)
def test_reason_names_header_and_value(headers: dict, fields: dict, needle: str) -> None:
    (hit,) = apply_rules(make_mail(headers, **fields), CTX)
    assert needle in hit.reason


def test_reason_is_one_short_line() -> None:
    (hit,) = apply_rules(make_mail({"Auto-Submitted": "auto-generated;\r\n x=" + "y" * 500}), CTX)
    assert "\n" not in hit.reason and "\r" not in hit.reason
    assert len(hit.reason) < 200


def test_header_names_are_matched_case_insensitively_even_if_not_lower_case() -> None:
    mail = replace(make_mail(), headers={"Auto-Submitted": ("auto-replied",), "LIST-ID": ("<x.y>",)})
    assert [h.name for h in apply_rules(mail, CTX)] == ["auto_submitted", "mailing_list"]


def test_context_is_normalised() -> None:
    ctx = RuleContext(
        own_addresses=frozenset({" Support@Example.com "}),
        own_message_id_domains=frozenset({"Example.COM"}),
        own_message_ids=frozenset({" <a@b> "}),
    )
    assert ctx.own_addresses == {"support@example.com"}
    assert RuleContext(frozenset({"hilfe@MÜNCHEN.example"}), frozenset()).is_own_address(
        "Hilfe@xn--mnchen-3ya.example"
    )  # loop guards: IDNA domain, and the local part without case
    assert ctx.own_message_id_domains == {"example.com"}
    assert ctx.own_message_ids == {"a@b"}


def test_is_automatic() -> None:
    assert not is_automatic(make_mail())
    assert is_automatic(make_mail({"X-Failed-Recipients": "x@y.de"}, **BOUNCE))
    assert not is_automatic(make_mail(subject="Automatic reply: x"))  # NO_REPLY only
    assert not is_automatic(make_mail(from_addr=OWN))  # no context: our address is unknown
    assert is_automatic(make_mail(from_addr=OWN), CTX)


# --- properties -------------------------------------------------------------------------------------

KNOWN_HEADERS = [
    "auto-submitted", "precedence", "x-precedence", "list-id", "list-post", "mailing-list",
    "x-auto-response-suppress", "x-autoreply", "x-auto-reply", "x-failed-recipients", "x-loop",
    "content-type",
]  # fmt: skip
ORDER = {rule.name: i for i, rule in enumerate(RULES)}
EFFECT = {rule.name: rule.effect for rule in RULES}

header_dicts = st.dictionaries(
    st.one_of(st.sampled_from(KNOWN_HEADERS), st.text(max_size=20)),
    st.lists(st.text(max_size=60), max_size=3).map(tuple),
    max_size=8,
)
texts = st.one_of(st.text(max_size=40), st.emails())


@settings(max_examples=300, deadline=None)
@given(
    headers=header_dicts,
    from_addr=texts,
    reply_to=st.none() | texts,
    return_path=st.none() | st.text(max_size=10),
    content_type=st.one_of(st.sampled_from(["text/plain", "multipart/report"]), st.text(max_size=20)),
    subject=st.text(max_size=60),
    message_id=st.text(max_size=30),
    own=st.frozensets(texts, max_size=2),
    own_ids=st.frozensets(st.text(max_size=30), max_size=2),
    sent=st.integers(-5, 10),
    limit=st.integers(-5, 10),
)
def test_apply_rules_never_raises(
    headers, from_addr, reply_to, return_path, content_type, subject, message_id, own, own_ids, sent, limit
) -> None:
    mail = replace(
        make_mail(),
        headers=headers,
        from_addr=from_addr,
        reply_to=reply_to,
        return_path=return_path,
        content_type=content_type,
        subject=subject,
        message_id=message_id,
    )
    ctx = RuleContext(own, frozenset(), own_ids, replies_to_sender_today=sent, max_replies_per_sender=limit)
    hits = apply_rules(mail, ctx)
    assert [ORDER[h.name] for h in hits] == sorted(ORDER[h.name] for h in hits)
    for hit in hits:
        assert hit.name and hit.reason.strip()
        assert "\n" not in hit.reason
        assert hit.effect is EFFECT[hit.name]


@given(
    word=st.sampled_from(["no", "No", "NO", "nO"]),
    left=st.sampled_from(["", " ", "\t", "  "]),
    right=st.sampled_from(["", " ", "; a=b", " (person)", "\t;x"]),
)
def test_auto_submitted_no_is_never_automatic(word: str, left: str, right: str) -> None:
    mail = make_mail({"Auto-Submitted": left + word + right})
    assert "auto_submitted" not in [h.name for h in apply_rules(mail, CTX)]


@given(
    items=st.lists(
        st.sampled_from(["DR", "NDR", "RN", "NRN", "OOF", "AutoReply", "All", "None"]), min_size=1
    ),
    sep=st.sampled_from([",", ", ", " ", " , "]),
)
def test_suppress_fires_when_any_item_counts(items: list[str], sep: str) -> None:
    mail = make_mail({"X-Auto-Response-Suppress": sep.join(items)})
    fired = "auto_response_suppress" in [h.name for h in apply_rules(mail, CTX)]
    assert fired == any(item != "None" for item in items)
