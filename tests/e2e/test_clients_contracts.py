"""Three clients on one Dovecot, one database, one SMTP sink and one Jira stand-in each: each has its
own business hours, holiday region and SLA, and every mail, due time and Jira request is its own.

The fixed clock is Tuesday 6 January 2026, Epiphany: a public holiday in Bavaria (aktivo, closed),
a working day in Berlin (parkfuchs) and in North Rhine-Westphalia (kuechenchef). The due times below
are worked out by hand from each contract, not by mailbot's SLA code.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import make_mail, text_of
from tests.e2e.test_clients import Installation, make_installation, shared_models
from tests.e2e.test_second_level import OUTAGE
from tests.servers import DovecotServer, SmtpSink
from tests.servers.jsm import FakeJsm

pytestmark = pytest.mark.servers
BERLIN = ZoneInfo("Europe/Berlin")
CUSTOMER = "erika@kunde.example"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")

# slug: (prefix, Jira project, desk id, holiday region, opening hours, critical response hours)
CONTRACTS = {
    "aktivo": ("AK", "AKT", "11", "BY", '["08:00-17:00"]', 2),
    "parkfuchs": ("PF", "PARK", "12", "BE", '["09:00-18:00"]', 4),
    "kuechenchef": ("KC", "KUE", "13", "NW", '["08:00-10:00", "12:00-16:00"]', 3),
}


def client_toml(slug: str, jsm: FakeJsm) -> str:
    _prefix, _project, _desk, region, hours, response = CONTRACTS[slug]
    days = "\n".join(f"{day} = {hours}" for day in WEEKDAYS)
    return f"""
[team]
address = "team@{slug}.example"

[business_hours]
timezone = "Europe/Berlin"
{days}
holidays = {{ country = "DE", subdivision = "{region}" }}

[sla.critical]
response_hours = {response}
resolution_hours = {response * 4}

[jira]
base_url = "{jsm.base_url}"
user = "{jsm.user}"
service_desk_id = "{jsm.service_desk_id}"
request_type_id = "{jsm.request_type_id}"
"""


@pytest.fixture
def fleet(
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Installation, dict[str, FakeJsm]]]:
    desks: dict[str, FakeJsm] = {}
    try:
        for slug, (_prefix, project, desk, *_rest) in CONTRACTS.items():
            desks[slug] = FakeJsm(project_key=project, service_desk_id=desk)
            desks[slug].start()
        monkeypatch.setenv("MAILBOT_JIRA_TOKEN", desks["aktivo"].token)  # one Atlassian account, one token
        installation = make_installation(
            tmp_path, dovecot, smtp_sink, model_dir=shared_models(tmp_path_factory), defaults=""
        )
        for slug, (prefix, *_rest) in CONTRACTS.items():
            installation.add(slug, prefix, client_toml(slug, desks[slug]))
        yield installation, desks
    finally:
        for jsm in desks.values():
            jsm.stop()


def outage(slug: str) -> bytes:
    return make_mail(
        CUSTOMER, f"App stürzt ab ({slug})", OUTAGE, name="Erika Muster", to=f"support@{slug}.example"
    )


def acknowledgement(installation: Installation, slug: str) -> EmailMessage:
    (ack,) = installation.sent(to=CUSTOMER, sender=f"support@{slug}.example")
    return ack


def assert_acknowledged(installation: Installation, slug: str, due: datetime, due_words: str) -> None:
    """The client's own reference, sender, signature and due time; its ticket due at `due`."""
    prefix = CONTRACTS[slug][0]
    (ticket,) = installation.tickets(slug)
    assert ticket.severity == "critical" and ticket.state == "escalated"
    assert ticket.reference == f"{prefix}-000001"
    assert ticket.response_due_at.astimezone(BERLIN) == due
    ack = acknowledgement(installation, slug)
    assert f"[{prefix}-000001]" in ack["Subject"]
    assert ack["From"].addresses[0].addr_spec == f"support@{slug}.example"
    assert ack["From"].addresses[0].display_name == f"{slug.capitalize()} Support"
    text = text_of(ack.as_bytes())
    assert f"Mit freundlichen Grüßen\n{slug.capitalize()} Support" in text
    assert f"spätestens bis {due_words}" in text
    for other in (s for s in CONTRACTS if s != slug):  # nothing of the other clients in this client's mail
        for trace in (f"{other.capitalize()} Support", f"{other}.example", f"{CONTRACTS[other][0]}-"):
            assert trace not in text and trace not in str(ack["Subject"])
    (notice,) = installation.sent(to=f"team@{slug}.example")
    assert ticket.reference in notice["Subject"]


def test_three_contracts_three_due_times_and_each_escalation_in_its_own_jira_project(fleet) -> None:
    installation, desks = fleet
    for slug in CONTRACTS:
        installation.arrives(slug, outage(slug), "2026-01-06T09:00+01:00")
    installation.run_once("--now", "2026-01-06T09:05+01:00")

    # Berlin, open 09:00-18:00, 4 business hours from 09:00: 13:00 the same day
    assert_acknowledged(
        installation,
        "parkfuchs",
        datetime(2026, 1, 6, 13, 0, tzinfo=BERLIN),
        "Dienstag, 6. Januar 2026, 13:00 Uhr",
    )
    # NRW, open 08:00-10:00 and 12:00-16:00, 3 hours from 09:00: 1 h until 10:00, 2 h from 12:00: 14:00
    assert_acknowledged(
        installation,
        "kuechenchef",
        datetime(2026, 1, 6, 14, 0, tzinfo=BERLIN),
        "Dienstag, 6. Januar 2026, 14:00 Uhr",
    )
    # Bavaria keeps Epiphany: the mail waits, untouched, for Wednesday's opening
    assert installation.tickets("aktivo") == []
    assert installation.sent(sender="support@aktivo.example") == []
    assert installation.sent(to="team@aktivo.example") == []

    assert desks["aktivo"].requests() == []
    for slug in ("parkfuchs", "kuechenchef"):
        (request,) = desks[slug].requests()
        (ticket,) = installation.tickets(slug)
        assert ticket.external_key == request.key == f"{CONTRACTS[slug][1]}-1"
        assert f"({slug})" in request.fields["summary"]

    installation.run_once("--now", "2026-01-07T08:05+01:00")
    # Bavaria opens Wednesday 08:00; nothing of the holiday counts: 2 hours, 10:00
    assert_acknowledged(
        installation,
        "aktivo",
        datetime(2026, 1, 7, 10, 0, tzinfo=BERLIN),
        "Mittwoch, 7. Januar 2026, 10:00 Uhr",
    )
    for slug, jsm in desks.items():  # each escalation in its own project, and only there
        (request,) = jsm.requests()
        (ticket,) = installation.tickets(slug)
        assert ticket.external_key == request.key and f"({slug})" in request.fields["summary"]
        assert len(jsm.calls("POST", "/request")) == 1
    assert len(installation.sent(to=CUSTOMER)) == 3

    # parkfuchs and kuechenchef were due yesterday: each team is told about its own ticket only
    for slug in ("parkfuchs", "kuechenchef"):
        alerts = [m for m in installation.sent(to=f"team@{slug}.example") if "SLA" in m["Subject"]]
        assert len(alerts) == 1
        text = text_of(alerts[0].as_bytes())
        assert f"{CONTRACTS[slug][0]}-000001" in text
        assert all(f"{CONTRACTS[other][0]}-" not in text for other in CONTRACTS if other != slug)
    assert not [m for m in installation.sent(to="team@aktivo.example") if "SLA" in m["Subject"]]
