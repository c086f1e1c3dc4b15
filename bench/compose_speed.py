"""CPU per outgoing mail built (rendered and composed), by kind: what the compose process of `run --once`
spends per message (mailbot.reply.compose_pool), without the rest of the pipeline.

    .venv/bin/python bench/compose_speed.py            # 2,000 mails per kind, best of 5
    .venv/bin/python bench/compose_speed.py 500 3

The mails are what the throughput bench sends most: a German answer to a customer (auto-replied, threaded)
and the team's notice of an escalation with the customer's mail attached. Process time (not wall time),
so another load on the machine changes the figures less; the best of the repetitions is the one printed
first, then all of them.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mailbot.domain import Language
from mailbot.paths import SHIPPED_TEMPLATES
from mailbot.reply.outbox import Outgoing, Sender, compose_outgoing
from mailbot.reply.render import TemplateRenderer

SENDER = Sender("support@example.com", "Beispiel GmbH Support", "example.com")
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
ARTICLE = (
    "Tippen Sie auf **Passwort vergessen** und geben Sie Ihre E-Mail-Adresse ein.\n\n"
    "1. Öffnen Sie die App\n2. Tippen Sie auf *Anmelden*\n3. Folgen Sie dem Link in der E-Mail\n"
)
ORIGINAL = (
    "From: Anna Müller <anna@example.org>\r\nTo: support@example.com\r\nSubject: App stürzt ab\r\n"
    "Message-ID: <q1@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    + "Seit dem Update stürzt die App beim Start ab. Bitte helfen Sie mir schnell.\r\n"
    * 8
).encode()


def answer(number: int) -> Outgoing:
    return Outgoing(
        kind="answer",
        language=Language.DE,
        recipient=f"kunde{number}@example.org",
        to_customer=True,
        context={
            "reference": f"MB-{10_000_000 + number}",
            "customer_name": "Anna Müller",
            "support_name": "Support",
            "subject": "Passwort vergessen",
            "article_title": "Passwort zurücksetzen",
            "article_markdown": ARTICLE,
        },
        in_reply_to=f"<q{number}@example.org>",
        references=[f"<q{number}@example.org>"],
    )


def team_notice(number: int) -> Outgoing:
    return Outgoing(
        kind="team_notice",
        language=Language.DE,
        recipient="team@example.com",
        to_customer=False,
        context={
            "reference": f"MB-{10_000_000 + number}",
            "customer": "Anna Müller <anna@example.org>",
            "subject": "App stürzt ab",
            "reason": "nicht sicher: bester Artikel app-crash mit 0,46 < Schwelle 0,94",
            "language": "de",
            "ranking": [("app-crash", 0.46), ("sync-devices", 0.2)],
            "rule_hits": [],
            "body_excerpt": "Seit dem Update stürzt die App beim Start ab.",
            "event": "new",
            "severity": "major",
            "severity_reasons": ["Absturz beim Start"],
            "response_due": None,
            "resolution_due": None,
            "parent_reference": None,
            "external_key": None,
            "answer_by_mail": False,
        },
        attach_rfc822=ORIGINAL,
    )


def cpu_per_mail(renderer: TemplateRenderer, make: Callable[[int], Outgoing], count: int) -> float:
    items = [make(number) for number in range(count)]
    started = time.process_time()
    for number, item in enumerate(items):
        compose_outgoing(renderer, SENDER, item, f"<mb.{number:08d}@example.com>", NOW, to=True)
    return (time.process_time() - started) / count * 1000


def main(count: int = 2000, repetitions: int = 5) -> None:
    renderer = TemplateRenderer(SHIPPED_TEMPLATES)
    for name, make in (("answer", answer), ("team_notice + original", team_notice)):
        runs = [cpu_per_mail(renderer, make, count) for _ in range(repetitions)]
        every = ", ".join(f"{ms:.3f}" for ms in runs)
        print(f"{name:<24} {min(runs):.3f} ms CPU per mail (best of {repetitions}: {every})")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
