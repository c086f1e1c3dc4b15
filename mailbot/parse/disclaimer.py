"""Legal disclaimers, list footers and "external sender" banners around the customer's text.

They are added by mail servers and company templates, so the same words turn up in mails on every
topic and teach the classifier nothing. Only strong, multi-word patterns count, and only as whole
trailing paragraphs (a banner: as the leading paragraph), so a sentence that merely mentions
"confidential" stays. mail-parser-reply's own disclaimer removal is not used: it drops any line
holding "Achtung:" or "Hinweis:".
"""

from __future__ import annotations

import re

_MAX_BANNER_LINES = 4
_LABEL_WORDS = 6
_MAIL = r"(?:e-?mail|message|communication|transmission|nachricht|mail)"
_DISCLAIMER = re.compile(
    "|".join(
        (
            # English legal notices
            rf"\bthis {_MAIL}(?: and any (?:attachments|files)[^.]{{0,40}}| \([^)]{{0,40}}\))?,?"
            r" (?:is|are|may be|contains?|may contain)\b[^.]{0,40}\b(?:confidential|privileged|proprietary)",
            rf"\binformation (?:contained )?in this {_MAIL}\b.{{0,80}}\b(?:confidential|privileged|intended)",
            r"\bif you (?:are not|have received this).{0,60}\b(?:intended recipient|in error)",
            r"\bplease consider the environment before printing",
            rf"\bthis {_MAIL} has been (?:scanned|checked) for (?:viruses|malware)",
            # German legal notices
            rf"\bdiese {_MAIL}\b.{{0,80}}\benth(?:ä|ae)lt\b.{{0,40}}\bvertraulich",
            r"\b(?:wenn|falls|sollten) sie nicht der\b.{0,40}\b(?:adressat|empf(?:ä|ae)nger)",
            rf"\b(?:diese {_MAIL}|sie diese {_MAIL}).{{0,40}}\birrt(?:ü|ue)mlich",
            r"\bbitte (?:denken sie an die umwelt|pr(?:ü|ue)fen sie,? ob sie diese)",
            r"\b(?:unbefugte|unerlaubte) (?:weitergabe|kopieren|nutzung)",
            # German company imprint (Pflichtangaben) and list / notification footers
            r"\b(?:amtsgericht|registergericht)\b.{0,40}\bhrb\b|\bsitz der gesellschaft\b",
            r"\bgesch(?:ä|ae)ftsf(?:ü|ue)hr(?:er|erin|ung)\s*:|\bust[.-]?id[.-]?(?:nr)?\b",
            r"/mailman/listinfo/|\byou received this message because you are subscribed\b",
            r"\breply to this e-?mail directly\b|\byou are receiving this because\b",
        )
    ),
    re.IGNORECASE,
)
_HEADING = re.compile(
    r"^\W*(?:disclaimer|confidentiality notice|legal notice|haftungsausschluss|rechtliche[rn]? hinweis"
    r"|datenschutzhinweis|vertraulichkeitshinweis)\W*$",
    re.IGNORECASE,
)
_RULE = re.compile(r"^[ \t]*[-_=*~#]{3,}[ \t]*$")
_BANNER = re.compile(
    r"\b(?:originated|comes|came) from outside (?:of )?(?:the|this|your|our) (?:organi[sz]ation|company)"
    rf"|\b(?:diese|die) {_MAIL} (?:stammt|kommt|wurde) (?:von|aus) (?:au(?:ß|ss)erhalb|einem externen)"
    r"|^\W*(?:external (?:e-?mail|sender)|externe[rn]? (?:e-?mail|absender))\b",
    re.IGNORECASE,
)


def _paragraphs(lines: list[str]) -> list[tuple[int, int]]:
    """(start, end) of each run of non-blank lines."""
    runs, start = [], None
    for index, line in enumerate([*lines, ""]):
        if line.strip() and start is None:
            start = index
        elif not line.strip() and start is not None:
            runs.append((start, index))
            start = None
    return runs


def _label(line: str) -> bool:
    """A short line that is no sentence, e.g. the title of a footer."""
    line = line.strip()
    return len(line.split()) <= _LABEL_WORDS and not line.endswith((".", "!", "?"))


def _match_line(lines: list[str], start: int, end: int) -> int | None:
    """First line of the paragraph at which a disclaimer begins (patterns may span wrapped lines)."""
    joined, offsets = "", []
    for index in range(start, end):
        offsets.append((len(joined), index))
        joined += lines[index].strip() + " "
    found = _DISCLAIMER.search(joined)
    if not found:
        return None
    return max(index for offset, index in offsets if offset <= found.start())


def strip_disclaimers(lines: list[str]) -> list[str]:
    """``lines`` without trailing disclaimer paragraphs (the first paragraph always stays)."""
    runs = _paragraphs(lines)
    cut = None
    for start, end in reversed(runs[1:]):
        if all(_RULE.match(lines[k]) or _HEADING.match(lines[k]) for k in range(start, end)):
            cut = start
            continue
        begins = _match_line(lines, start, end)
        if begins is None:
            break
        if all(_label(lines[k]) for k in range(start, begins)):
            begins = start  # "riak-users mailing list" above ".../mailman/listinfo/..."
        cut = begins
        if begins > start:  # the disclaimer starts inside this paragraph: the sentences above stay
            break
    return lines if cut is None else lines[:cut]


def strip_banner(lines: list[str]) -> list[str]:
    """``lines`` without a leading "this e-mail came from outside the organisation" paragraph."""
    runs = _paragraphs(lines)
    if len(runs) < 2:
        return lines
    start, end = runs[0]
    text = " ".join(lines[k].strip() for k in range(start, end))
    return lines[end:] if end - start <= _MAX_BANNER_LINES and _BANNER.search(text) else lines
