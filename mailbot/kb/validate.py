"""Check the front matter of one article and turn it into an `Article`; warn about its answer.

Every problem names the line of the key or value at fault, so a support agent editing the file
finds it at once; all problems of a file are reported together, not just the first.
`body_warnings` reads the answer as the mail renderer will (markdown-it) and warns, with line and
fix, about what reaches a customer other than the editor meant: raw HTML and template syntax are
shown as literal text (an answer is Markdown and data, never markup or template code), and a remote
image is blocked by most mail clients and tells whoever serves it that the mail was opened.
Warnings never stop a knowledge base from loading.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from mailbot.domain import Language
from mailbot.kb.frontmatter import Source, node_line
from mailbot.kb.model import ACTIONS, Article, Problem

REQUIRED_KEYS = ("id", "title", "language", "examples")
# in the order of the README; severity is reserved for the severity guess and not read yet; sources
# names the tickets an article was drafted from (`mailbot kb gaps`), for the editors only
ALLOWED_KEYS = (
    "id", "title", "language", "tags", "examples", "action", "severity", "sources", "review_answer",
)  # fmt: skip
# `review_answer` is the answer in a public store reply: Google allows 350 characters in all, and the
# greeting, the support link and the sign-off need about 100 of them
REVIEW_ANSWER_MAX = 250
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
# `_out_of_scope.md`: examples of what is never answered automatically (a class of its own, no answer)
OUT_OF_SCOPE_ID = "_out_of_scope"
_NULL_TAG = "tag:yaml.org,2002:null"
# html enabled here only to find it: the renderer's parser shows it as text
_FINDER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
# a line of a draft's answer skeleton (`mailbot kb gaps`): refused until the answer is written
DRAFT_MARKER = "[[draft]]"
_TEMPLATE_SYNTAX = re.compile(r"\{\{|\{%|\{#")
_MARKUP = re.compile(r"\{\{|\{%|\{#|<[a-zA-Z/!]|\*\*|\]\(|&#?\w+;")
_REMOTE = re.compile(r"(?:https?:)?//", re.IGNORECASE)
_HTML_FIX = (
    "write it in Markdown (**bold**, [text](https://...), lists, tables): HTML is shown to the customer"
    " as text"
)
_TEMPLATE_FIX = (
    "write the words the customer should read: an answer is sent as written, '{{ ... }}' is not filled in"
    " (or put it in `code` if it is meant literally)"
)
_IMAGE_FIX = (
    "describe it in words or link to it as [text](https://...): mail clients block remote images, and loading"
    " one tells the image's server that the customer opened the mail"
)


@dataclass(frozen=True)
class Located:
    """An article plus the lines that cross-file checks need to point at."""

    article: Article
    id_line: int
    example_lines: tuple[int, ...]


def check_article(source: Source) -> Located | list[Problem]:
    """The article of a parsed file, or every problem found in it."""
    fields = _Fields(source)
    article_id = fields.article_id()
    title = fields.text("title")
    language = fields.choice("language", tuple(Language), default="")
    examples = fields.texts("examples", required=True)
    tags = fields.texts("tags", required=False)
    fields.texts("sources", required=False)
    action = fields.choice("action", ACTIONS, default="answer")
    review_answer = fields.review_answer()
    if source.path.name == f"{OUT_OF_SCOPE_ID}.md":
        action = "escalate"  # never answered; its body, if any, is a note for the editors
    if action == "answer" and not source.body:
        fields.report(
            source.closing_line,
            "the answer below the front matter is empty",
            "write the answer in Markdown after the closing '---' line, or set 'action: escalate'",
        )
    _refuse_draft(source, fields)
    if fields.problems:  # every unusable value has reported one, so below all values are valid
        return fields.problems
    article = Article(
        id=article_id,
        title=title,
        language=Language(language),
        tags=tuple(text for text, _ in tags),
        examples=tuple(text for text, _ in examples),
        body=source.body,
        action=action,
        path=source.path,
        review_answer=review_answer,
    )
    return Located(article, fields.line_of("id"), tuple(line for _, line in examples))


def _refuse_draft(source: Source, fields: _Fields) -> None:
    """A draft of `mailbot kb gaps` whose answer is still the skeleton must not reach a customer."""
    marked = [index for index, line in enumerate(source.body.split("\n")) if DRAFT_MARKER in line]
    if marked:
        more = f" and {len(marked) - 1} more line(s)" if len(marked) > 1 else ""
        fields.report(
            source.body_line + marked[0],
            f"the answer is still a draft: '{DRAFT_MARKER}' on this line{more}",
            f"write the answer for the customer in place of the lines marked '{DRAFT_MARKER}', then delete"
            " those lines",
        )


def body_warnings(source: Source) -> list[Problem]:
    """Raw HTML, template syntax and remote images in the answer, one warning per line and kind."""
    if source.path.name == f"{OUT_OF_SCOPE_ID}.md":
        return []  # its body is a note for the editors, never sent
    lines = source.body.split("\n")
    found: dict[tuple[int, str], Problem] = {}

    def warn(token: Token, snippet: str, message: str, fix: str) -> None:
        start, end = token.map or (0, 1)
        offset = next((i for i in range(start, min(end, len(lines))) if snippet in lines[i]), start)
        line = source.body_line + offset
        found.setdefault((line, fix), Problem(source.path, line, message, fix))

    for block in _FINDER.parse(source.body):
        if block.type == "html_block":
            tag = block.content.strip().split("\n", 1)[0][:60]
            warn(block, tag, f"raw HTML '{tag}' in the answer", _HTML_FIX)
        for child in block.children or ():
            if child.type == "html_inline":
                warn(block, child.content, f"raw HTML '{child.content[:60]}' in the answer", _HTML_FIX)
            elif child.type == "image" and _REMOTE.match(str(child.attrGet("src") or "")):
                src = str(child.attrGet("src"))
                warn(block, src, f"remote image {src[:80]} in the answer", _IMAGE_FIX)
            elif child.type == "text" and (syntax := _TEMPLATE_SYNTAX.search(child.content)):
                shown = child.content[syntax.start() : syntax.start() + 40]
                warn(block, syntax.group(), f"template syntax '{shown}' in the answer", _TEMPLATE_FIX)
    return sorted(found.values(), key=lambda problem: problem.line)


def _scalar_text(node: yaml.Node) -> str | None:
    """Text of a scalar node ('' for an empty/null value), None for a list or mapping.

    Raw scalar text on purpose: YAML would turn an example like 'no' or '2024' into a bool or int.
    """
    if not isinstance(node, yaml.ScalarNode):
        return None
    return "" if node.tag == _NULL_TAG else str(node.value).strip()


class _Fields:
    """The keys of one front-matter mapping, read with problems collected instead of raised."""

    def __init__(self, source: Source) -> None:
        self.path = source.path
        self.problems: list[Problem] = []
        self.keys: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in source.mapping.value:
            self._add_key(key_node, value_node)
        for key in REQUIRED_KEYS:
            if key not in self.keys:
                fix = f"add a line '{key}: ...' to the front matter"
                self.report(1, f"required key '{key}' is missing", fix)

    def report(self, where: int | yaml.Node, message: str, fix: str) -> None:
        line = where if isinstance(where, int) else node_line(where)
        self.problems.append(Problem(self.path, line, message, fix))

    def line_of(self, key: str) -> int:
        return node_line(self.keys[key][0])

    def _add_key(self, key_node: yaml.Node, value_node: yaml.Node) -> None:
        key = _scalar_text(key_node)
        allowed = ", ".join(ALLOWED_KEYS)
        if key is None or key not in ALLOWED_KEYS:
            close = difflib.get_close_matches(key or "", ALLOWED_KEYS, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            shown = f"'{key}'" if key is not None else "(a list or mapping)"
            self.report(key_node, f"unknown key {shown}", f"{hint}allowed keys are: {allowed}")
        elif key in self.keys:
            first = self.line_of(key)
            self.report(key_node, f"key '{key}' appears twice (first on line {first})", "keep one of them")
        else:
            self.keys[key] = (key_node, value_node)

    def text(self, key: str) -> str:
        """A required one-line text value; "" when absent or unusable (a problem is reported)."""
        if key not in self.keys:
            return ""
        value = self.keys[key][1]
        text = _scalar_text(value)
        if not text:
            self.report(value, f"{key} must be a non-empty text", f"write '{key}: some text'")
            return ""
        return text

    def review_answer(self) -> str:
        """The optional store-reply answer: one plain text of at most `REVIEW_ANSWER_MAX` characters."""
        if "review_answer" not in self.keys:
            return ""
        value = self.keys["review_answer"][1]
        text = _scalar_text(value)
        if not text:
            self.report(
                value, "review_answer must be a non-empty text", "write 'review_answer: one or two sentences'"
            )
            return ""
        text = " ".join(text.split())
        if len(text) > REVIEW_ANSWER_MAX:
            self.report(
                value,
                f"review_answer is {len(text)} characters, more than {REVIEW_ANSWER_MAX}",
                f"shorten it to at most {REVIEW_ANSWER_MAX} characters: a store reply has 350 in all, with"
                " greeting, link and sign-off",
            )
            return ""
        if _MARKUP.search(text):
            self.report(
                value,
                "review_answer contains markup (HTML, Markdown or template syntax)",
                "write plain text: store replies show every character as typed",
            )
            return ""
        return text

    def article_id(self) -> str:
        article_id = self.text("id")
        special = self.path.name == f"{OUT_OF_SCOPE_ID}.md"
        if special and article_id and article_id != OUT_OF_SCOPE_ID:
            self.report(
                self.keys["id"][1],
                f"the out-of-scope file must have the id '{OUT_OF_SCOPE_ID}', not '{article_id}'",
                f"write 'id: {OUT_OF_SCOPE_ID}'",
            )
            return ""
        if article_id and not special and not ID_PATTERN.match(article_id):
            self.report(
                self.keys["id"][1],
                f"id '{article_id}' is not allowed",
                "use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit,"
                " e.g. 'password-reset'",
            )
            return ""
        return article_id

    def choice(self, key: str, allowed: tuple[str, ...], *, default: str) -> str:
        """One of `allowed`; `default` when the key is absent, "" when unusable (a problem is reported)."""
        if key not in self.keys:
            return default
        value = self.keys[key][1]
        text = _scalar_text(value)
        if text is None or text not in allowed:
            self.report(value, f"{key} '{text or ''}' is not allowed", f"write one of: {', '.join(allowed)}")
            return ""
        return text

    def texts(self, key: str, *, required: bool) -> tuple[tuple[str, int], ...]:
        """A list of non-empty texts with their lines; () when absent or unusable."""
        if key not in self.keys:
            return ()
        value = self.keys[key][1]
        fix = f"write one entry per line as '  - text' below '{key}:'"
        empty = _scalar_text(value) == "" or (isinstance(value, yaml.SequenceNode) and not value.value)
        if empty:
            if required:
                self.report(value, f"{key} is empty", f"add at least one entry; {fix}")
            return ()
        if not isinstance(value, yaml.SequenceNode):
            self.report(value, f"{key} must be a list of texts", fix)
            return ()
        items = [(item, _scalar_text(item)) for item in value.value]
        for position, (item, text) in enumerate(items, 1):
            if not text:
                self.report(item, f"{key} entry {position} is empty or not a text", fix)
        return tuple((text, node_line(item)) for item, text in items if text)
