"""Decide when a MIME structure is too broken to be understood (quarantine, not best effort).

A multipart whose boundary is missing or never appears cannot be split into parts: the whole
body, MIME headers and all, would be read as one blob. When that happens at the top level, or
anywhere while no readable text part survives, a human has to look. A broken part nested beside
readable text is only recorded as a defect.
"""

from __future__ import annotations

from email.message import Message

from mailbot.logredact import quoted, shortened

# most specific first: a missing boundary also causes "no subparts found"
_STRUCTURAL = (
    "NoBoundaryInMultipartDefect",
    "StartBoundaryNotFoundDefect",
    "MultipartInvariantViolationDefect",
)


def _reason(part: Message) -> str | None:
    names = {type(defect).__name__ for defect in part.defects}
    ctype = part.get_content_type()
    if _STRUCTURAL[0] in names:
        return f"broken MIME: {shortened(ctype)} declares no boundary, the body cannot be split into parts"
    if _STRUCTURAL[1] in names:
        boundary = part.get_boundary() or ""
        return (
            f"broken MIME: {shortened(ctype)} declares the boundary {quoted(boundary, 70)} but no part "
            "starts with it, the body cannot be split into parts"
        )
    if _STRUCTURAL[2] in names:
        return f"broken MIME: {shortened(ctype)} contains no parts, there is no readable text"
    return None


def structural_problem(message: Message, *, has_text: bool) -> str | None:
    """A quarantine reason, or None when the mail can be read (perhaps with recorded defects)."""
    top = _reason(message)
    if top or has_text:
        return top
    for part in message.walk():
        reason = _reason(part)
        if reason:
            return reason
    return None
