"""The language of a review comes from its text: German, English, another language, or too short to tell."""

import pytest

from mailbot.domain import Language
from mailbot.reviews.language import review_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Super App, bin total zufrieden!", Language.DE),
        ("Seit dem letzten Update kann ich mich nicht mehr anmelden, bitte beheben", Language.DE),
        ("Kann mich nicht einloggen", Language.DE),
        ("Great app, love it", Language.EN),
        ("Love the new design but sync is broken", Language.EN),
        ("crashes all the time", Language.EN),
    ],
)
def test_german_and_english_reviews_are_read_as_such(text, language):
    found = review_language("", text, default=Language.DE)
    assert (found.language, found.certain) == (language, True)


@pytest.mark.parametrize(
    ("text", "seen"),
    [
        ("Application géniale, merci beaucoup", "French"),
        ("La app se cierra siempre", "Spanish"),
        ("Funciona muy bien, me encanta", "Spanish"),
        ("Non funziona più dopo l'aggiornamento", "Italian"),
        ("Werkt niet meer sinds de update", "Dutch"),
        ("Приложение не работает", "Russian"),
        ("アプリが起動しません", "Japanese"),
        ("Très bien", "French"),
    ],
)
def test_a_review_in_another_language_is_not_taken_for_german_or_english(text, seen):
    found = review_language("", text, default=Language.DE)
    assert (found.language, found.seen) == (None, seen)


@pytest.mark.parametrize("text", ["Top!", "👍", "", "Sehr gut", "Super!"])
def test_a_review_too_short_to_tell_gets_the_clients_language_marked_uncertain(text):
    found = review_language("", text, default=Language.DE)
    assert (found.language, found.certain) == (Language.DE, False)


def test_the_title_counts_with_the_body():
    found = review_language("Stürzt ständig ab", "seit Version 2.3", default=Language.EN)
    assert (found.language, found.certain) == (Language.DE, True)
