"""The opening of a knowledge-base answer as plain sentences, for a store reply of a few hundred characters.

An article is Markdown written for a mail: steps in a list, buttons in bold, links. A store shows every
character as typed, so the excerpt keeps only words: a list item becomes a sentence, bold becomes
quotation marks ("tap „Passwort vergessen?“"), a link keeps its label and loses its address (the reply
adds the client's own support link instead), images, code blocks, tables and HTML are left out.

`fit` takes whole sentences from the start while they fit the characters left; it never cuts inside a
sentence, so a reply never ends mid-word. When not even the first sentence fits, the result is "" and the
composer refuses (with the fix: a short `review_answer` in the article).
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from mailbot.domain import Language

_PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])
_QUOTES = {Language.DE: ("„", "“"), Language.EN: ("“", "”")}
_END = re.compile(r"[.!?…:;]$")
_BOUNDARY = re.compile(r"(?<=[.!?…])([“”\"»«)]?)\s+(?=[A-ZÄÖÜ0-9„“\"(])")
# words before a period that do not end a sentence
_ABBREVIATIONS_TEXT = (
    "z.b bzw ca etc usw ggf evtl vgl inkl nr u.a d.h z.t e.g i.e vs approx no incl dr mr mrs st"
)
_ABBREVIATIONS = frozenset(_ABBREVIATIONS_TEXT.split())
_SPACE = re.compile(r"\s+")


def sentences(markdown: str, language: Language) -> tuple[str, ...]:
    """The answer's sentences in order, as plain text.

    An opening paragraph that only leads in to what follows ("So setzen Sie Ihr Passwort zurück:") is left
    out: the reply's own phrasing introduces the answer ("Das geht so: …"), and two lead-ins in a row read
    like a bot (seen in `mailbot demo`: "Das geht so: So setzen Sie Ihr Passwort zurück: Öffnen Sie …")."""
    blocks: list[str] = []
    _collect(SyntaxTreeNode(_PARSER.parse(markdown)).children, language, blocks)
    blocks = [block for block in blocks if block.strip()]
    if len(blocks) > 1 and blocks[0].rstrip().endswith(":"):
        blocks = blocks[1:]
    text = ""
    for block in blocks:
        block = _SPACE.sub(" ", block).strip()
        if not block:
            continue
        if not _END.search(block):
            block += "."
        text = f"{text} {block}" if text else block
    return tuple(part.strip() for part in _split(text) if part.strip())


def fit(parts: tuple[str, ...], budget: int) -> str:
    """The leading sentences that fit `budget` characters together (joined by spaces); "" if none does."""
    taken = ""
    for part in parts:
        candidate = f"{taken} {part}" if taken else part
        if len(candidate) > budget:
            break
        taken = candidate
    return taken


def _split(text: str) -> list[str]:
    parts: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.start() + len(match.group(1))
        last_word = text[start:end].rstrip('.!?…”“"»«)').rsplit(" ", 1)[-1].lower()
        if last_word in _ABBREVIATIONS or len(last_word) == 1:
            continue  # "z. B. Einstellungen", "bzw. „Mit Google“": not a sentence end
        parts.append(text[start:end])
        start = match.end()
    parts.append(text[start:])
    return parts


def _collect(nodes: list[SyntaxTreeNode], language: Language, out: list[str]) -> None:
    for node in nodes:
        if node.type in ("paragraph", "heading"):
            out.append("".join(_inline(child, language) for child in node.children))
        elif node.type in ("bullet_list", "ordered_list", "list_item", "blockquote"):
            _collect(node.children, language, out)
        # code blocks, tables, rules and HTML say nothing a store reply can show


def _inline(node: SyntaxTreeNode, language: Language) -> str:
    kind = node.type
    if kind in ("text", "code_inline", "text_special"):
        return node.content
    if kind in ("softbreak", "hardbreak"):
        return " "
    if kind in ("image", "html_inline"):
        return ""
    inner = "".join(_inline(child, language) for child in node.children)
    if kind == "strong":
        opening, closing = _QUOTES[language]
        return f"{opening}{inner}{closing}"
    return inner  # links keep their label, emphasis its words
