"""Issue 11 over real Dovecot + aiosmtpd + the JSM stand-in, on SQLite and PostgreSQL: Jira comments
of an incident reach only their own customer, a customer's own words never come back, and only the
parent solves the incident.

Alice, Bob and Carol report one crash: one incident (Alice's ticket the parent), three requests.
Bob's profile hides his e-mail address; his own public comment (an IBAN and his birth date) once
went to Alice as her "solved" text when his request was closed, and solved her ticket.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import TEAM, Bot, text_of, write_config
from tests.e2e.test_jira_mirror import jira_section
from tests.e2e.test_second_level import HOURS, OUTAGE, SLA, report_outage
from tests.servers import DovecotServer, SmtpSink
from tests.servers.jsm import FakeJsm

pytestmark = pytest.mark.servers
ALICE, BOB, CAROL = "alice@kunde.example", "bob@firma.example", "carol@laden.example"
BOBS_SECRETS = "Meine IBAN ist DE89 3704 0044 0532 0130 00, geboren am 01.02.1980."
REPORTS = {
    ALICE: OUTAGE,
    BOB: "Hallo, seit dem Update stürzt die App bei allen sofort beim Start ab, keiner kann buchen.",
    CAROL: "Since today's update the app crashes for all users right at start, nobody can book anything.",
}


@pytest.fixture
def incident(
    tmp_path: Path,
    dovecot: DovecotServer,
    imap_user: str,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
) -> Iterator[tuple[Bot, FakeJsm, dict[str, str]]]:
    with FakeJsm() as jsm:
        monkeypatch.setenv("MAILBOT_JIRA_TOKEN", jsm.token)
        bob = jsm.add_customer(BOB, "Bob Beispiel", email_visible=False)
        config = write_config(tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, hours=HOURS,
                              extra=SLA + jira_section(jsm), database_url=database_url)  # fmt: skip
        bot = Bot(dovecot, imap_user, smtp_sink, config)
        for customer, body in REPORTS.items():
            report_outage(bot, customer, "2026-05-26T09:00+02:00", body=body)
        bot.run_once("--now", "2026-05-26T09:05+02:00")
        parent, *children = bot.tickets()
        assert [t.customer for t in (parent, *children)] == [ALICE, BOB, CAROL]
        assert [c.parent_id for c in children] == [parent.id, parent.id]
        keys = {t.customer: t.external_key or "" for t in bot.tickets()}
        assert jsm.request(keys[BOB]).reporter == bob  # raised on behalf of Bob, found by his hidden address
        yield bot, jsm, keys | {"bob_account": bob}


def states(bot: Bot) -> dict[str, str]:
    return {t.customer: t.state for t in bot.tickets()}


def everything_sent(bot: Bot) -> str:
    return "\n".join(m.data.decode("utf-8", "replace") for m in bot.sink.messages)


def test_a_childs_request_done_solves_only_that_child_and_never_echoes_the_customers_words(
    incident: tuple[Bot, FakeJsm, dict[str, str]],
) -> None:
    bot, jsm, keys = incident
    acknowledged = {c: len(bot.sent_to(c)) for c in REPORTS}
    jsm.add_comment(keys[BOB], BOBS_SECRETS, by=keys["bob_account"])  # Bob writes in the portal
    jsm.set_status(keys[BOB], "Resolved", "DONE")

    bot.run_once("--now", "2026-05-26T10:00+02:00")

    assert states(bot) == {ALICE: "escalated", BOB: "solved", CAROL: "escalated"}
    assert len(bot.sent_to(ALICE)) == acknowledged[ALICE] and len(bot.sent_to(CAROL)) == acknowledged[CAROL]
    (solved,) = bot.sent_to(BOB)[acknowledged[BOB] :]
    assert "gelöst" in text_of(solved)
    assert "DE89" not in everything_sent(bot)  # Bob's own words went to nobody, Bob included
    assert not any("DE89" in text_of(m) for m in bot.sent_to(TEAM))


def test_the_parents_request_done_solves_the_incident_and_its_comment_reaches_only_the_parents_customer(
    incident: tuple[Bot, FakeJsm, dict[str, str]],
) -> None:
    bot, jsm, keys = incident
    acknowledged = {c: len(bot.sent_to(c)) for c in REPORTS}
    jsm.add_comment(keys[CAROL], "Dear Carol, which phone do you use?")
    bot.run_once("--now", "2026-05-26T09:30+02:00")
    (question,) = bot.sent_to(CAROL)[acknowledged[CAROL] :]
    assert "which phone do you use" in text_of(question)
    assert len(bot.sent_to(ALICE)) == acknowledged[ALICE] and len(bot.sent_to(BOB)) == acknowledged[BOB]

    jsm.add_comment(keys[ALICE], "Hallo Frau Alice, Version 2.3.1 behebt den Absturz auf Ihrem Tablet.")
    jsm.set_status(keys[ALICE], "Resolved", "DONE")
    bot.run_once("--now", "2026-05-26T10:00+02:00")
    bot.run_once("--now", "2026-05-26T10:05+02:00")  # nothing twice

    assert set(states(bot).values()) == {"solved"}
    (alice,) = bot.sent_to(ALICE)[acknowledged[ALICE] :]
    assert "Version 2.3.1 behebt den Absturz auf Ihrem Tablet" in text_of(alice)
    for customer in (BOB, CAROL):  # told that it is solved, not Alice's words
        solved = bot.sent_to(customer)[-1]
        assert len(bot.sent_to(customer)) == acknowledged[customer] + (2 if customer == CAROL else 1)
        assert "Frau Alice" not in text_of(solved) and "Tablet" not in text_of(solved)
        assert "gelöst" in text_of(solved) or "solved" in text_of(solved)
