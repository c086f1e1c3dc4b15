"""draft_reply(): the reply drafts per kind and language, their wording, length and checks (issue 16)."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from itertools import groupby
from pathlib import Path

import pytest

from mailbot.domain import Language, Prediction
from mailbot.kb import load_knowledge_base
from mailbot.kb.model import Article
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE
from mailbot.reviews.checker import check_reply
from mailbot.reviews.compose import (
    SHIPPED_REVIEW_TEMPLATES,
    TARGET,
    Draft,
    Refusal,
    ReplyContext,
    ReplyKind,
    available_phrasings,
    draft_reply,
)
from mailbot.reviews.decide import ReviewAction, ReviewDecision, ReviewFacts
from mailbot.stores.model import Store

LINK = "https://aktivo.example/hilfe"
KB = load_knowledge_base(SHIPPED_KNOWLEDGE_BASE)
DECISIONS = {
    ReviewAction.THANK: ReviewDecision(ReviewAction.THANK, "5 stars without a problem", "thanks"),
    ReviewAction.ANSWER: ReviewDecision(ReviewAction.ANSWER, "asks", "answer", article_id="password-reset"),
    ReviewAction.TICKET: ReviewDecision(ReviewAction.TICKET, "reports a bug", "fault"),
    ReviewAction.PERSON: ReviewDecision(ReviewAction.PERSON, "insults people", "abuse"),
}
KINDS = {
    ReplyKind.THANK: (ReviewAction.THANK, False),
    ReplyKind.ANSWER: (ReviewAction.ANSWER, False),
    ReplyKind.PASSED_ON: (ReviewAction.TICKET, False),
    ReplyKind.FIXED: (ReviewAction.TICKET, True),
}
# informal German address: "du", "dich", "dir", "dein", "euch", "euer" must never appear
INFORMAL = re.compile(r"\b(?:du|dich|dir|dein\w*|euch|euer|eure\w*)\b", re.IGNORECASE)


def facts(language: Language | None = Language.DE, review_id: str = "r-1", **changes: object) -> ReviewFacts:
    base = ReviewFacts(
        store=Store.GOOGLE,
        rating=5,
        title="Titel",
        body="Text der Bewertung",
        language=language,
        prediction=Prediction("password-reset", 0.9, 0.6),
        review_id=review_id,
        author="Jenny92",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def context(language: Language = Language.DE, **changes: object) -> ReplyContext:
    base = ReplyContext(
        app_name="Aktivo",
        sign_off={Language.DE: "Ihr Aktivo-Team", Language.EN: "Your Aktivo team"},
        support_link=LINK,
        allowed_links=(LINK,),
        article=KB.article("password-reset", language),
        ticket_reference="MB-48213377",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def draft(kind: ReplyKind, language: Language = Language.DE, **changes: object) -> Draft:
    action, solved = KINDS[kind]
    reply = draft_reply(DECISIONS[action], facts(language, **changes), context(language, solved=solved))
    assert isinstance(reply, Draft), reply
    return reply


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("kind", list(ReplyKind))
def test_every_kind_has_at_least_four_phrasings(kind: ReplyKind, language: Language):
    assert len(available_phrasings((SHIPPED_REVIEW_TEMPLATES,), language, kind)) >= 4


@pytest.mark.parametrize("store", list(Store))
@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("kind", list(ReplyKind))
def test_every_phrasing_renders_a_clean_reply(kind: ReplyKind, language: Language, store: Store):
    """Each phrasing in turn (the others marked recent): within the budget, passing the checker, signed,
    German with "Sie", no reviewer name."""
    action, solved = KINDS[kind]
    phrasings = available_phrasings((SHIPPED_REVIEW_TEMPLATES,), language, kind)
    for phrasing in phrasings:
        others = tuple(p for p in phrasings if p != phrasing)
        ctx = context(language, solved=solved, fixed_version="2.3.1", recent_phrasings=others)
        reply = draft_reply(DECISIONS[action], facts(language, store=store), ctx)
        assert isinstance(reply, Draft), reply
        assert reply.phrasing == phrasing and reply.kind is kind
        assert len(reply.text) <= TARGET
        assert check_reply(reply.text, "Titel\nText der Bewertung", store, (LINK,), author="Jenny92") == ()
        assert reply.text.endswith("\nIhr Aktivo-Team" if language is Language.DE else "\nYour Aktivo team")
        if language is Language.DE:
            assert not INFORMAL.search(reply.text), reply.text


def test_the_phrasing_is_stable_for_a_review_and_varies_between_reviews():
    first = draft(ReplyKind.THANK, review_id="gp:AOqpTOF1")
    assert draft(ReplyKind.THANK, review_id="gp:AOqpTOF1") == first
    used = Counter(draft(ReplyKind.THANK, review_id=f"gp:AOqpTOF{n}").phrasing for n in range(200))
    phrasings = available_phrasings((SHIPPED_REVIEW_TEMPLATES,), Language.DE, ReplyKind.THANK)
    assert set(used) == set(phrasings)
    assert max(used.values()) < 200 / len(phrasings) * 1.6  # roughly even


def test_a_page_of_twenty_does_not_repeat_a_phrasing_in_a_row_when_told_the_recent_ones():
    for page in range(20):
        recent: list[str] = []
        chosen = []
        for n in range(20):
            ids = f"00000029-{page:04d}-{n:04d}"
            reply = draft_reply(
                DECISIONS[ReviewAction.THANK],
                facts(review_id=ids),
                context(recent_phrasings=tuple(recent[-2:])),
            )
            assert isinstance(reply, Draft)
            chosen.append(reply.phrasing)
            recent.append(reply.phrasing)
        assert max(len(list(run)) for _, run in groupby(chosen)) == 1


def test_without_recent_phrasings_long_runs_are_rare():
    """By the review id alone (no memory of the page), runs of more than 3 are rare on a page of 20."""
    long_runs = 0
    for page in range(200):
        chosen = [draft(ReplyKind.PASSED_ON, review_id=f"{page}-{n}").phrasing for n in range(20)]
        long_runs += max(len(list(run)) for _, run in groupby(chosen)) > 3
    assert long_runs < 200 * 0.1


def test_a_person_decision_is_refused_with_its_reason():
    reply = draft_reply(DECISIONS[ReviewAction.PERSON], facts(), context())
    assert isinstance(reply, Refusal)
    assert reply.reason == "a person decides: insults people"


def test_a_language_we_do_not_write_is_refused():
    reply = draft_reply(DECISIONS[ReviewAction.THANK], facts(None), context())
    assert isinstance(reply, Refusal) and "language" in reply.reason


def test_passed_on_names_the_ticket_and_fixed_names_the_version():
    assert "MB-48213377" in draft(ReplyKind.PASSED_ON).text
    assert (
        "2.3.1"
        in draft_reply(
            DECISIONS[ReviewAction.TICKET],
            facts(Language.EN),
            context(Language.EN, solved=True, fixed_version="2.3.1"),
        ).text
    )  # type: ignore[union-attr]


def test_a_strange_version_or_reference_is_left_out_not_shown():
    reply = draft_reply(
        DECISIONS[ReviewAction.TICKET],
        facts(),
        context(solved=True, fixed_version="2.3.1 <script>", ticket_reference="{{ 7*7 }}"),
    )
    assert isinstance(reply, Draft)
    assert "script" not in reply.text and "2.3.1" not in reply.text and "49" not in reply.text


def test_an_answer_is_the_articles_first_whole_sentences_and_the_support_link():
    reply = draft(ReplyKind.ANSWER)
    assert LINK in reply.text
    assert len(reply.text) <= TARGET
    assert "„Passwort vergessen?“" in reply.text  # bold as quotation marks, no Markdown
    body = reply.text.split("\n")[0]
    answer_part = body.split(LINK)[0]
    assert re.search(r"[.!?“]\s*\S+( \S+)*:?\s*$", answer_part)  # ends after a whole sentence


def test_an_answer_prefers_the_articles_review_answer(tmp_path: Path):
    article = dataclasses.replace(
        KB.article("password-reset", Language.EN),  # type: ignore[arg-type]
        review_answer="Tap “Forgot password?” on the login screen and follow the link in the e-mail.",
    )
    reply = draft_reply(
        DECISIONS[ReviewAction.ANSWER], facts(Language.EN), context(Language.EN, article=article)
    )
    assert isinstance(reply, Draft)
    assert article.review_answer in reply.text


def long_article(language: Language, first_sentence_words: int) -> Article:
    sentence = " ".join(["Einstellungen"] * first_sentence_words) + "."
    return dataclasses.replace(
        KB.article("password-reset", language),  # type: ignore[arg-type]
        body=f"{sentence} Danach tippen Sie auf Speichern.",
    )


def test_an_answer_whose_first_sentence_does_not_fit_google_is_refused_with_the_fix():
    article = long_article(Language.DE, 30)  # about 420 characters
    reply = draft_reply(DECISIONS[ReviewAction.ANSWER], facts(), context(article=article))
    assert isinstance(reply, Refusal)
    assert "review_answer" in reply.reason


def test_apple_takes_a_longer_answer_when_no_short_one_fits():
    article = long_article(Language.DE, 25)  # about 350 characters: over the target, under Apple's 600
    reply = draft_reply(DECISIONS[ReviewAction.ANSWER], facts(store=Store.APPLE), context(article=article))
    assert isinstance(reply, Draft)
    assert TARGET < len(reply.text) <= 600
    assert not reply.text.split("\n")[0].endswith("Einstell")  # never cut inside a word


def test_an_article_in_another_language_is_refused():
    reply = draft_reply(
        DECISIONS[ReviewAction.ANSWER],
        facts(Language.DE),
        context(article=KB.article("password-reset", Language.EN)),
    )
    assert isinstance(reply, Refusal) and "no de version" in reply.reason


def test_a_phrasing_that_would_quote_the_review_is_skipped_for_another():
    first = draft(ReplyKind.THANK, review_id="x-7")
    sentence = first.text.split("\n")[0]
    quoting = draft(ReplyKind.THANK, review_id="x-7", body=f"Ich schreibe: {sentence}")
    assert quoting.phrasing != first.phrasing
    assert check_reply(quoting.text, f"Titel\nIch schreibe: {sentence}", Store.GOOGLE, (LINK,)) == ()


def test_when_nothing_fits_the_refusal_says_why_for_each_phrasing():
    reply = draft_reply(
        DECISIONS[ReviewAction.THANK], facts(), context(sign_off={Language.DE: "Ihr Team " * 40})
    )
    assert isinstance(reply, Refusal)
    assert reply.kind is ReplyKind.THANK
    for phrasing in available_phrasings((SHIPPED_REVIEW_TEMPLATES,), Language.DE, ReplyKind.THANK):
        assert f"{phrasing}: " in reply.reason
    assert "characters, more than 350" in reply.reason


def test_a_client_folder_adds_and_replaces_phrasings(tmp_path: Path):
    folder = tmp_path / "reviews" / "de" / "thank"
    folder.mkdir(parents=True)
    (folder / "1.j2").write_text("Danke sehr, sagt {{ app_name }}.", encoding="utf-8")
    (folder / "kurz.j2").write_text("Danke!", encoding="utf-8")
    phrasings = [f"de/thank/{n}" for n in ("1", "2", "3", "4", "5", "6", "kurz")]
    for phrasing in ("de/thank/1", "de/thank/kurz"):
        others = tuple(p for p in phrasings if p != phrasing)
        reply = draft_reply(
            DECISIONS[ReviewAction.THANK],
            facts(),
            context(template_dirs=(tmp_path,), recent_phrasings=others),
        )
        assert isinstance(reply, Draft) and reply.phrasing == phrasing
    assert reply.text == "Danke!\nIhr Aktivo-Team"


def test_a_broken_or_unsafe_client_template_is_skipped_never_raised(tmp_path: Path):
    folder = tmp_path / "reviews" / "en" / "thank"
    folder.mkdir(parents=True)
    for name in ("1", "2", "3", "4", "5", "6"):
        (folder / f"{name}.j2").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}", encoding="utf-8")
    (folder / "7.j2").write_text("{{ undefined_name }}", encoding="utf-8")
    (folder / "8.j2").write_text("{% if %}", encoding="utf-8")
    (folder / "9.j2").write_text("{{ 1 / 0 }}", encoding="utf-8")
    reply = draft_reply(
        DECISIONS[ReviewAction.THANK], facts(Language.EN), context(Language.EN, template_dirs=(tmp_path,))
    )
    assert isinstance(reply, Refusal)
    assert "SecurityError" in reply.reason and "UndefinedError" in reply.reason
    assert "TemplateSyntaxError" in reply.reason and "ZeroDivisionError" in reply.reason


def test_template_syntax_in_the_article_is_shown_data_and_blocked_by_the_checker():
    article = dataclasses.replace(
        KB.article("password-reset", Language.DE),  # type: ignore[arg-type]
        body="Tippen Sie auf {{ 7*7 }} und dann auf Weiter.",
    )
    reply = draft_reply(DECISIONS[ReviewAction.ANSWER], facts(), context(article=article))
    assert isinstance(reply, Refusal)
    assert "49" not in reply.reason and "markup" in reply.reason
