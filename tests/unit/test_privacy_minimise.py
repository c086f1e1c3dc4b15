"""Issue 15, minimisation, the pure parts: what a log line may say of a mail, the third-party loggers that
quote mail or addresses, database errors without values, a model card without example texts, and no
debug output by default."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from mailbot import cli
from mailbot.app import load_or_train
from mailbot.classify import store
from mailbot.db.engine import make_engine
from mailbot.domain import Action, Decision, RuleEffect, RuleHit
from mailbot.kb import load_knowledge_base
from mailbot.kb.learn_write import with_example
from mailbot.logredact import RedactingFilter, headline
from mailbot.pipeline.logline import decision_line
from tests.unit.test_classify import TOPICS, write_kb
from tests.unit.test_model_snapshot import settings_for

MARKER = "Quellwasserbrunnen"


@pytest.mark.parametrize(
    ("reason", "head"),
    [
        (f"unparseable: HeaderParseError: bad header {MARKER}", "unparseable […]"),
        (f"gave up after 3 failed attempts; last error: KeyError: '{MARKER}'",
         "gave up after 3 failed attempts; last error […]"),
        (f"Jira refused creating the request (400): summary: {MARKER} is too long",
         "Jira refused creating the request (400) […]"),
        (f"webhook http://127.0.0.1:8080 refused ticket.escalated with 400: {{'echo': '{MARKER}'}}; check",
         "webhook http://127.0.0.1:8080 refused ticket.escalated with 400 […]"),
        ("empty message", "empty message"),
    ],
)  # fmt: skip
def test_a_reason_is_logged_by_its_head_without_what_it_quotes(reason: str, head: str) -> None:
    assert headline(reason) == head


def test_the_decision_line_names_the_rule_instead_of_quoting_the_header() -> None:
    hit = RuleHit("auto_responder", f"Subject: Abwesend {MARKER} (a typical auto-responder subject)",
                  RuleEffect.IGNORE)  # fmt: skip
    ignored = Decision(Action.IGNORE, hit.reason, rule_hits=(hit,))
    assert decision_line(7, "k@example.org", "ignored", None, ignored) == (
        "inbound #7 from k@example.org ignored: rule auto_responder"
    )
    silent = RuleHit("reply_address", f"Reply address {MARKER}@x is a no-reply mailbox", RuleEffect.NO_REPLY)
    escalated = Decision(Action.ESCALATE, f"would answer with a, but no automatic mail may go to the sender: "
                         f"{silent.reason}", rule_hits=(silent,))  # fmt: skip
    line = decision_line(8, "k@example.org", "escalated", "MB-1", escalated)
    assert MARKER not in line and line.endswith("to the sender: rule reply_address")


def test_a_percent_encoded_address_in_a_url_is_shortened_like_any_other() -> None:
    redacting = RedactingFilter([], addresses=True)
    line = 'HTTP Request: GET http://jira/rest/api/3/user/search?query=erika.muster%40kunde.example "200"'
    assert (
        redacting.scrub(line)
        == 'HTTP Request: GET http://jira/rest/api/3/user/search?query=e***@kunde.example "200"'
    )


def test_libraries_that_quote_mail_or_urls_say_nothing_at_the_default_level() -> None:
    cli._setup_logging("INFO")
    # mail-parser: "Failed decoding header part: <the header>" at ERROR
    assert not logging.getLogger("mailparser.utils").isEnabledFor(logging.ERROR)
    # httpx: "HTTP Request: GET <url with the customer's address>" at INFO
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)


def test_no_debug_output_unless_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """DEBUG logs the IMAP conversation (whole mails, imapclient); nothing turns it on by default."""
    monkeypatch.delenv("MAILBOT_LOG_LEVEL", raising=False)
    args = cli._parser().parse_args(["run", "--once"])
    assert args.log_level is None  # main() then uses INFO
    assert "whole mails" in " ".join(cli._parser().format_help().split())  # and --help says so


def test_a_database_error_does_not_carry_the_values_of_its_statement(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, subject TEXT)"))
        connection.execute(text("INSERT INTO t VALUES (1, 'x')"))
    with pytest.raises(IntegrityError) as caught, engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (:id, :subject)"), {"id": 1, "subject": MARKER})
    assert MARKER not in str(caught.value) and "UNIQUE" in str(caught.value)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads the open files in /proc")
def test_sqlite_keeps_no_temporary_file_of_mail_content(tmp_path: Path) -> None:
    """A statement that changes many rows of a transaction that changed others needs a statement
    journal; by default SQLite writes it to an unnamed file under /var/tmp, page images of the mail
    included. mailbot keeps it in memory (issue 13 for the cost of those files, issue 15 for the disk)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, subject TEXT UNIQUE, body TEXT)"))
    with engine.begin() as connection:
        rows = [{"subject": f"{MARKER} {i}", "body": MARKER * 200} for i in range(100)]
        connection.execute(text("INSERT INTO t (subject, body) VALUES (:subject, :body)"), rows)
        connection.execute(text("UPDATE t SET subject = subject || '!' WHERE id > 10"))
        assert not [name for name in _open_files() if "etilqs" in name]
        assert connection.execute(text("PRAGMA temp_store")).scalar() == 2  # MEMORY


def _open_files() -> list[str]:
    names = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            names.append(str(fd.readlink()))
        except OSError:  # closed meanwhile (the listing's own descriptor)
            continue
    return names


def test_the_model_card_holds_no_example_text_not_even_of_a_learned_example(tmp_path: Path) -> None:
    """The card is figures, labels and versions. (The model's vocabulary and the articles snapshot do
    hold the knowledge base's words, learned examples included: the KB is the agency's text, and a
    learned example is masked and accepted by an agent before it is written there.)"""
    root = write_kb(tmp_path / "kb")
    topic = next(iter(TOPICS))
    article = root / f"{topic}.md"
    learned = f"my {MARKER} subscription must end today"
    article.write_text(with_example(article.read_text(encoding="utf-8"), learned), encoding="utf-8")
    kb = load_knowledge_base(root)
    assert learned in next(a for a in kb.articles if a.id == topic).examples
    load_or_train(kb, settings_for(tmp_path).classifier)
    card = (tmp_path / "model" / store.CARD_FILE).read_text(encoding="utf-8")
    examples = [example for a in kb.articles for example in a.examples]
    assert MARKER not in card
    assert [example for example in examples if example in card] == []
    assert set(json.loads(card)["labels"]) >= {a.id for a in kb.articles}
