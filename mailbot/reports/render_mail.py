"""The report mail as final bytes: pure, deterministic, readable with images blocked.

Structure (what mail clients show well, support-analytics §3.2)::

    multipart/mixed
      multipart/alternative
        text/plain            headline figures and the key tables
        multipart/related
          text/html           CSS inlined (css-inline), charts as <img src="cid:...">
          image/png ...       one part per chart, Content-ID = the cid
      application/json        report.json (the source of truth)
      text/csv                facts.csv

No ``data:`` URI (Gmail and Outlook strip them), no script, no remote source. Headers are validated
and written by mailbot.reply.compose (a line break in the client's name cannot add a header), the
boundaries and Content-IDs are derived from the Message-ID, so the same inputs give the same bytes
and the outbox may store them at enqueue time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from email.message import MIMEPart
from pathlib import Path
from typing import Any

from mailbot.reply.branding import DEFAULT_ACCENT
from mailbot.reply.compose import (
    MAIL_POLICY,
    boundary_for,
    checked_headers,
    flatten_mail,
    text_part,
    written_bodies,
)
from mailbot.reports.charts import Chart, draw_charts
from mailbot.reports.render_html import (
    Image,
    render_report_html,
    render_report_subject,
    render_report_text,
)


def content_id(message_id: str, name: str) -> str:
    """The Content-ID of chart `name` (without brackets): stable for a Message-ID, unique per mail."""
    domain = message_id.strip("<>").rpartition("@")[2] or "mailbot.invalid"
    digest = hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:16]
    return f"{name}.{digest}@{domain}"


def inline_css(html: str) -> str:
    """Styles of the <style> block into style attributes; nothing is fetched from anywhere."""
    import css_inline

    inliner = css_inline.CSSInliner(
        keep_style_tags=False, keep_link_tags=False, load_remote_stylesheets=False
    )
    return inliner.inline(html)


def _image_part(chart: Chart, cid: str) -> MIMEPart:
    part = MIMEPart(policy=MAIL_POLICY)
    part.set_content(
        chart.png, maintype="image", subtype="png", disposition="inline", filename=f"{chart.name}.png"
    )
    part["Content-ID"] = f"<{cid}>"
    return part


def _attachment(data: bytes, maintype: str, subtype: str, filename: str) -> MIMEPart:
    part = MIMEPart(policy=MAIL_POLICY)
    part.set_content(data, maintype=maintype, subtype=subtype, disposition="attachment", filename=filename)
    return part


def compose_report_mail(
    report: Mapping[str, Any],
    facts_csv: str,
    *,
    language: str,
    client_name: str,
    from_addr: str,
    from_name: str,
    to_addr: str,
    message_id: str,
    date: datetime,
    zone: tzinfo | None = None,
    accent: str = DEFAULT_ACCENT,
    directories: Sequence[Path] = (),
) -> bytes:
    """The report mail for `to_addr` in `language` ("de" or "en"), as bytes with CRLF line endings.

    Marked automatic (Auto-Submitted: auto-generated, RFC 3834), so no vacation responder answers it.
    Raises what mailbot.reply.compose raises for a bad header value, address or Message-ID.
    """
    subject = render_report_subject(report, language, client_name=client_name, directories=directories)
    headers = checked_headers(
        subject=subject,
        from_addr=from_addr,
        from_name=from_name,
        to_addr=to_addr,
        message_id=message_id,
        in_reply_to=None,
        references=(),
        date=date,
        auto_submitted="auto-generated",
        precedence="bulk",
        extra={},
    )
    charts = draw_charts(report, language)
    cids = {name: content_id(message_id, name) for name in charts}
    images = {
        name: Image(f"cid:{cids[name]}", chart.alt, chart.title, chart.width, chart.height)
        for name, chart in charts.items()
    }
    html = render_report_html(
        report,
        language,
        client_name=client_name,
        images=images,
        zone=zone,
        accent=accent,
        for_mail=True,
        directories=directories,
    )
    text = render_report_text(report, language, client_name=client_name, zone=zone, directories=directories)

    related = MIMEPart(policy=MAIL_POLICY)
    related.make_related()
    related.attach(text_part(inline_css(html), "html"))
    for name, chart in charts.items():
        related.attach(_image_part(chart, cids[name]))
    related.set_boundary(boundary_for(message_id, "related", written_bodies(related)))

    alternative = MIMEPart(policy=MAIL_POLICY)
    alternative.make_alternative()
    alternative.attach(text_part(text, "plain"))
    alternative.attach(related)
    alternative.set_boundary(boundary_for(message_id, "alternative", written_bodies(alternative)))

    report_json = json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n"
    msg = MIMEPart(policy=MAIL_POLICY)
    for name, value in headers:
        msg[name] = value
    msg.make_mixed()
    msg.attach(alternative)
    msg.attach(_attachment(report_json.encode("utf-8"), "application", "json", "report.json"))
    msg.attach(_attachment(facts_csv.encode("utf-8"), "text", "csv", "facts.csv"))
    msg.set_boundary(boundary_for(message_id, "mixed", written_bodies(msg)))
    return flatten_mail(msg)
