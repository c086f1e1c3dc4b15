"""The report for people (HTML page, mail, text) shows the report dict's numbers, formatted, and
nothing a mail client would refuse or a customer's text could inject.

The dict is built by the real figures from a known history (tests/unit/test_report_figures.py): 100
requests in October, 60 answered (45 silent, 5 thanked, 7 "hilft nicht", 3 in the window), 40
escalated -> precision 50/57 = 87,7 %, automation 50/97 = 51,5 %.
"""

from __future__ import annotations

import argparse
import email
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailbot.reports.command import _formats
from mailbot.reports.facts import Facts
from mailbot.reports.formats import count, hours_from_minutes, percent
from mailbot.reports.render_html import (
    render_report_subject,
    render_report_text,
    report_page,
    text_table,
)
from mailbot.reports.render_mail import compose_report_mail
from mailbot.reports.report import Contract, build_report, facts_csv
from tests.unit.test_report_figures import BERLIN, CALENDAR, OCTOBER, october_history

NASTY = "<script>alert(1)</script>"


def october_report(**changes: object) -> dict[str, object]:
    facts, now = october_history()
    report = build_report(Facts("a", tuple(facts)), OCTOBER, CALENDAR, now, Contract())
    report.update(changes)
    return report


def mail(report: dict[str, object], lang: str = "de") -> EmailMessage:
    raw = compose_report_mail(
        report,
        "reference,outcome\nA-1,answered\n",
        language=lang,
        client_name="Aktivo",
        from_addr="support@aktivo.example",
        from_name="Aktivo Support",
        to_addr="lead@client.example",
        message_id="<mb.report-2026-10@aktivo.example>",
        date=datetime(2026, 11, 1, 7, tzinfo=UTC),
        zone=BERLIN,
    )
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def part(message: EmailMessage, content_type: str) -> str:
    found = [p for p in message.walk() if p.get_content_type() == content_type]
    assert len(found) == 1, content_type
    return str(found[0].get_content())


def test_the_page_shows_the_dicts_numbers_in_german_formats() -> None:
    report = october_report()
    html = report_page(report, "de", client_name="Aktivo", zone=BERLIN)
    automation = report["automation"]
    assert automation["precision"] == {"part": 50, "whole": 57, "value": pytest.approx(50 / 57)}  # type: ignore[index]
    assert "87,7\u00a0%" in html and "(50 von 57)" in html
    assert "51,5\u00a0%" in html and "(50 von 97)" in html  # automation rate
    assert "60,0\u00a0%" in html  # answer rate 60/100
    for label, number in (("bestätigt", 5), ("angenommen", 45), ("gescheitert", 7), ("offen", 3)):
        assert re.search(rf"<td>{label}</td><td>[^<]*</td><td class=\"num\">{number}</td>", html), label
    assert "Support-Bericht Oktober 2026" in html and '<html lang="de">' in html
    assert "87.7" not in html  # no English decimal point in the German page


def test_the_english_page_and_a_thousands_separator() -> None:
    report = october_report()
    volume = dict(report["volume"])  # type: ignore[arg-type]
    volume["requests"] = 1234
    html = report_page({**report, "volume": volume}, "en", client_name="Aktivo", zone=BERLIN)
    assert "87.7%" in html and "(50 of 57)" in html and "1,234" in html
    german = report_page({**report, "volume": volume}, "de", client_name="Aktivo", zone=BERLIN)
    assert ">1.234<" in german


def test_formats_are_the_documented_ones() -> None:
    assert percent(50 / 57, "de") == "87,7\u00a0%" and percent(50 / 57, "en") == "87.7%"
    assert percent(None, "de") == "n/a" and count(1234, "de") == "1.234"
    assert hours_from_minutes(750, "de") == "12,5\u00a0h"


def test_the_previous_period_gives_the_difference_and_an_arrow() -> None:
    report = october_report()
    previous = json.loads(json.dumps(report))
    previous["automation"]["precision"] = {"part": 40, "whole": 50, "value": 0.8}
    previous["volume"]["requests"] = 90
    html = report_page({**report, "previous": previous}, "de", client_name="Aktivo", zone=BERLIN)
    assert "Vormonat: 80,0\u00a0%" in html
    assert "▲ +7,7\u00a0Pp." in html  # 87,7 % - 80,0 %, both n >= 20: better, green
    assert re.search(r'class="good">▲ \+7,7', html)
    assert "Vormonat: 90" in html and "+10" in html
    assert "Vormonat" not in report_page(report, "de", client_name="Aktivo", zone=BERLIN)


def test_null_rates_are_na_and_an_empty_period_says_no_data() -> None:
    _, now = october_history()
    empty = build_report(Facts("a"), OCTOBER, CALENDAR, now, Contract())
    german = report_page(empty, "de", client_name="Leer GmbH", zone=BERLIN)
    english = report_page(empty, "en", client_name="Empty Ltd", zone=BERLIN)
    assert german.count("Keine Daten für diesen Zeitraum.") == 8
    assert english.count("No data for this period.") == 8
    assert "<img" not in german  # no chart without data
    text = render_report_text(empty, "de", client_name="Leer GmbH", zone=BERLIN)
    assert "Keine Daten für diesen Zeitraum." in text
    report = october_report()
    assert report["reopens"]["reopen_rate"]["value"] is None  # type: ignore[index]
    assert "n/a" in report_page(report, "de", client_name="Aktivo", zone=BERLIN)


def test_customer_text_in_the_dict_is_escaped_everywhere() -> None:
    report = october_report()
    report["articles"] = [dict(report["articles"][0], article_id=NASTY)]  # type: ignore[index]
    report["backlog"] = dict(report["backlog"], open_references=[f"MB-1{NASTY}"])  # type: ignore[arg-type]
    html = report_page(report, "de", client_name=f"Aktivo {NASTY}", zone=BERLIN)
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    message = mail(report)
    assert "<script" not in part(message, "text/html")
    assert "{{" not in html and "7*7" not in html


def test_the_mail_has_text_html_with_cid_images_and_the_attachments() -> None:
    report = october_report()
    message = mail(report)
    assert message["Subject"] == "Support-Bericht Oktober 2026 – Aktivo"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/mixed"
    alternative = message.get_payload()[0]  # type: ignore[index]
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "multipart/related"]
    html = part(message, "text/html")
    cids = re.findall(r'src="cid:([^"]+)"', html)
    images = {
        str(p["Content-ID"]).strip("<>"): p for p in message.walk() if p.get_content_maintype() == "image"
    }
    assert cids and sorted(cids) == sorted(images)
    assert all(p.get_content_type() == "image/png" for p in images.values())
    assert all(p.get_payload(decode=True).startswith(b"\x89PNG") for p in images.values())
    assert all(re.search(rf'src="cid:{re.escape(c)}"[^>]* alt="[^"]+"', html) for c in cids)
    assert "data:" not in html and "<script" not in html.lower()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<style" not in html and 'style="' in html  # CSS inlined
    files = {p.get_filename(): p for p in message.walk() if p.get_filename()}
    attached = json.loads(files["report.json"].get_payload(decode=True))
    assert attached["automation"] == json.loads(json.dumps(report["automation"]))
    assert files["facts.csv"].get_content_type() == "text/csv"


def test_the_mails_text_part_has_the_headline_numbers() -> None:
    text = part(mail(october_report()), "text/plain")
    assert "87,7\u00a0%" in text and "51,5\u00a0%" in text and "50 von 57" in text
    assert re.search(r"Anfragen\s+100", text)
    assert "<" not in text  # plain text, no markup


def test_the_mail_is_the_same_bytes_for_the_same_inputs() -> None:
    report = october_report()
    assert mail(report).as_bytes() == mail(report).as_bytes()


def test_a_line_break_in_the_client_name_cannot_add_a_header() -> None:
    message = mail(october_report())
    assert message["Subject"].endswith("Aktivo")
    subject = render_report_subject(october_report(), "en", client_name="Evil\r\nBcc: x@y.example")
    assert "\n" not in subject and subject == "Support report October 2026 – Evil Bcc: x@y.example"


def test_text_table_right_aligns_numbers_only() -> None:
    assert text_table([["Kennzahl", "Wert"], ["Präzision", "87,7 %"], ["Anfragen", "100"]]) == (
        "Kennzahl     Wert\n---------  ------\nPräzision  87,7 %\nAnfragen      100"
    )


def test_facts_csv_of_the_mail_is_the_report_modules(tmp_path: Path) -> None:
    facts, now = october_history()
    table = facts_csv(facts, OCTOBER, CALENDAR, now, 3)
    raw = compose_report_mail(
        october_report(),
        table,
        language="en",
        client_name="Aktivo",
        from_addr="support@aktivo.example",
        from_name="Aktivo Support",
        to_addr="lead@client.example",
        message_id="<mb.r@aktivo.example>",
        date=now,
    )
    message = email.message_from_bytes(raw, policy=policy.default)
    csv_part = next(p for p in message.walk() if p.get_filename() == "facts.csv")
    assert csv_part.get_payload(decode=True).decode("utf-8") == table


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_chromium_renders_the_page(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(report_page(october_report(), "de", client_name="Aktivo", zone=BERLIN), encoding="utf-8")
    picture = tmp_path / "report.png"
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={picture}",
         "--window-size=1000,2000", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert picture.read_bytes().startswith(b"\x89PNG") and picture.stat().st_size > 20_000


def test_the_format_option_names_the_files() -> None:
    assert _formats("html") == ("html",) and _formats("json, csv,json") == ("json", "csv")
    with pytest.raises(argparse.ArgumentTypeError, match="json,csv,html"):
        _formats("pdf")


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="report language"):
        report_page(october_report(), "fr", client_name="Aktivo")


def test_templates_of_an_override_folder_win(tmp_path: Path) -> None:
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "report.de.subject.j2").write_text("Monatsbericht {{ period_title }}\n")
    subject = render_report_subject(october_report(), "de", client_name="A", directories=[tmp_path])
    assert subject == "Monatsbericht Oktober 2026"
