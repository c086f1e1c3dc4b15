"""Render cases whose output before `[branding]` existed is kept in golden/render_before_branding.json.

The default branding must reproduce these mails byte for byte (tests/unit/test_branding.py).
Regenerate only when a template's wording changes on purpose: ``python -m tests.unit.branding_cases``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from mailbot.domain import Language
from mailbot.reply.render import TemplateRenderer

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
GOLDEN = Path(__file__).resolve().parent / "golden" / "render_before_branding.json"
DUE = datetime(2026, 5, 26, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
ARTICLE = (
    "So geht es:\n\n1. Öffnen Sie die **Anmeldeseite**.\n2. Folgen Sie dem [Link](https://example.com/a).\n"
)
_CUSTOMER = {
    "reference": "MB-000123",
    "subject": "AW: Passwort vergessen",
    "customer_name": "Müller, Erika",
    "support_name": "Beispiel Support",
}
_TEAM = {
    "reference": "MB-000123",
    "customer": "Erika Müller <erika@example.com>",
    "subject": "Export bricht ab",
    "reason": "classifier below threshold (0.41 < 0.60)",
    "language": Language.DE,
    "ranking": [("export-csv", 0.41)],
    "rule_hits": [("limits", "third mail from this sender today")],
    "body_excerpt": "Hallo,\nder Export bricht ab.",
    "event": "new",
}

CASES: dict[str, tuple[str, dict[str, object]]] = {
    "answer": ("answer", {**_CUSTOMER, "article_markdown": ARTICLE, "article_title": "Passwort"}),
    "ack-plain": ("acknowledgement", dict(_CUSTOMER)),
    "ack-full": (
        "acknowledgement",
        {**_CUSTOMER, "severity": "major", "response_due": DUE, "interim_markdown": ARTICLE},
    ),
    "ack-overdue": ("acknowledgement", {**_CUSTOMER, "overdue": True, "customer_name": ""}),
    "followup": ("followup_received", {**_CUSTOMER, "response_due": DUE}),
    "solved-notice": ("solved", {**_CUSTOMER, "message": ""}),
    "solved-personal": (
        "solved",
        {**_CUSTOMER, "message": "Der Export läuft wieder.", "agent_name": "Katrin B."},
    ),
    "agent-reply": ("agent_reply", {**_CUSTOMER, "message": "Bitte senden Sie uns einen Screenshot."}),
    "agent-reply-signed": (
        "agent_reply",
        {**_CUSTOMER, "message": "Hallo Frau Müller,\n\nes geht wieder.\n\nViele Grüße\nKatrin"},
    ),
    "status": ("status", {**_CUSTOMER, "state": "escalated", "responded": False, "response_due": DUE}),
    "out-of-hours": (
        "out_of_hours",
        {"subject": "Passwort", "support_name": "Beispiel Support", "next_opening": DUE},
    ),
    "team-notice": ("team_notice", dict(_TEAM)),
    "sla-alert": (
        "sla_alert",
        {
            **{k: _TEAM[k] for k in ("reference", "customer", "subject", "language")},
            "severity": "major",
            "response_due": DUE,
            "share_used": 0.8,
            "breached": False,
        },
    ),
    "delivery-failed": (
        "delivery_failed",
        {"reference": "MB-000123", "recipient": "erika@example.com", "subject": "Re: X", "error": "550 no"},
    ),
    "oncall": (
        "oncall_alert",
        {
            **{k: _TEAM[k] for k in ("reference", "customer", "subject", "body_excerpt")},
            "severity": "critical",
            "response_due": DUE,
        },
    ),
}


def render_all(renderer: TemplateRenderer) -> dict[str, dict[str, str]]:
    """Every case in both languages: ``{"<case>.<lang>": {"subject", "text", "html"}}``."""
    out: dict[str, dict[str, str]] = {}
    for name, (kind, context) in CASES.items():
        for language in Language:
            rendered = renderer.render(kind, language, context)
            out[f"{name}.{language.value}"] = {
                "subject": rendered.subject,
                "text": rendered.text,
                "html": rendered.html,
            }
    return out


if __name__ == "__main__":
    GOLDEN.write_text(
        json.dumps(render_all(TemplateRenderer(TEMPLATES)), ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )
    print(f"wrote {GOLDEN}")
