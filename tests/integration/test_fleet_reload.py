"""The clients folder read again while running: added, removed, changed and broken clients."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from mailbot.clients import load_installation
from mailbot.clients.fleet import Fleet

ARTICLE = """---
id: {id}
title: {title}
language: en
examples:
  - {q1}
  - {q2}
  - {q3}
---
{answer}
"""


def write_kb(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "opening-hours.en.md").write_text(
        ARTICLE.format(
            id="opening-hours",
            title="Opening hours",
            q1="When are you open?",
            q2="What are your opening hours?",
            q3="Are you open on Sunday?",
            answer="We are open Monday to Friday.",
        ),
        encoding="utf-8",
    )
    (folder / "refund.en.md").write_text(
        ARTICLE.format(
            id="refund",
            title="Refunds",
            q1="How do I get my money back?",
            q2="I want a refund",
            q3="Can you refund my purchase?",
            answer="Refunds take five days.",
        ),
        encoding="utf-8",
    )


def add_client(root: Path, slug: str, prefix: str, name: str = "Support", extra: str = "") -> Path:
    folder = root / "clients" / slug
    write_kb(folder / "knowledge_base")
    (folder / "client.toml").write_text(
        f'[support]\naddress = "support@{slug}.example"\nname = "{name}"\nticket_prefix = "{prefix}"\n'
        f'[maildir]\npath = "Maildir"\n{extra}',
        encoding="utf-8",
    )
    return folder / "client.toml"


@pytest.fixture
def fleet(tmp_path: Path):
    (tmp_path / "mailbot.toml").write_text(
        '[clients]\ndir = "clients"\n[database]\nurl = "sqlite:///mailbot.db"\n'
        '[team]\naddress = "team@agency.example"\n[smtp]\nhost = "127.0.0.1"\nsecurity = "none"\n',
        encoding="utf-8",
    )
    add_client(tmp_path, "alpha", "AL")
    fleet = Fleet.open(load_installation(tmp_path / "mailbot.toml", env={}))
    yield fleet
    fleet.close()


def test_added_changed_and_removed_clients(fleet: Fleet, tmp_path: Path):
    alpha = fleet.apps["alpha"]
    assert fleet.reload().started == {}  # nothing changed: nothing restarted

    add_client(tmp_path, "beta", "BE", extra='[branding]\nname = "Beta"\n')
    change = fleet.reload()
    assert list(change.started) == ["beta"] and not change.stopped
    assert fleet.apps["beta"].engine is alpha.engine  # one database for all
    # the same template set is compiled once and shared; each client signs with its own branding
    assert fleet.apps["beta"].renderer._text_env is alpha.renderer._text_env
    assert fleet.apps["beta"].renderer.branding.name == "Beta"
    assert alpha.renderer.branding.name is None

    config = tmp_path / "clients" / "alpha" / "client.toml"
    config.write_text(config.read_text().replace('name = "Support"', 'name = "Alpha Help"'))
    change = fleet.reload()
    assert list(change.started) == ["alpha"] and change.stopped["alpha"] is alpha
    assert fleet.apps["alpha"].settings.support.name == "Alpha Help"

    config = tmp_path / "clients" / "beta"
    (config / "client.toml").rename(tmp_path / "beta.toml")  # no client.toml: a folder being prepared
    change = fleet.reload()
    assert not change.stopped  # a broken client that is running keeps running
    (tmp_path / "beta.toml").rename(config / "client.toml")

    shutil.rmtree(config)
    change = fleet.reload()
    assert list(change.stopped) == ["beta"] and sorted(fleet.apps) == ["alpha"]


def test_a_broken_edit_is_reported_once_and_the_client_keeps_running(
    fleet: Fleet, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    running = fleet.apps["alpha"]
    config = tmp_path / "clients" / "alpha" / "client.toml"
    config.write_text(config.read_text() + "[limits]\nmax_atempts = 2\n")
    with caplog.at_level(logging.ERROR, logger="mailbot.clients.fleet"):
        assert fleet.reload().stopped == {}
        assert fleet.reload().stopped == {}
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "still served with its previous settings" in errors[0]
    assert f"{config}" in errors[0] and "line 8: [limits] max_atempts" in errors[0]
    assert fleet.apps["alpha"] is running

    add_client(tmp_path, "gamma", "AL")  # the prefix of a running client: refused, alpha unaffected
    change = fleet.reload()
    assert "gamma" not in change.started and fleet.apps["alpha"] is running
    assert "ticket_prefix 'AL'" in fleet.problems["gamma"]


def test_a_client_with_an_empty_or_missing_knowledge_base_escalates_everything(fleet: Fleet, tmp_path: Path):
    empty = add_client(tmp_path, "empty", "EM").parent / "knowledge_base"
    shutil.rmtree(empty)
    empty.mkdir()  # a new client whose agents have not written an article yet
    missing = add_client(tmp_path, "missing", "MI").parent / "knowledge_base"
    shutil.rmtree(missing)  # or whose folder is not there at all
    change = fleet.reload()
    assert sorted(change.started) == ["empty", "missing"]
    for slug in ("empty", "missing"):
        prediction = fleet.apps[slug].classifier.predict("Refund", "I want a refund for my purchase")
        assert prediction.article_id is None or prediction.confidence < prediction.threshold
        assert fleet.apps[slug].kb.articles == ()  # never another client's articles
    answered = fleet.apps["alpha"].classifier.predict("Refund", "I want a refund for my purchase")
    assert answered.article_id == "refund"


def test_a_client_added_while_running_gets_the_lost_database_check(fleet: Fleet, tmp_path: Path):
    add_client(tmp_path, "fresh", "FR")
    used = add_client(tmp_path, "used", "US").parent / "Maildir"
    for sub in ("new", "cur", "tmp", ".Processed/new", ".Processed/tmp", ".Processed/cur"):
        (used / sub).mkdir(parents=True, exist_ok=True)
    (used / ".Processed" / "cur" / "1.decided:2,S").write_bytes(b"From: a@b.example\r\n\r\nold\r\n")
    change = fleet.reload()
    assert sorted(change.started) == ["fresh", "used"]
    assert fleet.vet_new("fresh") is True
    assert fleet.vet_new("used") is False  # mailbot worked on this mailbox with another database
    assert "used" not in fleet.apps and "holds no mail of mailbox 'used'" in fleet.problems["used"]
