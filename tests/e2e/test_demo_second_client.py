"""The second demo client (Kerbside, a UK parking app, English first): its knowledge base passes
`mailbot kb check`, trains, and the real pipeline answers the demo mails meant to be answered, escalates
the fault and the out-of-scope mail and ignores the auto-reply, under its own contract and prefix."""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from datetime import datetime
from email import message_from_bytes, policy
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from mailbot.app import build_app
from mailbot.cli import main
from mailbot.clock import fixed_clock
from mailbot.config import load_settings
from mailbot.db.schema import InboundMail
from mailbot.demo.sink import EmlSink
from mailbot.ingest.maildir import ensure_maildir
from mailbot.paths import DEMO_CLIENTS
from mailbot.worker import run_once

CLIENT = DEMO_CLIENTS / "kerbside"
KB = CLIENT / "knowledge_base"
SAMPLES = sorted((CLIENT / "samples").glob("*.eml"))
# what the demo supplies around a client.toml (the lead's demo wiring does the same for every client)
INSTALLATION = """
[maildir]
path = "Maildir"

[smtp]
host = "127.0.0.1"
port = {port}
security = "none"

[database]
url = "sqlite:///mailbot.db"

[knowledge_base]
path = "{kb}"
"""
# Tuesday 24 November 2026, 16:00 in London: the contract's hours (Mon-Fri 08:00-20:00) are open
OPEN = datetime(2026, 11, 24, 16, 0, tzinfo=ZoneInfo("Europe/London"))


def test_the_knowledge_base_passes_kb_check_with_its_topics_and_examples(capsys):
    assert main(["kb", "check", "--kb", str(KB)]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "11 topics (de, en)" in out
    assert "severity examples" in out and "0 severity examples" not in out


def test_evaluate_trains_on_it_and_answers_the_demo_mails_meant_to_be_answered(tmp_path, capsys):
    predictions = tmp_path / "predictions.jsonl"
    cases = CLIENT / "cases.jsonl"

    assert (
        main(
            ["evaluate", "--kb", str(KB), "--cases", str(cases), "--json", "--predictions", str(predictions)]
        )
        == 0
    )

    summary = json.loads(capsys.readouterr().out)
    assert summary["cases"] == 4 and summary["quarantined"] == 0
    assert summary["answered_precision"] == 1.0 and summary["oos_recall"] == 1.0
    rows = {row["id"]: row for row in map(json.loads, predictions.read_text(encoding="utf-8").splitlines())}
    assert rows["01-extend-meeting-en"]["predicted"] == "extend-parking"
    assert rows["02-vat-receipts-de"]["predicted"] == "receipts-vat"
    assert rows["03-crash-start-parking-en"]["predicted"] == "app-crash"  # an escalating article
    assert rows["03-crash-start-parking-en"]["severity"] == "major"
    assert rows["04-car-park-operator-en"]["predicted"] is None


def test_the_real_pipeline_decides_every_demo_mail_under_the_clients_contract(tmp_path):
    names = _deliver(tmp_path / "Maildir")
    with EmlSink(tmp_path / "sent") as sink:
        config = tmp_path / "mailbot.toml"
        client = (CLIENT / "client.toml").read_text(encoding="utf-8")
        config.write_text(client + INSTALLATION.format(port=sink.port, kb=KB), encoding="utf-8")
        settings = load_settings(config, env={})
        assert settings.business_hours.timezone == "Europe/London"
        assert settings.business_hours.holidays is not None
        assert settings.business_hours.holidays.country == "GB"
        app = build_app(settings, clock=fixed_clock(OPEN))
        try:
            run_once(app)
            with app.sessions() as session:
                rows = session.scalars(select(InboundMail).order_by(InboundMail.id)).all()
                outcomes = {names[row.source_key]: (row.outcome, row.decision or {}) for row in rows}
        finally:
            app.close()

    assert outcomes["01-extend-meeting-en.eml"][0] == "answered"
    assert outcomes["01-extend-meeting-en.eml"][1]["article_id"] == "extend-parking"
    assert outcomes["02-vat-receipts-de.eml"][0] == "answered"
    assert outcomes["02-vat-receipts-de.eml"][1]["article_id"] == "receipts-vat"
    assert outcomes["03-crash-start-parking-en.eml"][0] == "escalated"
    assert outcomes["04-car-park-operator-en.eml"][0] == "escalated"
    assert outcomes["05-out-of-office-en.eml"][0] == "ignored"
    sent = [
        message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in (tmp_path / "sent").glob("*.eml")
    ]
    to_customers = [mail for mail in sent if "team@kerbside.example" not in mail["To"]]
    assert len(to_customers) == 4  # two answers, two acknowledgements
    assert all(mail["From"].addresses[0].addr_spec == "help@kerbside.example" for mail in sent)
    assert all("Kerbside Help" in mail["From"] for mail in to_customers)
    assert all("[KS-" in mail["Subject"] for mail in to_customers)
    german = [mail for mail in to_customers if "s.wagner@example.net" in mail["To"]]
    assert len(german) == 1 and "Mehrwertsteuer" in german[0].get_body(("plain",)).get_content()


def test_client_toml_sets_only_client_sections_and_its_own_contract():
    data = tomllib.loads((CLIENT / "client.toml").read_text(encoding="utf-8"))
    assert "database" not in data and "maildir" not in data and "imap" not in data
    assert data["support"]["ticket_prefix"] == "KS" and data["support"]["default_language"] == "en"
    assert data["business_hours"]["monday"] == ["08:00-20:00"]
    assert data["sla"]["critical"]["calendar"] == "24/7"


def _deliver(maildir: Path) -> dict[str, str]:
    """The samples in Maildir/new in file order, as `mailbot demo` delivers them."""
    ensure_maildir(maildir)
    names = {}
    start = OPEN.timestamp() - 3600
    for index, sample in enumerate(SAMPLES):
        key = f"{int(start) + index}.demo{index:02d}.kerbside"
        target = maildir / "new" / key
        shutil.copyfile(sample, target)
        os.utime(target, (start + index, start + index))
        names[f"maildir:{key}"] = sample.name
    return names
