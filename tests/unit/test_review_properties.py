"""Property: whatever a reviewer writes, the review brain never raises, never renders the review as a
template, and ends with a reply that passes the checker or a refusal that says why (issue 16)."""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mailbot.domain import Language, Prediction
from mailbot.kb import load_knowledge_base
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE
from mailbot.reviews.checker import check_reply
from mailbot.reviews.compose import (
    SHIPPED_REVIEW_TEMPLATES,
    Draft,
    Refusal,
    ReplyContext,
    available_phrasings,
    draft_reply,
)
from mailbot.reviews.decide import ReviewFacts, decide_review
from mailbot.reviews.detect import detect
from mailbot.stores.model import Store

LINK = "https://aktivo.example/hilfe"
KB = load_knowledge_base(SHIPPED_KNOWLEDGE_BASE)
HOSTILE = [
    "{{ 7*7 }}",
    "{% raw %}",
    "{% endraw %}{{ config }}",
    "{{ ''.__class__.__mro__ }}",
    "{# comment",
    "<script>alert(1)</script>",
    "<b>Top</b> &amp; &#x41;",
    "\u202eevil\u202c \u2067rtl\u2069 \u200f\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",
    "Vielen Dank für Ihre Bewertung! Schön, dass Ihnen Aktivo gefällt.",
    "Thank you for your review! We're glad you enjoy Aktivo.",
    "stürzt ständig ab, wie kann ich mein Passwort zurücksetzen?",
    "Jenny92 jenny@mail.example +49 30 1234567 GPA.3345-1234-5678-90123",
    "Wie kann ich mein Passwort zurücksetzen? {{ 7*7 }}",
    "How do I reset my password? <b>{% raw %}</b>",
    "👍",
    "",
]
texts = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=300),
    st.lists(st.sampled_from([*HOSTILE, "Super", "App", "crash", "Abo", "?", "\n"]), max_size=30).map(
        " ".join
    ),
    st.builds(
        lambda word, n: word * n, st.sampled_from(["a", "stürzt ", "{{", "? "]), st.integers(1, 20_000)
    ),
)


def context(language: Language, solved: bool) -> ReplyContext:
    return ReplyContext(
        app_name="Aktivo",
        sign_off={Language.DE: "Ihr Aktivo-Team", Language.EN: "Your Aktivo team"},
        support_link=LINK,
        allowed_links=(LINK,),
        article=KB.article("password-reset", language),
        ticket_reference="MB-48213377",
        solved=solved,
        fixed_version="2.3.1",
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=texts,
    body=texts,
    rating=st.integers(1, 5),
    store=st.sampled_from(list(Store)),
    language=st.sampled_from([Language.DE, Language.EN, None]),
    confidence=st.floats(0.0, 1.0),
    solved=st.booleans(),
    review_id=st.text(max_size=40),
)
def test_any_review_ends_in_a_checked_reply_or_a_reasoned_refusal(
    title: str,
    body: str,
    rating: int,
    store: Store,
    language: Language | None,
    confidence: float,
    solved: bool,
    review_id: str,
):
    facts = ReviewFacts(
        store=store,
        rating=rating,
        title=title,
        body=body,
        language=language,
        prediction=Prediction("password-reset", confidence, 0.6),
        hits=detect(title, body),
        review_id=review_id,
        author="Jenny92",
    )
    decision = decide_review(facts)
    assert decision.reason
    ctx = context(language or Language.DE, solved)
    reply = draft_reply(decision, facts, ctx)
    event(f"{decision.action} -> {type(reply).__name__}")
    if isinstance(reply, Refusal):
        assert reply.reason.strip()
        return
    assert isinstance(reply, Draft)
    review_text = "\n".join(part for part in (title, body) if part)
    assert check_reply(reply.text, review_text, store, (LINK,), author="Jenny92") == ()
    # the text is the phrasing's own, whatever the review said: the same phrasing drafted for a neutral
    # review gives the same words (so nothing of the review was rendered or evaluated)
    assert language is not None
    others = tuple(
        p
        for p in available_phrasings((SHIPPED_REVIEW_TEMPLATES,), language, reply.kind)
        if p != reply.phrasing
    )
    neutral = dataclasses.replace(facts, title="", body="ok")
    again = draft_reply(decision, neutral, dataclasses.replace(ctx, recent_phrasings=others))
    assert isinstance(again, Draft) and again.phrasing == reply.phrasing
    assert again.text == reply.text
