"""Issue 10: the text/plain part shows knowledge-base Markdown as clean text, with the HTML's words."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mailbot.domain import Language
from mailbot.kb import load_knowledge_base
from mailbot.reply.markdown import markdown_to_html, markdown_to_text
from mailbot.reply.render import TemplateRenderer
from tests.unit.test_reply_render import TEMPLATES, customer_context

KB = Path(__file__).resolve().parents[2] / "knowledge_base"


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        ("Tippen Sie auf **Parken beenden**.", "Tippen Sie auf Parken beenden."),
        ("*kursiv*, __fett__ und ~~alt~~", "kursiv, fett und alt"),
        ("# Parken beenden\n\nSo geht es:", "Parken beenden\n\nSo geht es:"),
        ("## Zwei\n### Drei", "Zwei\n\nDrei"),
        (
            "Siehe [Hilfe](https://help.example.com/p?a=1&b=2).",
            "Siehe Hilfe <https://help.example.com/p?a=1&b=2>.",
        ),
        ("<https://example.com/x>", "https://example.com/x"),
        ("[support@x.de](mailto:support@x.de)", "support@x.de"),
        ("[](https://example.com)", "<https://example.com>"),
        ("![Screenshot](https://example.com/s.png)", "Screenshot <https://example.com/s.png>"),
        ("- eins\n- zwei\n* drei", "- eins\n- zwei\n\n- drei"),  # a new marker starts a new list
        ("1. eins\n2. zwei\n3. drei", "1. eins\n2. zwei\n3. drei"),
        ("3. drei\n4. vier", "3. drei\n4. vier"),
        ("1. eins\n   - a\n   - b\n2. zwei", "1. eins\n   - a\n   - b\n2. zwei"),
        ("- eins\n\n  zweiter Absatz\n- zwei", "- eins\n\n  zweiter Absatz\n\n- zwei"),
        ("Klicken Sie auf `Code **senden**`.", "Klicken Sie auf Code **senden**."),
        ("```\nparken --stop **x**\n  weiter\n```", "    parken --stop **x**\n      weiter"),
        ("> Zitat mit **fett**\n>\n> zweiter Absatz", "> Zitat mit fett\n>\n> zweiter Absatz"),
        ("eins\nzwei  \ndrei", "eins zwei\ndrei"),  # soft break: a space, as in HTML; hard break kept
        ("oben\n\n---\n\nunten", "oben\n\n----\n\nunten"),
        ("\\*kein Stern\\* &amp; <b>roh</b>", "*kein Stern* & <b>roh</b>"),  # raw HTML is text in both parts
        ("[klick](javascript:alert(1))", "[klick](javascript:alert(1))"),  # no link in HTML either
        ("", ""),
    ],
)
def test_markdown_to_text(markdown, text):
    assert markdown_to_text(markdown) == text


def test_tables_become_aligned_columns():
    table = "| Tarif | Preis |\n|---|--:|\n| Basic | 4,99 € |\n| **Premium** Plus | 12,99 € |\n"
    assert markdown_to_text(table) == (
        "Tarif           Preis\n------------  -------\nBasic          4,99 €\nPremium Plus  12,99 €"
    )


def test_wide_tables_become_one_line_per_cell():
    head = "| Zone in der Innenstadt | Höchstparkdauer an Werktagen | Gebühr je angefangene Stunde |"
    table = f"{head}\n|---|---|---|\n| A | 2 Stunden | 3,00 € |\n| B | 4 Stunden | 2,00 € |\n"
    row_a = "\n".join(
        [
            "Zone in der Innenstadt: A",
            "Höchstparkdauer an Werktagen: 2 Stunden",
            "Gebühr je angefangene Stunde: 3,00 €",
        ]
    )
    row_b = row_a.replace(": A", ": B").replace("2 Stunden", "4 Stunden").replace("3,00", "2,00")
    assert markdown_to_text(table) == f"{row_a}\n\n{row_b}"


class _Words(HTMLParser):
    """The words a reader sees in the HTML part, and those of table headers on their own."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.header_parts: list[str] = []
        self.in_header = False

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.in_header = self.in_header or tag == "th"

    def handle_endtag(self, tag: str) -> None:
        self.in_header = self.in_header and tag != "th"

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        if self.in_header:
            self.header_parts.append(data)


_MARKUP_OF_TEXT = re.compile(r"^(?:-|\d+\.|>|----|<\S+>)$")  # list markers, quotes, rules, link targets


def assert_same_words(text: str, html: str) -> None:
    """The text part shows the HTML part's words in the same order; it only adds list markers and
    link targets, and writes table headers as a row or, when too wide, before each value."""
    parser = _Words()
    parser.feed(html)
    headers = set(" ".join(parser.header_parts).split())
    html_words = [word for word in "".join(parser.parts).split() if word not in headers]
    text_words = [
        word for word in text.split() if not _MARKUP_OF_TEXT.match(word) and word.rstrip(":") not in headers
    ]
    assert text_words == html_words


ARTICLES = load_knowledge_base(KB).articles


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: f"{a.id}.{a.language.value}")
def test_every_shipped_article_shows_the_same_words_in_both_parts(article):
    text = markdown_to_text(article.body)
    assert_same_words(text, markdown_to_html(article.body))
    assert "**" not in text and "](" not in text


@pytest.fixture(scope="module")
def renderer() -> TemplateRenderer:
    return TemplateRenderer(TEMPLATES)


@pytest.mark.parametrize("language", list(Language))
def test_answer_text_part_has_no_markdown_syntax(renderer, language):
    for article in ARTICLES:
        if article.language is not language:
            continue
        ctx = customer_context(article_markdown=article.body, article_title=article.title)
        out = renderer.render("answer", language, ctx)
        assert markdown_to_text(article.body) in out.text
        for syntax in ("**", "](", "\n# ", "\n* ", "`"):
            assert syntax not in out.text, (article.id, syntax)


def test_an_article_rendered_again_is_not_parsed_again():
    from mailbot.reply.markdown import markdown_to_html, markdown_to_text

    article = "Öffnen Sie **Einstellungen** > *Konto*.\n\n| Tarif | Preis |\n|---|---|\n| Basis | 5 € |"
    html, text = markdown_to_html(article), markdown_to_text(article)
    html_hits, text_hits = markdown_to_html.cache_info().hits, markdown_to_text.cache_info().hits
    assert (markdown_to_html(article), markdown_to_text(article)) == (html, text)
    assert markdown_to_html.cache_info().hits == html_hits + 1
    assert markdown_to_text.cache_info().hits == text_hits + 1
