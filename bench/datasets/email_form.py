"""Wrap plain benchmark questions into real RFC 822 mails, the way customers actually send them.

Real mails bury the question between a greeting, a signature with a legal disclaimer and the quoted
earlier conversation, and some clients send HTML only. The mix is drawn per case from a generator
seeded with the case id, so each mail is the same on every run and independent of the others.
"""

from __future__ import annotations

import hashlib
import html
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

from bench.datasets.writer import Case

FROM = "customer@example.org"
TO = "support@example.com"
SUPPORT = "Support Team <support@example.com>"
_BASE_DATE = datetime(2024, 3, 4, 9, 0, tzinfo=timezone(timedelta(hours=1)))

GREETINGS = {
    "de": ["Hallo,", "Sehr geehrte Damen und Herren,", "Guten Tag,", "Hallo Support-Team,", "Moin,"],
    "en": ["Hi there,", "Dear support team,", "Hello,", "Dear Sir or Madam,", "Hi,"],
}
CLOSINGS = {
    "de": ["Mit freundlichen Grüßen", "Viele Grüße", "Beste Grüße", "Danke und Gruß"],
    "en": ["Best regards,", "Kind regards,", "Thanks,", "Cheers,"],
}
SIGNATURES = {
    "de": [
        ["Max Mustermann", "Mustermann GmbH", "Musterstraße 1, 12345 Musterstadt", "Tel. +49 30 1234567"],
        ["Erika Musterfrau", "Einkauf", "Beispiel AG | Hauptstr. 5 | 80331 München", "www.beispiel-ag.de"],
    ],
    "en": [
        ["John Smith", "Operations Manager", "Acme Ltd.", "Phone: +44 20 7946 0000"],
        ["Jane Doe", "Example Corp | 1 Main Street | Springfield", "jane.doe@example.org"],
    ],
}
DISCLAIMERS = {
    "de": [
        "Diese E-Mail enthält vertrauliche und/oder rechtlich geschützte Informationen. Wenn Sie nicht"
        " der richtige Adressat sind oder diese E-Mail irrtümlich erhalten haben, informieren Sie bitte"
        " sofort den Absender und vernichten Sie diese Mail. Das unerlaubte Kopieren sowie die unbefugte"
        " Weitergabe dieser Mail ist nicht gestattet.",
        "Geschäftsführer: Max Mustermann | Amtsgericht Musterstadt HRB 12345 | USt-IdNr. DE123456789",
    ],
    "en": [
        "This e-mail and any attachments are confidential and may be privileged. If you are not the"
        " intended recipient, please notify the sender immediately and delete this e-mail. Any"
        " unauthorised copying or distribution is prohibited.",
        "Registered in England and Wales No. 1234567. Please consider the environment before printing.",
    ],
}
MOBILE = {"de": "Von meinem iPhone gesendet", "en": "Sent from my iPhone"}
EARLIER = {
    "de": [
        "Sehr geehrte Kundin, sehr geehrter Kunde,\nvielen Dank für Ihre Nachricht. Wir haben Ihr Anliegen"
        " erhalten und melden uns so schnell wie möglich.\nMit freundlichen Grüßen\nIhr Support-Team",
        "Hallo,\nkurze Rückfrage: können Sie uns noch Ihre Kundennummer nennen?\nDanke und viele Grüße",
    ],
    "en": [
        "Hello,\nthank you for contacting us. We have received your request and will get back to you"
        " shortly.\nKind regards\nThe Support Team",
        "Hi,\njust checking in: did our last answer help you?\nBest wishes\nCustomer Care",
    ],
}
GENERIC_SUBJECTS = {"de": "Frage", "en": "Question"}
_MONTHS_DE = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
]
_MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_DAYS_DE = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]
_DAYS_EN = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@dataclass(frozen=True)
class MailStyle:
    """How one question is dressed: every field is an independent choice, recorded for the mix summary."""

    lang: str  # language of greeting, signature and quote header ("de" | "en")
    greeting: str | None
    closing: str | None
    signature: tuple[str, ...]  # name/company lines, may be empty
    disclaimer: str | None
    sig_dashes: bool  # an RFC 3676 "-- " line between closing and signature
    quote: str | None  # "gmail" ("Am ... schrieb" / "On ... wrote"), "outlook", or None
    earlier: str  # text of the quoted earlier mail
    form: str  # "plain", "html" (HTML only) or "alternative" (multipart/alternative)
    subject: str  # "empty", "generic" or "first_words"
    sent: datetime


def choose_style(rng: random.Random) -> MailStyle:
    """A seeded draw of one mail style; shares chosen so every feature is frequent in 3100 mails."""
    lang = rng.choice(["de", "en"])
    full_signature = rng.random() < 0.5
    return MailStyle(
        lang=lang,
        greeting=rng.choice(GREETINGS[lang]) if rng.random() < 0.85 else None,
        closing=rng.choice(CLOSINGS[lang]) if rng.random() < 0.8 else None,
        signature=tuple(rng.choice(SIGNATURES[lang])) if full_signature else (MOBILE[lang],),
        disclaimer=rng.choice(DISCLAIMERS[lang]) if full_signature and rng.random() < 0.6 else None,
        sig_dashes=full_signature and rng.random() < 0.3,
        quote=rng.choice(["gmail", "gmail", "outlook", None, None]),
        earlier=rng.choice(EARLIER[lang]),
        form=rng.choice(["plain", "plain", "html", "alternative"]),
        subject=rng.choice(["empty", "generic", "first_words"]),
        sent=_BASE_DATE + timedelta(minutes=rng.randrange(200 * 24 * 60)),
    )


def subject_for(question: str, style: MailStyle) -> str:
    if style.subject == "generic":
        return GENERIC_SUBJECTS[style.lang]
    if style.subject == "first_words":
        return " ".join(question.split()[:5])
    return ""


def quote_header(style: MailStyle) -> list[str]:
    """The attribution line(s) mail clients put above a quoted mail, in the style's language."""
    when = style.sent - timedelta(days=2, hours=3)
    if style.quote == "outlook" and style.lang == "de":
        date = (
            f"{_DAYS_DE[when.weekday()]}, {when.day}. {_MONTHS_DE[when.month - 1]} {when.year} {when:%H:%M}"
        )
        return [
            "-----Ursprüngliche Nachricht-----",
            f"Von: {SUPPORT}",
            f"Gesendet: {date}",
            f"An: {FROM}",
            "Betreff: AW: Ihre Anfrage",
        ]
    if style.quote == "outlook":
        month = _MONTHS_EN[when.month - 1]
        date = f"{_DAYS_EN[when.weekday()]}, {month} {when.day}, {when.year} {when:%I:%M %p}"
        return [
            "-----Original Message-----",
            f"From: {SUPPORT}",
            f"Sent: {date}",
            f"To: {FROM}",
            "Subject: RE: Your request",
        ]
    if style.lang == "de":
        return [f"Am {when:%d.%m.%Y} um {when:%H:%M} schrieb {SUPPORT}:"]
    month = _MONTHS_EN[when.month - 1]
    return [
        f"On {_DAYS_EN[when.weekday()]}, {month} {when.day}, {when.year} at {when:%I:%M %p} {SUPPORT} wrote:"
    ]


def plain_body(question: str, style: MailStyle) -> str:
    """The text/plain rendering: greeting, question, closing, signature, then the quoted mail."""
    parts = [style.greeting, question]
    dashes = ("-- ",) if style.sig_dashes else ()
    parts.append("\n".join(line for line in (style.closing, *dashes, *style.signature) if line))
    parts.append(style.disclaimer)
    if style.quote:
        quoted = style.earlier.split("\n")
        lines = quoted if style.quote == "outlook" else [f"> {line}" for line in quoted]
        parts.append("\n".join([*quote_header(style), *([""] if style.quote == "outlook" else []), *lines]))
    return "\n\n".join(part for part in parts if part) + "\n"


def html_body(question: str, style: MailStyle) -> str:
    """The text/html rendering of the same content, as webmail and Outlook produce it."""
    esc = html.escape
    parts = [f"<p>{esc(style.greeting)}</p>" if style.greeting else "", f"<p>{esc(question)}</p>"]
    signature = [line for line in (style.closing, *style.signature) if line]
    if signature:
        parts.append("<p>" + "<br>".join(map(esc, signature)) + "</p>")
    if style.disclaimer:
        parts.append(f'<p style="font-size:8pt;color:#808080">{esc(style.disclaimer)}</p>')
    earlier = "<br>".join(map(esc, style.earlier.split("\n")))
    header = "<br>".join(map(esc, quote_header(style))) if style.quote else ""
    if style.quote == "outlook":
        parts.append(f'<div style="border-top:solid #E1E1E1 1.0pt"><p>{header}</p></div><p>{earlier}</p>')
    elif style.quote == "gmail":
        parts.append(
            f'<div class="gmail_quote"><div>{header}</div><blockquote class="gmail_quote"'
            ' style="margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex">'
            f"{earlier}</blockquote></div>"
        )
    return '<html><head><meta charset="utf-8"></head><body>' + "".join(parts) + "</body></html>\n"


def compose(question: str, message_id: str, style: MailStyle) -> EmailMessage:
    """One customer mail carrying `question` in the given style."""
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = FROM
    message["To"] = TO
    message["Subject"] = subject_for(question, style)
    message["Date"] = format_datetime(style.sent)
    message["Message-ID"] = message_id
    if style.form == "html":
        message.set_content(html_body(question, style), subtype="html")
    else:
        message.set_content(plain_body(question, style))
        if style.form == "alternative":
            message.add_alternative(html_body(question, style), subtype="html")
            # the default boundary is random; a fixed one keeps every build byte-identical
            token = hashlib.sha256(message_id.encode()).hexdigest()[:24]
            message.set_boundary(f"==bench-{token}==")
    return message


def wrap_cases(cases: Sequence[Case], seed: str = "mailbot-bench") -> tuple[list[Case], dict[str, bytes]]:
    """Each case with an `eml` path, and the mail bytes per path; `text` keeps the bare question."""
    wrapped, files = [], {}
    for case in cases:
        style = choose_style(random.Random(f"{seed}:{case.id}"))
        relative = f"eml/{case.id}.eml"
        files[relative] = compose(case.text, f"<{case.id}@bench.mailbot.example>", style).as_bytes()
        wrapped.append(replace(case, eml=relative))
    return wrapped, files


def style_mix(cases: Sequence[Case], seed: str = "mailbot-bench") -> str:
    """How often each style feature was drawn, as one line for the data-set notes."""
    mix: Counter[str] = Counter()
    for case in cases:
        style = choose_style(random.Random(f"{seed}:{case.id}"))
        mix.update(
            [f"form={style.form}", f"quote={style.quote}", f"lang={style.lang}", f"subject={style.subject}"]
        )
        mix.update(["disclaimer"] * bool(style.disclaimer) + ["greeting"] * bool(style.greeting))
    return "mail mix: " + ", ".join(f"{key} {count}" for key, count in sorted(mix.items()))
