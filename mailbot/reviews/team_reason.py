"""A review's decision reason (and its ticket's severity reasons) as the team reads them, in the team's
language.

The decision (mailbot.reviews.decide) stores its reason in English, with the reviewer's words quoted by
the detector that fired; the team's mails about reviews (the ticket's notice, the daily digest) are in
the team's language, as the mails about e-mail tickets are (mailbot.tickets.team_view). The reasons are
few fixed sentences, so the stored text is read back by them, as classify.reasons does for severity
reasons; a text none of them matches is shown as it is.
"""

from __future__ import annotations

import re

from mailbot.classify.reasons import for_team
from mailbot.domain import Language
from mailbot.tickets.team_view import team_reasons

_DETAIL = r"\((?P<detail>.*)\)"
_NUMBER = r"[0-9]+\.[0-9]+"
_GERMAN: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.DOTALL), german)
    for pattern, german in (
        (rf"reports a bug {_DETAIL}", "meldet einen Fehler ({detail})"),
        (rf"reports a payment fault {_DETAIL}", "meldet ein Zahlungsproblem ({detail})"),
        (
            rf"the severity guess names a fault: (?P<severity>\w+) "
            rf"\((?P<confidence>{_NUMBER})(?:; (?P<why>.*))?\)",
            "die Einstufung erkennt einen Fehler: {severity} ({confidence}{why})",
        ),
        (rf"insults or threatens people {_DETAIL}", "beleidigt oder bedroht Menschen ({detail})"),
        (
            rf"threatens legal steps or alleges fraud {_DETAIL}",
            "droht mit rechtlichen Schritten oder spricht von Betrug ({detail})",
        ),
        (rf"demands money back {_DETAIL}", "verlangt Geld zurück ({detail})"),
        (
            r"written in a language we do not reply in \(neither German nor English\)",
            "in einer Sprache geschrieben, in der wir nicht antworten (weder Deutsch noch Englisch)",
        ),
        (
            r"edited after we replied: our public reply may no longer fit the new text",
            "nach unserer Antwort geändert: unsere öffentliche Antwort passt vielleicht nicht mehr zum Text",
        ),
        (
            rf"asks about (?P<article>\S+), a topic for the 2nd level {_DETAIL}",
            "fragt nach {article}, einem Thema für den 2nd Level ({detail})",
        ),
        (
            rf"asks something the knowledge base does not answer with confidence \(best: (?P<article>\S+) at "
            rf"(?P<confidence>{_NUMBER}), threshold (?P<threshold>{_NUMBER}); (?P<detail>.*)\)",
            "fragt etwas, das die Wissensdatenbank nicht sicher beantwortet (am ehesten {article} mit "
            "{confidence}, Schwelle {threshold}; {detail})",
        ),
        (
            rf"asks something the knowledge base does not answer {_DETAIL}",
            "fragt etwas, das die Wissensdatenbank nicht beantwortet ({detail})",
        ),
        (
            r"(?P<stars>[1-5]) stars and nothing we understand well enough to reply to",
            "{stars} Sterne und nichts, was wir gut genug verstehen, um darauf zu antworten",
        ),
        # a review ticket's first severity reason when the model named no class (reviews.ticket)
        (
            r"a fault by the review's words; the severity model named no class: (?P<severity>\w+) assumed",
            "Ein Fehler nach den Worten der Bewertung; das Modell nannte keine Einstufung: "
            "{severity} angenommen",
        ),
    )
)


def severity_reasons_for_team(reasons: list[str] | None, language: Language) -> list[str]:
    """A review ticket's stored severity reasons as the team reads them: the review's own line in the
    team's language, the rest as for mail (tickets.team_view)."""
    return team_reasons([review_reason_for_team(line, language) for line in reasons or []], language)


def review_reason_for_team(reason: str, language: Language) -> str:
    """`reason` (a stored review decision's) in `language`; German by its fixed sentences."""
    if language is not Language.DE:
        return reason
    for pattern, german in _GERMAN:
        if match := pattern.fullmatch(reason):
            values = {key: value or "" for key, value in match.groupdict().items()}
            if "detail" in values:
                values["detail"] = _german_detail(values["detail"])
            for key in ("confidence", "threshold"):
                if key in values:
                    values[key] = values[key].replace(".", ",")
            if "why" in values:
                shown = for_team([values["why"]], Language.DE) if values["why"] else []
                values["why"] = f"; {shown[0]}" if shown else ""
            return german.format(**values)
    return reason


def _german_detail(detail: str) -> str:
    """A detector's finding ('bug: "stürzt ab"', 'bug: signal: "…" (crash)'): the reviewer's words in
    German quotes, a signal named in German (classify.reasons.for_team)."""
    words = detail.partition(": ")[2] or detail
    if words.startswith("signal: "):
        return next(iter(for_team([words], Language.DE)), words)
    if len(words) >= 2 and words[0] == words[-1] == '"':
        return f"„{words[1:-1]}“"
    return words
