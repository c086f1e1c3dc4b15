"""The erasure's Jira jobs in the escalation queue against the JSM stand-in (issue 15): what the e2e tests
do not reach, a request raised while Jira timed out, and a deletion given up after the last attempt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.config import PrivacySettings
from mailbot.db.schema import EscalationJob, OutboxMail, Ticket
from mailbot.escalate.jira_jobs import ERASE
from mailbot.escalate.jobs import MAX_JOB_ATTEMPTS
from mailbot.privacy.jira_erase import JiraErasure, jira_erasure_plan
from tests.integration.test_escalation_jobs import T0, make_desk
from tests.servers.jsm import FakeJsm


@pytest.fixture
def jsm() -> Iterator[FakeJsm]:
    with FakeJsm() as fake:
        yield fake


def test_a_ticket_whose_request_may_exist_without_a_known_key_is_named(tmp_path: Path, jsm: FakeJsm) -> None:
    desk = make_desk(tmp_path, jsm)
    jsm.fail_next(20, 503)  # Jira down: the first ticket's request is tried, maybe created, key unknown
    tried = desk.ticket()
    desk.run()
    never = desk.ticket()  # its job never ran
    with desk.app.sessions() as session:
        tickets = session.scalars(select(Ticket).where(Ticket.id.in_([tried, never]))).all()
        plan = jira_erasure_plan(session, desk.app, tickets)
    assert plan == JiraErasure(unknown=(f"MB-{tried:06d}",))


def test_a_deletion_given_up_after_the_last_attempt_tells_the_team_once(tmp_path: Path, jsm: FakeJsm) -> None:
    desk = make_desk(tmp_path, jsm)
    ticket_id = desk.ticket()
    desk.run()
    key = desk.get(ticket_id).external_key
    assert key == "HELP-1"
    with desk.app.sessions.begin() as session:
        session.add(
            EscalationJob(
                mailbox=desk.app.mailbox, ticket_id=ticket_id, backend="jira", event=ERASE,
                dedup_key=f"erase:{key}", payload={"key": key}, state="pending",
                attempts=MAX_JOB_ATTEMPTS - 1, next_attempt_at=T0, created_at=T0,
            )
        )  # fmt: skip
    jsm.fail_next(1, 503, method="DELETE", path=f"/rest/api/3/issue/{key}")
    report = desk.run()
    assert report.failed == 1
    (job,) = [j for j in desk.jobs() if j.event == ERASE]
    assert job.state == "failed" and "503" in (job.last_error or "")
    with desk.app.sessions() as session:
        told = session.scalars(select(OutboxMail).where(OutboxMail.kind == "jira_erasure_refused")).all()
    assert [m.dedup_key for m in told] == [f"jira-erasure-refused:{job.id}"]
    assert "HELP-1" in told[0].subject and [r.key for r in jsm.requests()] == ["HELP-1"]


def test_a_request_raised_while_its_customer_was_erased_is_deleted_too(tmp_path: Path, jsm: FakeJsm) -> None:
    desk = make_desk(tmp_path, jsm)
    privacy = PrivacySettings(jira_erasure="delete")
    desk.app.settings = desk.app.settings.model_copy(update={"privacy": privacy})
    ticket_id = desk.ticket()
    with desk.app.sessions.begin() as session:  # the erasure commits while the create call is under way
        session.get_one(Ticket, ticket_id).erased_at = T0
    desk.run()  # raises the request, learns its key on an erased ticket: queues its deletion
    assert [j.event for j in desk.jobs()] == ["ticket.escalated", ERASE]
    desk.run()
    assert jsm.requests() == []
