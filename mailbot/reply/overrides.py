"""Start-up checks of a client's override folder, so that a mistake there stops the start, not a mail.

An override is edited by a support agent, not a developer, and used only when its mail is written:
a misspelt file name would silently change nothing, and a misspelt variable (``{{ referenc }}``)
would fail the mail that needs it, inside the transaction that decides that mail, until the mail is
quarantined. So the renderer refuses unknown file names here and renders every kind an override
touches with sample values, once with only the required keys and once with every optional key set,
and reports the first failure as file:line, problem and fix, like `mailbot kb check`. Branches that
neither sample reaches are not proven; StrictUndefined still names their mistakes when they render.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from zoneinfo import ZoneInfo

from mailbot.domain import Language
from mailbot.errors import ConfigError

_DUE = datetime(2026, 5, 26, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
_REQUIRED_SAMPLES: dict[str, object] = {
    "reference": "MB-48213377",
    "external_key": "SUP-12",  # jira_erasure_refused
    "subject": "Passwort vergessen",
    "support_name": "Support",
    "article_markdown": "Öffnen Sie die **Anmeldeseite**.",
    "message": "",
    "state": "escalated",
    "responded": False,
    "next_opening": _DUE,
    "customer": "Erika Müller <erika@example.com>",
    "reason": "classifier below threshold",
    "language": Language.DE,
    "ranking": [("password-reset", 0.41)],
    "rule_hits": [("limits", "third mail today")],
    "body_excerpt": "Hallo,\nich komme nicht mehr rein.",
    "event": "new",
    "severity": "major",
    "response_due": _DUE,
    "share_used": 0.8,
    "breached": False,
    "recipient": "erika@example.com",
    "error": "550 5.1.1 mailbox unknown",
    "sender": "jemand@example.org",
    # the team mails about store reviews (issue 16)
    "store_name": "App Store",
    "app_name": "Aktivo Fitness",
    "rating": 1,
    "review_number": "R12",
    "review_title": "Stürzt ab",
    "review_body": "Seit dem Update stürzt die App beim Start ab.",
    "drafts": [
        {
            "number": "R12",
            "store_name": "App Store",
            "app_name": "Aktivo Fitness",
            "rating": 5,
            "language": "de",
            "excerpt": "Tolle App!",
            "kind": "thank",
            "text": "Vielen Dank für Ihre freundliche Bewertung!",
            "problems": ["enthält einen Link, der nicht erlaubt ist"],
        }
    ],
    "persons": [
        {
            "number": "R13",
            "store_name": "Google Play",
            "app_name": "Aktivo Fitness",
            "rating": 1,
            "language": "en",
            "excerpt": "I want my money back.",
            "reason": "asks for a refund",
        }
    ],
    "failed": [
        {
            "number": "R14",
            "store_name": "Google Play",
            "app_name": "Aktivo Fitness",
            "error": "400 INVALID_ARGUMENT",
        }
    ],
    "app_id": "1234567890",
    "since": _DUE,
    "days": 3.5,
    "fix": "Geben Sie dem Schlüssel die Rolle Customer Support.",
}
_OPTIONAL_SAMPLES: dict[str, object] = {
    "customer_name": "Müller, Erika",
    "article_title": "Passwort zurücksetzen",
    "interim_markdown": "Ein **Tipp**.",
    "due_text": "morgen",
    "severity": "major",
    "response_due": _DUE,
    "resolution_due": _DUE,
    "overdue": False,
    "agent_name": "Katrin Berger",
    "severity_confidence": 0.7,
    "severity_reasons": ("Die App stürzt ab.",),
    "parent_reference": "MB-10000001",
    "external_key": "SUP-12",
    "reference": "MB-48213377",  # delivery_failed: optional there
    "not_sent": True,
    "http_status": 403,
    "answer_by_mail": True,
    "suggestion_title": "Passwort zurücksetzen",
    "suggestion_markdown": "Öffnen Sie die **Anmeldeseite**.",
    "suggestion_article": "password-reset",
    "suggestion_confidence": 0.62,
    "removed_attachments": ("tool.zip (application/zip): Dateityp application/zip ist nicht erlaubt",),
    "original_withheld": None,  # its own branch would hide the list above
    "reply_state": "draft",
    "google_window": True,
}


def sample_contexts(required: Iterable[str], optional: Iterable[str]) -> list[dict[str, object]]:
    """Two contexts for a kind: required keys only, then every optional key set (a person's reply)."""
    base = {key: _REQUIRED_SAMPLES[key] for key in required}
    full = {**base, **{key: _OPTIONAL_SAMPLES[key] for key in optional}}
    if "message" in full:
        full["message"] = "Bitte senden Sie uns einen Screenshot."
    return [base, full]


def check_override_names(directory: Path, known: Sequence[str]) -> None:
    """A file in an override folder that no mail uses is a misspelt name: say which name was meant.

    Files starting with "_" may be partials of the client's own (imported by its overrides) unless
    they are a letter or two off a shipped partial; files not ending in .j2 (a README) are left alone.
    """
    languages = {lang.value for lang in Language}
    for path in sorted(directory.glob("*.j2")):
        if path.name in known:
            continue
        close = difflib.get_close_matches(path.name, known, n=1, cutoff=0.85)
        if path.name.startswith("_") and not close:
            continue
        parts = path.name.split(".")
        if len(parts) == 4 and parts[1] not in languages:
            # a language mailbot does not write: "did you mean answer.en.txt.j2?" would mislead
            raise ConfigError(
                f"{path}: no mail uses this template: mails are written in {', '.join(sorted(languages))} "
                "only (the customer's language decides; remove the file)"
            )
        hint = f"did you mean {close[0]}?" if close else "names are <kind>.<lang>.<txt|html|subject>.j2"
        raise ConfigError(
            f"{path}: no mail uses this template, so it would change nothing: {hint} "
            "(rename it to the file it should replace, or remove it)"
        )


def failure_at(exc: BaseException, directories: Sequence[Path], fallback: str) -> str:
    """``file:line`` where a render failed: Jinja keeps template lines in tracebacks. The innermost
    frame in an override folder wins (the edited file, not the shipped macro it called), else the
    innermost template frame; `fallback` when there is none."""
    overrides = tuple(os.path.join(directory, "") for directory in directories[:-1])  # with trailing /
    roots = tuple(os.path.join(directory, "") for directory in directories)
    frames: list[tuple[str, int]] = []
    chain: BaseException | None = exc
    while chain is not None:  # the renderer re-raises UndefinedError with the template's name
        tb: TracebackType | None = chain.__traceback__
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            if filename.startswith(roots):
                frames.append((filename, tb.tb_lineno))
            tb = tb.tb_next
        chain = chain.__cause__
    edited = [frame for frame in frames if frame[0].startswith(overrides)]
    for filename, line in (edited or frames)[-1:]:
        return f"{filename}:{line}"
    return fallback
