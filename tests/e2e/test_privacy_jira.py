"""`mailbot privacy erase` and the person's Jira requests (issue 15), over real Dovecot + aiosmtpd + the JSM
stand-in: with `[privacy] jira_erasure = "delete"` the escalation job deletes the request (also after an
outage, once), a refusal fails the job with the steps and tells the team once; "list" deletes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.cli import main
from mailbot.db.schema import EscalationJob
from mailbot.escalate.jira_jobs import ERASE
from tests.e2e.conftest import TEAM, Bot, parse, text_of
from tests.e2e.test_jira_mirror import jira_section
from tests.e2e.test_second_level import CUSTOMER, make_bot, report_outage
from tests.servers import DovecotServer, SmtpSink
from tests.servers.jsm import FakeJsm

pytestmark = pytest.mark.servers
DELETE = "/rest/api/3/issue/HELP-1"
MakeBot = Callable[..., tuple[Bot, FakeJsm]]


@pytest.fixture
def escalated(
    tmp_path: Path,
    dovecot: DovecotServer,
    imap_user: str,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[MakeBot]:
    """A bot whose customer's outage was mirrored to Jira as HELP-1, with `[privacy] jira_erasure = mode`."""
    with FakeJsm() as default:
        servers = [default]

        def make(mode: str, **jsm_options: bool) -> tuple[Bot, FakeJsm]:
            jsm = FakeJsm(**jsm_options).__enter__() if jsm_options else default
            if jsm is not default:
                servers.append(jsm)
            monkeypatch.setenv("MAILBOT_JIRA_TOKEN", jsm.token)
            privacy = f'\n[privacy]\njira_erasure = "{mode}"\n'
            bot = make_bot(tmp_path, dovecot, imap_user, smtp_sink, extra=jira_section(jsm) + privacy)
            report_outage(bot, CUSTOMER, "2026-05-26T09:00+02:00")
            bot.run_once("--now", "2026-05-26T09:01+02:00")
            (ticket,) = bot.tickets()
            assert ticket.external_key == "HELP-1" and [r.key for r in jsm.requests()] == ["HELP-1"]
            return bot, jsm

        yield make
        for extra in servers[1:]:
            extra.__exit__(None, None, None)


def erase(bot: Bot, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    capsys.readouterr()
    config = ["--config", str(bot.config)]
    assert (
        main(["privacy", "erase", *config, "--address", CUSTOMER, "--now", "2026-05-26T09:03+02:00", *extra])
        == 0
    )
    return capsys.readouterr().out


def erase_jobs(bot: Bot) -> list[EscalationJob]:
    with bot.db() as session:
        return list(session.scalars(select(EscalationJob).where(EscalationJob.event == ERASE)))


def refusals(bot: Bot) -> list[bytes]:
    return [m for m in bot.sent_to(TEAM) if "HELP-1 nicht gelöscht" in parse(m)["Subject"]]


def test_the_escalated_request_is_deleted_when_the_erasure_job_runs(
    escalated: MakeBot, capsys: pytest.CaptureFixture[str]
) -> None:
    bot, jsm = escalated("delete")
    said = erase(bot, capsys, "--dry-run")
    assert "would be queued for deletion (with their subtasks): HELP-1" in said and erase_jobs(bot) == []

    said = erase(bot, capsys)
    assert "Jira requests queued for deletion (with their subtasks): HELP-1" in said
    (job,) = erase_jobs(bot)
    assert job.payload == {"key": "HELP-1"} and job.dedup_key == "erase:HELP-1" and job.state == "pending"
    assert jsm.calls("DELETE", DELETE) == []  # nothing is called inside the erasure's transaction

    bot.run_once("--now", "2026-05-26T09:05+02:00")
    assert jsm.requests() == []  # the stand-in no longer has it
    (call,) = jsm.calls("DELETE", DELETE)
    assert call.query == {"deleteSubtasks": ["true"]}
    (job,) = erase_jobs(bot)
    assert job.state == "done" and job.last_error is None
    bot.run_once("--now", "2026-05-26T10:05+02:00")
    assert len(jsm.calls("DELETE", DELETE)) == 1 and refusals(bot) == []


def test_without_delete_permission_the_job_fails_with_the_steps_and_the_team_is_told_once(
    escalated: MakeBot, capsys: pytest.CaptureFixture[str]
) -> None:
    bot, jsm = escalated("delete", delete_issues=False)
    erase(bot, capsys)
    bot.run_once("--now", "2026-05-26T09:05+02:00", expect=1)  # a failed job is an error of the pass
    bot.run_once("--now", "2026-05-26T12:05+02:00")  # and is never tried again

    assert [r.key for r in jsm.requests()] == ["HELP-1"] and len(jsm.calls("DELETE", DELETE)) == 1
    (job,) = erase_jobs(bot)
    assert job.state == "failed" and job.last_error is not None
    assert "'Delete issues'" in job.last_error and "erase it by hand: open HELP-1 in Jira" in job.last_error
    (told,) = refusals(bot)
    text = text_of(told)
    assert "Vorgänge löschen" in text and "MB-000001" in parse(told)["Subject"]
    status = bot.status(capsys)
    assert any("HELP-1" in str(item) for item in status["failed"])
    for trace in (CUSTOMER, "Erika", "Muster"):  # no customer data in the error or in the team's mail
        assert trace not in job.last_error and trace not in text, trace


def test_an_outage_is_retried_later_and_the_request_deleted_once(
    escalated: MakeBot, capsys: pytest.CaptureFixture[str]
) -> None:
    bot, jsm = escalated("delete")
    erase(bot, capsys)
    jsm.fail_next(2, 503, method="DELETE", path=DELETE)

    bot.run_once("--now", "2026-05-26T09:05+02:00")
    (job,) = erase_jobs(bot)
    assert job.state == "pending" and job.attempts == 1 and "503" in (job.last_error or "")
    assert [r.key for r in jsm.requests()] == ["HELP-1"]
    bot.run_once("--now", "2026-05-26T11:00+02:00")
    bot.run_once("--now", "2026-05-26T13:00+02:00")
    bot.run_once("--now", "2026-05-26T15:00+02:00")

    assert jsm.requests() == [] and len(jsm.calls("DELETE", DELETE)) == 3
    (job,) = erase_jobs(bot)
    assert job.state == "done" and refusals(bot) == []


def test_list_deletes_nothing_and_prints_the_steps(
    escalated: MakeBot, capsys: pytest.CaptureFixture[str]
) -> None:
    bot, jsm = escalated("list")
    said = erase(bot, capsys)
    assert "Jira requests that still hold the person's data: HELP-1; erase them in Jira" in said
    assert '[privacy] jira_erasure = "list"' in said and "delete it" in said
    bot.run_once("--now", "2026-05-26T09:05+02:00")
    assert erase_jobs(bot) == [] and jsm.calls("DELETE", DELETE) == []
    assert [r.key for r in jsm.requests()] == ["HELP-1"]
