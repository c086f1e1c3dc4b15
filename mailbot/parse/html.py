"""HTML-only mail to readable text with inscriptis.

inscriptis keeps the layout a reader sees (paragraphs, lists, tables) and drops ``<script>`` and
``<style>``. Its own link display writes Markdown (``[text](url)``), which is noise when the anchor
text already is the URL; here a link reads ``text (url)``, or just ``text`` when the target adds
nothing (same URL, ``mailto:``, in-page anchors, ``javascript:``).
"""

from __future__ import annotations

import re

from inscriptis import get_text
from inscriptis.model.config import ParserConfig
from inscriptis.model.html_document_state import HtmlDocumentState
from inscriptis.model.tag import CustomHtmlTagHandlerMapping

# private-use characters mark a link while inscriptis lays out the text
_OPEN, _MID, _CLOSE = "\ue000", "\ue001", "\ue002"
_LINK = re.compile(f"{_OPEN}([^{_OPEN}{_MID}{_CLOSE}]*){_MID}([^{_OPEN}{_MID}{_CLOSE}]*){_CLOSE}")
_MARKERS = re.compile(f"[{_OPEN}{_MID}{_CLOSE}]")
_TAG = re.compile(r"<[^>]*>")
_SHOWN_SCHEMES = ("http://", "https://", "ftp://")


def _start_a(state: HtmlDocumentState, attrs: dict[str, str]) -> None:
    href = (attrs.get("href") or "").strip()
    state.link_target = href if href.lower().startswith(_SHOWN_SCHEMES) else ""
    if state.link_target:
        state.tags[-1].write(_OPEN)


def _end_a(state: HtmlDocumentState) -> None:
    if state.link_target:
        state.tags[-1].write(f"{_MID}{state.link_target}{_CLOSE}")
        state.link_target = ""


_CONFIG = ParserConfig(
    custom_html_tag_handler_mapping=CustomHtmlTagHandlerMapping(
        start_tag_mapping={"a": _start_a}, end_tag_mapping={"a": _end_a}
    )
)


def _render_link(match: re.Match[str]) -> str:
    text, url = match.group(1), match.group(2)
    shown = text.strip()
    if not shown:
        return text  # image-only link: the URL alone is tracking noise
    if shown.rstrip("/") == url.rstrip("/") or url in shown:
        return text
    return f"{text} ({url})"


def html_to_text(html: str) -> str:
    """Readable text of an HTML document; "" for empty or unparseable input."""
    if not html.strip():
        return ""
    try:
        text = get_text(html, _CONFIG)
    except Exception:  # lxml gives up on some binary junk; a rough text beats losing the mail
        text = _TAG.sub(" ", html)
    text = _LINK.sub(_render_link, text)
    text = _MARKERS.sub("", text)
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
