"""Outside business hours: what may be decided at once (mailbot.pipeline.deferral), when the on-call
person is alerted (mailbot.tickets.oncall), the settings behind both, and the alert mail itself."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.config import ONCALL_EVENT, OncallSettings, load_settings
from mailbot.domain import Action, Language, Severity
from mailbot.errors import ConfigError
from mailbot.paths import SHIPPED_TEMPLATES
from mailbot.pipeline.deferral import OutsideHours, decide_now
from mailbot.reply.render import TemplateRenderer
from mailbot.tickets.oncall import needs_alert

NOTHING = OutsideHours(answers=False, urgent=frozenset())
ANSWERS = OutsideHours(answers=True, urgent=frozenset())
CRITICAL = OutsideHours(answers=False, urgent=frozenset({Severity.CRITICAL}))


@pytest.mark.parametrize(
    ("action", "severity", "policy", "now"),
    [
        (Action.ANSWER, None, ANSWERS, True),
        (Action.ANSWER, None, NOTHING, False),
        (Action.ANSWER, None, CRITICAL, False),  # urgent faults do not open the door for answers
        (Action.ESCALATE, Severity.CRITICAL, CRITICAL, True),
        (Action.ESCALATE, Severity.CRITICAL, ANSWERS, False),  # answers do not open it for escalations
        (Action.ESCALATE, Severity.MAJOR, CRITICAL, False),
        (Action.ESCALATE, None, CRITICAL, False),  # a question that escalates waits
        (Action.FOLLOW_UP, None, CRITICAL, False),
        (Action.IGNORE, None, ANSWERS, False),
        (None, None, ANSWERS, False),  # unreadable: quarantined at the opening
    ],
)
def test_what_may_be_decided_outside_hours(action, severity, policy, now):
    verdict = decide_now(action, severity, policy)
    assert verdict.now is now
    assert verdict.reason  # every verdict says why, for the log


@given(
    action=st.sampled_from([*Action, None]),
    severity=st.sampled_from([*Severity, None]),
    answers=st.booleans(),
    urgent=st.frozensets(st.sampled_from(Severity)),
)
def test_property_only_confident_answers_and_urgent_faults_go_ahead(action, severity, answers, urgent):
    policy = OutsideHours(answers, urgent)
    expected = (
        (action is Action.ANSWER and answers)
        or (action is Action.ESCALATE and severity in urgent)
        or (action in (Action.AGENT_ANSWER, Action.REFUSE) and policy.takes_mail)  # a person's reply
    )
    assert decide_now(action, severity, policy).now is expected
    if not policy.takes_mail:  # then nothing at all is decided while closed
        assert not decide_now(action, severity, policy).now


MINIMAL = """
[support]
address = "support@example.com"
[team]
address = "team@example.com"
[maildir]
path = "Maildir"
[smtp]
host = "127.0.0.1"
security = "none"
"""


def settings_from(tmp_path: Path, extra: str):
    path = tmp_path / "mailbot.toml"
    path.write_text(MINIMAL + extra, encoding="utf-8")
    return load_settings(path, env={})


def test_defaults_decide_nothing_outside_hours(tmp_path):
    settings = settings_from(tmp_path, "")
    assert settings.business_hours.answer_outside_hours is False
    assert settings.oncall is None
    assert OutsideHours.from_settings(settings) == NOTHING and not NOTHING.takes_mail


def test_urgent_classes_are_the_24_7_classes_and_the_on_call_classes(tmp_path):
    settings = settings_from(
        tmp_path,
        """
[business_hours]
monday = ["08:00-17:00"]
answer_outside_hours = true
[sla.major]
calendar = "24/7"
[oncall]
address = "Oncall@Agency.example"
""",
    )
    policy = OutsideHours.from_settings(settings)
    assert policy == OutsideHours(True, frozenset({Severity.MAJOR, Severity.CRITICAL}))
    assert settings.sla.major.response_hours == 8  # `calendar` alone keeps the class's standard hours
    assert settings.oncall is not None and settings.oncall.address == "oncall@agency.example"
    assert settings.oncall.severities == [Severity.CRITICAL]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('[sla.critical]\ncalendar = "weekdays"\n', r"\[sla\] critical.calendar: .*'business' or '24/7'"),
        ("[sla.critical]\nresponse_hours = 1\n", r"\[sla\] critical.resolution_hours: required key"),
        ("[oncall]\n", r"\[oncall\] alerts nobody: set \[oncall\] address"),
        ('[oncall]\naddress = "oncall"\n', r"\[oncall\] address: 'oncall' is not an e-mail address"),
        ('[oncall]\naddress = "a@b.example"\nseverities = []\n', r"\[oncall\] severities"),
        ('[oncall]\naddress = "a@b.example"\nseverities = ["urgent"]\n', r"\[oncall\] severities\.0"),
    ],
)
def test_mistakes_name_the_key(tmp_path, extra, expected):
    with pytest.raises(ConfigError, match=expected):
        settings_from(tmp_path, extra)


def test_on_call_by_webhook_alone_needs_the_event_subscribed(tmp_path):
    webhook = '[webhook]\nurl = "https://hooks.example.com/x"\nevents = ["ticket.escalated", "%s"]\n'
    settings = settings_from(tmp_path, "[oncall]\n" + webhook % ONCALL_EVENT)
    assert settings.oncall is not None and settings.oncall.address is None
    with pytest.raises(ConfigError, match="alerts nobody"):
        settings_from(tmp_path, "[oncall]\n" + webhook % "ticket.solved")


ONCALL = OncallSettings(address="oncall@agency.example")
MAJOR_TOO = OncallSettings(address="oncall@agency.example", severities=[Severity.CRITICAL, Severity.MAJOR])


@pytest.mark.parametrize(
    ("severity", "grouped", "is_open", "oncall", "alert"),
    [
        ("critical", False, False, ONCALL, True),
        ("critical", False, True, ONCALL, False),  # during business hours the team notice suffices
        ("critical", True, False, ONCALL, False),  # the incident's first report woke someone already
        ("major", False, False, ONCALL, False),
        (None, False, False, ONCALL, False),
        ("critical", False, False, None, False),
        ("major", False, False, MAJOR_TOO, True),
    ],
)
def test_when_the_on_call_person_is_alerted(severity, grouped, is_open, oncall, alert):
    assert needs_alert(severity, grouped, is_open, oncall) is alert


@pytest.mark.parametrize("language", list(Language))
def test_the_alert_mail_names_ticket_class_due_time_and_the_customers_words(language):
    due = datetime(2026, 4, 2, 20, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    context = {
        "reference": "MB-000007",
        "subject": "App <b>stürzt</b> ab",
        "customer": "erika@kunde.example",
        "severity": "critical",
        "response_due": due,
        "body_excerpt": "Seit 18 Uhr geht <script>nichts</script> mehr.",
    }
    out = TemplateRenderer(SHIPPED_TEMPLATES).render("oncall_alert", language, context)
    day = "Donnerstag, 2. April 2026, 20:30" if language is Language.DE else "Thursday, 2 April 2026"
    assert out.subject.startswith("[MB-000007] ") and day in out.subject
    assert ("kritisch" if language is Language.DE else "critical") in out.subject.lower()
    assert day in out.text and "erika@kunde.example" in out.text and "> Seit 18 Uhr" in out.text
    assert "<script>" not in out.html and "&lt;script&gt;" in out.html  # customer text stays text
