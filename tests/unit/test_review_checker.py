"""check_reply(): what a public store reply must never contain, with German/English positives and the
near misses that must pass (issue 16)."""

from __future__ import annotations

import pytest

from mailbot.reviews.checker import CHECKS, LIMITS, check_reply
from mailbot.stores.model import Store

LINK = "https://aktivo.example/hilfe"
REVIEW = "Stürzt ständig ab. Bestellnummer GPA.3345-1234-5678-90123, schreibt mir an jenny@mail.example"


def problems(
    text: str, review: str = REVIEW, store: Store = Store.GOOGLE, author: str = "Jenny92"
) -> set[str]:
    return {problem.check for problem in check_reply(text, review, store, (LINK,), author=author)}


CLEAN = [
    "Vielen Dank für Ihre Bewertung! Schön, dass Ihnen Aktivo gefällt.\nIhr Aktivo-Team",
    "Thank you for your review! We're glad you enjoy Aktivo.\nYour Aktivo team",
    f"Das tut uns leid. Wir haben das Problem weitergegeben (Vorgang MB-48213377). Mehr: {LINK}",
    f"Good news: fixed in version 2.3.1 from 05.12.2026. Details: {LINK}/faq/sync",
    "Feel free to get in touch, the free version keeps all your data.",  # 'free' is no incentive
    "Die App ist kostenlos nutzbar; Premium schaltet Trainingspläne frei.",
    "Thanks for the positive review, we're happy to help.",
    "Danke für die positive Bewertung!",
]


@pytest.mark.parametrize("text", CLEAN)
def test_clean_replies_pass(text: str):
    assert problems(text) == set()


@pytest.mark.parametrize(
    ("text", "check"),
    [
        # personal data from the review
        ("Danke, Jenny92! Wir kümmern uns.", "reviewer_name"),
        ("Thanks jenny92, we are on it.", "reviewer_name"),
        ("Zu Ihrer Bestellung GPA.3345-1234-5678-90123: wir prüfen das.", "review_number"),
        ("Sie schreiben: stürzt ständig ab, Bestellnummer folgt.", "copied_text"),
        # any address or phone number
        ("Schreiben Sie an support@aktivo.example.", "email"),
        ("Bitte schreiben Sie an jenny@mail.example", "email"),
        ("Rufen Sie uns an: +49 30 1234567", "phone"),
        ("Call us on 0800 123 4567.", "phone"),
        ("Hotline: 030/12345678", "phone"),
        # links and domains not on the allow-list
        ("Details unter https://evil.example/x", "link"),
        ("Besuchen Sie www.aktivo-deals.com", "link"),
        ("See aktivo.app for more.", "link"),
        ("Siehe https://aktivo.example/shop (Angebote)", "link"),  # same host, not under the allowed path
        # asking for a (better) rating
        ("Über 5 Sterne würden wir uns freuen!", "rating_request"),
        ("Bewerten Sie uns doch neu, wenn es wieder klappt.", "rating_request"),
        ("Vielleicht mögen Sie Ihre Bewertung dann anpassen?", "rating_request"),
        ("Bitte bewerten Sie uns!", "rating_request"),
        ("Please update your rating once it works again.", "rating_request"),
        ("We'd love five stars!", "rating_request"),
        ("Would you reconsider your review?", "rating_request"),
        # incentives
        ("Als Entschuldigung schenken wir Ihnen einen Gutschein.", "incentive"),
        ("Sie erhalten 20 % Rabatt auf Premium.", "incentive"),
        ("Wir schenken Ihnen zwei Monate gratis.", "incentive"),
        ("Here is a discount code for you.", "incentive"),
        ("Enjoy 3 free months of premium on us.", "incentive"),
        ("We'll send you a voucher.", "incentive"),
        # markup
        ("Danke! <b>Ihr Team</b>", "markup"),
        ("Thanks &amp; cheers", "markup"),
        ("Tippen Sie auf **Passwort vergessen**.", "markup"),
        ("See [our help](https://aktivo.example/hilfe).", "markup"),
        ("Hallo {{ name }}", "markup"),
    ],
)
def test_each_problem_is_found(text: str, check: str):
    assert check in problems(text)


def test_every_problem_has_a_one_line_reason():
    found = check_reply(
        "<b>Danke Jenny92</b>: 5 Sterne gegen einen Gutschein, ruf an: +49 30 1234567, a@b.example, https://x.example",
        REVIEW,
        Store.GOOGLE,
        (LINK,),
        author="Jenny92",
    )
    assert {problem.check for problem in found} >= {
        "reviewer_name", "email", "phone", "link", "rating_request", "incentive", "markup",
    }  # fmt: skip
    for problem in found:
        assert problem.reason and "\n" not in problem.reason


def test_length_per_store():
    text = "a " * 200  # 400 characters
    assert "length" in problems(text.strip(), store=Store.GOOGLE)
    assert "length" not in problems(text.strip(), store=Store.APPLE)
    assert "length" in problems("a " * 301, store=Store.APPLE)
    assert LIMITS[Store.GOOGLE] == 350
    exactly = "x" * 350
    assert "length" not in problems(exactly, store=Store.GOOGLE)
    assert "length" in problems(exactly + "y", store=Store.GOOGLE)
    assert "length" in problems("   ")


def test_four_common_words_in_a_row_are_no_quote():
    review = "Ich bin mit der App sehr zufrieden und es ist so wie es sein soll"
    assert problems("Wir freuen uns, dass es so ist wie es sein soll.", review) == {"copied_text"}
    assert problems("Schön, dass es ist so wie immer.", "es ist so wie früher") == set()


def test_a_short_nickname_or_none_is_not_searched():
    assert problems("Hi, thanks!", author="Hi") == set()
    assert problems("Danke!", author="") == set()


def test_the_allow_list_accepts_links_below_an_allowed_one():
    text = f"Mehr: {LINK}/sync. Oder {LINK}."
    assert problems(text) == set()
    assert problems("Mehr: http://www.aktivo.example/hilfe/faq") == set()


def test_the_table_names_every_check_once():
    names = [name for name, _ in CHECKS]
    assert len(names) == len(set(names))
