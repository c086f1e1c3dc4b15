"""Knowledge-base Markdown for both parts of a mail: HTML (`markdown_to_html`) and plain text
(`markdown_to_text`), from one markdown-it parser so both parts show the same words.

The plain-text part is read in clients that show no HTML and is quoted when the customer replies,
so Markdown syntax must not show there (``**Parken beenden**`` reads as noise). The text is made
from markdown-it's syntax tree, not by pattern-matching the source, so it sees exactly the
structure the HTML part shows: emphasis markers go, links become ``text <url>`` (RFC 3986,
appendix C: angle brackets delimit a URL in plain text, and clients still link it), lists keep
``- `` and ``1. `` with indented continuation lines, headings are plain lines, code is kept as
written (blocks indented by four spaces), tables become aligned columns (or one ``Header: value``
line per cell when too wide). Paragraphs are not hard-wrapped: the part is not format=flowed,
so hard breaks would leave ragged lines on phones; mail clients wrap long lines themselves, as
they do for the rest of the template text.
"""

from __future__ import annotations

import functools
import unicodedata

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode
from markupsafe import Markup

# --- HTML -----------------------------------------------------------------------------------------

# Mail clients ignore or strip <style> blocks unreliably, so the few elements Markdown produces
# that look bad unstyled get inline styles (keyed by markdown-it token type).
_MONO = "font-family:Consolas,Menlo,monospace;font-size:13px;"
_CODE_BOX = f"background-color:#f4f5f7;padding:12px;border-radius:4px;white-space:pre-wrap;{_MONO}"
_INLINE_STYLES = {
    "fence": f"display:block;{_CODE_BOX}",  # fences style the <code> inside <pre>
    "code_block": _CODE_BOX,  # indented code styles the <pre>
    "code_inline": f"background-color:#f4f5f7;padding:1px 4px;border-radius:3px;{_MONO}",
    "blockquote_open": "margin:0 0 16px 0;padding:0 0 0 12px;border-left:3px solid #d0d7de;color:#57606a;",
    "table_open": "border-collapse:collapse;margin:0 0 16px 0;",
    "th_open": "border:1px solid #d0d7de;padding:6px 10px;background-color:#f4f5f7;",
    "td_open": "border:1px solid #d0d7de;padding:6px 10px;",
    "image": "max-width:100%;height:auto;",
}


def _add_style(token: Token) -> None:
    style = _INLINE_STYLES.get(token.type)
    if style is not None:
        existing = token.attrGet("style")
        token.attrSet("style", f"{existing};{style}" if existing else style)


def _inline_styles_rule(state: StateCore) -> None:
    for token in state.tokens:
        _add_style(token)
        for child in token.children or ():
            _add_style(child)


def _parser() -> MarkdownIt:
    """CommonMark + tables + strikethrough; raw HTML in the source is text, not markup."""
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


_HTML_RENDERER = _parser()
_HTML_RENDERER.core.ruler.push("mailbot_inline_styles", _inline_styles_rule)
_TEXT_PARSER = _parser()


# the same few articles are rendered for most mails: parsing them again was half of rendering a reply
RENDERED_KEPT = 256


@functools.lru_cache(maxsize=RENDERED_KEPT)
def markdown_to_html(markdown: str) -> Markup:
    """CommonMark (+ tables, strikethrough) to HTML; raw HTML in the source is escaped, not passed.

    Links are kept (markdown-it drops ``javascript:`` and similar URLs itself).
    """
    return Markup(_HTML_RENDERER.render(markdown))


# --- plain text -----------------------------------------------------------------------------------

TABLE_MAX_WIDTH = 78  # wider tables are written one "Header: value" line per cell
_CODE_INDENT = "    "
_RULE = "----"


@functools.lru_cache(maxsize=RENDERED_KEPT)
def markdown_to_text(markdown: str) -> str:
    """The same Markdown as readable plain text, without Markdown syntax (see the module docstring)."""
    tree = SyntaxTreeNode(_TEXT_PARSER.parse(markdown))
    return "\n\n".join(_blocks(tree.children)).strip("\n")


def _blocks(nodes: list[SyntaxTreeNode]) -> list[str]:
    return [text for text in (_block(node) for node in nodes) if text]


def _block(node: SyntaxTreeNode) -> str:
    kind = node.type
    if kind in ("paragraph", "heading"):
        return "".join(_inline(child) for child in node.children).strip()
    if kind in ("bullet_list", "ordered_list"):
        return _list(node)
    if kind == "blockquote":
        inner = "\n\n".join(_blocks(node.children))
        return "\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))
    if kind in ("fence", "code_block"):
        code = node.content.rstrip("\n")
        return "\n".join(_CODE_INDENT + line if line.strip() else "" for line in code.split("\n"))
    if kind == "hr":
        return _RULE
    if kind == "table":
        return _table(node)
    if kind == "html_block":  # only with html enabled; shown as written, like the HTML part escapes it
        return node.content.strip("\n")
    return "\n\n".join(_blocks(node.children))


def _list(node: SyntaxTreeNode) -> str:
    ordered = node.type == "ordered_list"
    number = int(str(node.attrs.get("start", 1))) if ordered else 0
    # markdown-it hides the paragraphs of a tight list: no blank lines between its items, as in HTML
    tight = all(
        child.hidden for item in node.children for child in item.children if child.type == "paragraph"
    )
    items = []
    for offset, item in enumerate(node.children):
        marker = f"{number + offset}. " if ordered else "- "
        content = ("\n" if tight else "\n\n").join(_blocks(item.children))
        lines = content.split("\n") if content else [""]
        indent = " " * len(marker)
        items.append("\n".join([marker + lines[0], *(indent + line if line else "" for line in lines[1:])]))
    return ("\n" if tight else "\n\n").join(items)


def _inline(node: SyntaxTreeNode) -> str:
    kind = node.type
    if kind in ("text", "code_inline", "html_inline", "text_special"):
        return node.content
    if kind == "softbreak":
        return " "  # as the HTML part shows it: the source's line breaks inside a paragraph are spaces
    if kind == "hardbreak":
        return "\n"
    if kind in ("link", "image"):
        label = "".join(_inline(child) for child in node.children).strip()
        target = str(node.attrs.get("href" if kind == "link" else "src", ""))
        if not target or target in (label, f"mailto:{label}"):
            return label
        return f"{label} <{target}>" if label else f"<{target}>"
    return "".join(_inline(child) for child in node.children)


# --- tables ---------------------------------------------------------------------------------------


def _width(text: str) -> int:
    """Columns a monospace client gives `text` (wide East Asian characters take two, marks none)."""
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * (width - _width(text))
    return fill + text if right else text + fill


def _table(node: SyntaxTreeNode) -> str:
    rows: list[list[str]] = []
    right: list[bool] = []
    for section in node.children:
        for row in section.children:
            cells = [_inline_text(cell).replace("\n", " ") for cell in row.children]
            if not rows:
                right = ["text-align:right" in str(cell.attrs.get("style", "")) for cell in row.children]
            rows.append(cells)
    if not rows:
        return ""
    columns = max(len(row) for row in rows)
    rows = [row + [""] * (columns - len(row)) for row in rows]
    right += [False] * (columns - len(right))
    widths = [max(_width(row[i]) for row in rows) for i in range(columns)]
    if sum(widths) + 2 * (columns - 1) > TABLE_MAX_WIDTH:
        header, *body = rows
        return "\n\n".join(
            "\n".join(f"{name}: {value}" if name else value for name, value in zip(header, row, strict=True))
            for row in body
        )
    lines = [
        "  ".join(_pad(cell, widths[i], right[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _inline_text(cell: SyntaxTreeNode) -> str:
    return "".join(_inline(child) for child in cell.children).strip()
