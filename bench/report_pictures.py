"""Pictures of the report as people see it: report.html in a browser and the report mail as a mail
client shows it (cid: images resolved), both rendered by headless Chromium to PNG.

A synthetic two-client history (October and November 2026; "aktivo" in German, "kerbside" in English)
goes through the real figures (`build_report`, with the previous month) and the real renderers. The
mail is composed to bytes, parsed back like a mail client would, its HTML part written out with each
cid: replaced by the file of its image part. Also an empty month, which must say "keine Daten".

    .venv/bin/python bench/report_pictures.py            # writes bench/out/report_pictures/*.png

Needs Debian's `chromium` (apt-get install chromium); without it only the HTML files are written.
Look at the PNGs before calling a change to the report done.
"""

from __future__ import annotations

import email
import random
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailbot.clock import BusinessCalendar  # noqa: E402
from mailbot.reports.facts import Facts, RequestFact  # noqa: E402
from mailbot.reports.period import month  # noqa: E402
from mailbot.reports.render_html import report_page  # noqa: E402
from mailbot.reports.render_mail import compose_report_mail  # noqa: E402
from mailbot.reports.report import Contract, build_report, facts_csv  # noqa: E402

OUT = ROOT / "bench" / "out" / "report_pictures"
WEEKDAYS_9_TO_17 = (((time(9), time(17)),),) * 5 + ((), ())
ARTICLES = ("password-reset", "invoice-receipt", "subscription-cancel", "push-notifications", "change-email")


def history(slug: str, zone: ZoneInfo, seed: int, size: int) -> tuple[Facts, BusinessCalendar]:
    """`size` requests per month in October and November with every outcome the report knows."""
    calendar = BusinessCalendar(zone, WEEKDAYS_9_TO_17, frozenset({date(2026, 12, 25)}))
    rng = random.Random(seed)
    facts: list[RequestFact] = []
    number = 0
    for first in (date(2026, 10, 1), date(2026, 11, 1)):
        for _ in range(size):
            number += 1
            day = first + timedelta(days=rng.randrange(30))
            hour = rng.choice((7, 8, 9, 9, 10, 10, 11, 13, 14, 15, 16, 19, 21))
            arrived = datetime.combine(day, time(hour, rng.randrange(60)), tzinfo=zone).astimezone(UTC)
            reference = f"{slug[:2].upper()}-{10000000 + number}"
            roll = rng.random()
            if roll < 0.07:
                facts.append(RequestFact(number, slug, arrived, "ignored", ignore_reason="auto-reply"))
                continue
            if roll < 0.62:
                article = rng.choice(ARTICLES)
                extra: dict[str, object] = {}
                fate = rng.random()
                if fate < (0.25 if article == "push-notifications" else 0.06):
                    extra["failures"] = ((arrived + timedelta(hours=20), rng.choice(("negative", "human"))),)
                elif fate < 0.2:
                    extra["thanks"] = (arrived + timedelta(hours=1),)
                language = "de" if rng.random() < 0.7 else "en"
                facts.append(
                    RequestFact(
                        number,
                        slug,
                        arrived,
                        "answered",
                        language=language,
                        article_id=article,
                        reference=reference,
                        first_auto_reply_at=arrived + timedelta(minutes=1),
                        **extra,  # type: ignore[arg-type]
                    )
                )
                continue
            severity = rng.choice(("critical", "major", "major", "minor", "minor", "minor", "cosmetic"))
            hours = {"critical": 1, "major": 4, "minor": 8, "cosmetic": 16}[severity]
            start = calendar.sla_start(arrived)
            response_due = calendar.add_business_hours(start, hours)
            resolution_due = calendar.add_business_hours(start, hours * 5)
            answered = calendar.add_business_hours(start, hours * rng.uniform(0.2, 1.3))
            solved = calendar.add_business_hours(start, hours * 5 * rng.uniform(0.3, 1.4))
            reopened = (solved + timedelta(days=1),) if rng.random() < 0.08 else ()
            open_still = rng.random() < 0.12
            facts.append(
                RequestFact(
                    number,
                    slug,
                    arrived,
                    "escalated",
                    language="de",
                    reference=reference,
                    severity=severity,
                    sla_started_at=start,
                    response_due_at=response_due,
                    resolution_due_at=resolution_due,
                    first_auto_reply_at=arrived + timedelta(minutes=1),
                    first_acknowledgement_at=arrived + timedelta(minutes=1),
                    human_replies=(answered,),
                    escalations=(arrived,),
                    solves=() if open_still else (solved,),
                    reopens=() if open_still else reopened,
                )
            )
    return Facts(slug, tuple(facts)), calendar


def screenshot(html: Path, png: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print(f"no chromium: open {html} yourself")
        return
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--screenshot={png}", "--window-size=1000,7000", html.as_uri()],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    print(png)


def mail_as_client_shows_it(raw: bytes, folder: Path) -> Path:
    """The HTML part of the mail with each cid: pointing at its image part written to a file."""
    message = email.message_from_bytes(raw, policy=policy.default)
    html = ""
    for part in message.walk():
        if part.get_content_type() == "text/html":
            html = part.get_content()
        elif part.get_content_maintype() == "image":
            cid = str(part["Content-ID"]).strip("<>")
            name = f"mail-{part.get_filename()}"
            (folder / name).write_bytes(part.get_payload(decode=True))
            html = html.replace(f"cid:{cid}", name)
    page = folder / "mail.html"
    page.write_text(html, encoding="utf-8")
    return page


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    clients = (
        ("aktivo", "Aktivo Fitness", "de", ZoneInfo("Europe/Berlin"), 1, 160),
        ("kerbside", "Kerbside", "en", ZoneInfo("Europe/London"), 2, 70),
    )
    for slug, name, lang, zone, seed, size in clients:
        facts, calendar = history(slug, zone, seed, size)
        november = month("2026-11", zone)
        contract = Contract(near_miss=0.8)
        report = build_report(facts, november, calendar, now, contract)
        report["previous"] = build_report(facts, november.previous(), calendar, now, contract)
        folder = OUT / slug
        folder.mkdir(exist_ok=True)
        page = folder / "report.html"
        page.write_text(report_page(report, lang, client_name=name, zone=zone), encoding="utf-8")
        screenshot(page, folder / "report.png")
        table = facts_csv(facts.requests, november, calendar, now, contract.window_days)
        raw = compose_report_mail(
            report,
            table,
            language=lang,
            client_name=name,
            from_addr=f"support@{slug}.example",
            from_name=f"{name} Support",
            to_addr=f"lead@{slug}-client.example",
            message_id=f"<mb.report-2026-11@{slug}.example>",
            date=now,
            zone=zone,
        )
        (folder / "report.eml").write_bytes(raw)
        screenshot(mail_as_client_shows_it(raw, folder), folder / "mail.png")
    empty_zone = ZoneInfo("Europe/Berlin")
    calendar = BusinessCalendar(empty_zone, WEEKDAYS_9_TO_17, frozenset())
    empty = build_report(Facts("leer"), month("2026-11", empty_zone), calendar, now, Contract())
    page = OUT / "empty.html"
    page.write_text(report_page(empty, "de", client_name="Leer GmbH", zone=empty_zone), encoding="utf-8")
    screenshot(page, OUT / "empty.png")


if __name__ == "__main__":
    main()
