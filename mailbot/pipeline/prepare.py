"""What can be worked out about a batch of stored mails before the database is consulted: parsing and
both models' guesses, in one vectorised call per model for the whole batch (and one more for the
questions of the mails that ask several things).

Why in a batch: a TF-IDF transform has a large fixed cost per call; for 32 mails one call costs
about a quarter per mail of 32 single calls (0.5 vs 2.0 ms for the article model, 1.4 vs 3.2 ms for
the severity model, measured on the sample KB). The guesses are made before anyone knows whether a
mail will need them (a mail in a ticket's thread or one the rules ignore is never classified in
process_one), so the severity model, the costlier one, is asked only for mails likely to be
escalated; the rest is asked one by one if it ever is (`severity_for`).

Everything here is a pure function of the stored bytes and the models: no session, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mailbot.app import App
from mailbot.classify.disclosure import show_to_customer
from mailbot.classify.normalise import classification_mapped, classification_text
from mailbot.classify.questions import question_segments
from mailbot.domain import ParsedMail, Prediction, SeverityGuess
from mailbot.errors import Quarantine
from mailbot.parse import parse_mail
from mailbot.rules import header_only


@dataclass(frozen=True)
class Stored:
    """What process_one reads of an inbound row to prepare it."""

    row_id: int
    raw: bytes
    size: int


@dataclass(frozen=True)
class Prepared:
    """One mail, parsed and guessed about; `unparsable` is the reason it could not be parsed."""

    mail: ParsedMail | None
    unparsable: str | None = None
    prediction: Prediction | None = None
    severity: SeverityGuess | None = None
    # one prediction per question when the mail would be answered and asks several things, else ()
    questions: tuple[Prediction, ...] = ()
    # whether the customer may read `severity` (classify.disclosure), worked out with it; None: not asked
    severity_shown: bool | None = None


@dataclass(frozen=True)
class Parsed:
    """A batch parsed, not yet guessed about: the parsed mails and the unparsable ones, by inbound id.
    The part of a batch that needs no model (`run --once` parses it in the worker while its parsing
    process still reads the models, mailbot.pipeline.process)."""

    mails: dict[int, ParsedMail]
    unparsable: dict[int, Prepared]


def prepare_batch(app: App, stored: Sequence[Stored]) -> dict[int, Prepared]:
    """Parse every mail and guess about the parsed ones, by inbound id."""
    return guess_batch(app, parse_batch(app, stored))


def parse_batch(app: App, stored: Sequence[Stored]) -> Parsed:
    """Every mail parsed, or the reason it could not be."""
    parsed: dict[int, ParsedMail] = {}
    unparsable: dict[int, Prepared] = {}
    for item in stored:
        try:
            mail = parse_mail(item.raw, default_language=app.settings.support.default_language)
        except Quarantine as exc:
            unparsable[item.row_id] = Prepared(None, unparsable=exc.reason)
            continue
        if header_only.stored_header_only(item.size, len(item.raw)):  # released with --force
            mail = header_only.mark(mail)
        parsed[item.row_id] = mail
    return Parsed(parsed, unparsable)


def guess_batch(app: App, batch: Parsed) -> dict[int, Prepared]:
    """Both models' guesses about the parsed mails, in one call per model; with the unparsable ones, by
    inbound id."""
    parsed = batch.mails
    prepared: dict[int, Prepared] = dict(batch.unparsable)
    ids = list(parsed)
    texts = [classification_text(parsed[i].subject, parsed[i].body) for i in ids]
    predictions = dict(zip(ids, app.classifier.predict_texts(texts), strict=True)) if ids else {}
    escalating = {article.id for article in app.kb.articles if article.action == "escalate"}
    likely = [i for i in ids if _likely_escalated(predictions[i], escalating)]
    # mapped texts, so that the guess's reasons quote the customer's words (as SeverityModel.guess does)
    mapped = {i: classification_mapped(parsed[i].subject, parsed[i].body) for i in likely}
    guesses = app.severity.guess_texts(list(mapped.values())) if likely else []
    severities = dict(zip(likely, guesses, strict=True))
    # here, not while deciding: the text's signals were just found for the guess (signals._matches)
    shown = {i: show_to_customer(severities[i], mapped[i].text) for i in likely}
    questions = _questions(app, {i: parsed[i] for i in ids if predictions[i].confident})
    for row_id, mail in parsed.items():
        prepared[row_id] = Prepared(
            mail,
            None,
            predictions[row_id],
            severities.get(row_id),
            questions.get(row_id, ()),
            shown.get(row_id),
        )
    return prepared


def _questions(app: App, answerable: dict[int, ParsedMail]) -> dict[int, tuple[Prediction, ...]]:
    """Per mail that asks several things, one prediction per question: all questions of the batch in
    one call (it was one call per such mail, while deciding)."""
    segments = {row_id: question_segments(mail.body) for row_id, mail in answerable.items()}
    asking = {row_id: found for row_id, found in segments.items() if found}
    texts = [classification_text("", segment) for found in asking.values() for segment in found]
    if not texts:
        return {}
    flat = iter(app.classifier.predict_texts(texts))
    return {row_id: tuple(next(flat) for _ in found) for row_id, found in asking.items()}


def _likely_escalated(prediction: Prediction, escalating: set[str]) -> bool:
    return not prediction.confident or prediction.article_id in escalating


def shown_to_customer(prepared: Prepared | None, guess: SeverityGuess, mail: ParsedMail) -> bool:
    """`classify.disclosure.show_to_customer` for `guess` on `mail`: the batch's answer when the guess
    is the batch's, else worked out now."""
    if prepared is not None and prepared.severity is guess and prepared.severity_shown is not None:
        return prepared.severity_shown
    return show_to_customer(guess, classification_text(mail.subject, mail.body))


def severity_for(app: App, prepared: Prepared | None, mail: ParsedMail) -> SeverityGuess:
    """The severity guess of `mail`: the batch's when it made one, else the model's now."""
    if prepared is not None and prepared.severity is not None and prepared.mail is mail:
        return prepared.severity
    return app.severity.guess(mail.subject, mail.body)
