"""App-store reviews end to end: the stores are the loopback stand-ins (tests/servers/appstore.py,
googleplay.py), the team's mail goes to aiosmtpd, Jira is its stand-in, the database is real.

Two clients: aktivo answers its iPhone app's reviews (App Store), parkfuchs its Android app's (Google Play).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from mailbot.db.schema import OutboxMail, ReviewReply, StoreReviewRow
from tests.e2e.test_clients import Installation, make_installation, shared_models
from tests.servers import DovecotServer, SmtpSink
from tests.servers.appstore import FakeAppStoreConnect
from tests.servers.googleplay import FakeGooglePlay
from tests.servers.jsm import FakeJsm

pytestmark = pytest.mark.servers
APPLE_APP = "1234567890"
PACKAGE = "de.parkfuchs.app"
KEY_ID = "KEY1234567"
ISSUER = "69a6de70-03db-47e3-e053-5b8c7c11a4d1"
CRASH_TITLE = "Stürzt ständig ab"
CRASH = "Seit dem Update stürzt die App beim Start sofort ab. Ich komme nicht mehr an meine Trainingspläne."


@dataclass
class Stores:
    installation: Installation
    apple: FakeAppStoreConnect
    google: FakeGooglePlay
    jsm: FakeJsm

    def cli(self, capsys: pytest.CaptureFixture[str], *args: str, expect: int = 0) -> str:
        return self.installation.cli(capsys, *args, expect=expect)[0]

    def reviews(self) -> list[StoreReviewRow]:
        return self.installation.rows(StoreReviewRow)

    def replies(self) -> list[ReviewReply]:
        return self.installation.rows(ReviewReply)

    def apple_posts(self) -> list[object]:
        return self.apple.calls("POST", "/v1/customerReviewResponses")


def apple_client(apple: FakeAppStoreConnect, keys: Path, jsm: FakeJsm) -> str:
    pem = apple.new_key(KEY_ID, issuer_id=ISSUER)
    key = keys / "AuthKey.p8"
    key.write_text(pem, encoding="utf-8")
    key.chmod(0o600)
    return f"""
[team]
address = "team@aktivo.example"

[jira]
base_url = "{jsm.base_url}"
user = "{jsm.user}"
service_desk_id = "{jsm.service_desk_id}"
request_type_id = "{jsm.request_type_id}"

[reviews]
timeout_seconds = 3  # the stand-ins hold a hung answer for 10 s
support_link = "https://aktivo.example/hilfe"
sign_off = {{ de = "Ihr Aktivo-Team", en = "Your Aktivo team" }}

[[reviews.apps]]
store = "apple"
app_id = "{APPLE_APP}"
name = "Aktivo"
key_id = "{KEY_ID}"
issuer_id = "{ISSUER}"
private_key_path = "{key}"
api_url = "{apple.base_url}"
"""


def google_client(google: FakeGooglePlay, keys: Path, auto: str = "[]") -> str:
    key = google.new_service_account(keys, packages=(PACKAGE,))
    return f"""
[team]
address = "team@parkfuchs.example"

[reviews]
timeout_seconds = 3
auto = {auto}
sign_off = {{ de = "Ihr Parkfuchs-Team", en = "Your Parkfuchs team" }}

[[reviews.apps]]
store = "google"
package = "{PACKAGE}"
name = "Parkfuchs"
service_account_path = "{key}"
api_url = "{google.base_url}"
"""


@contextmanager
def running_stores(
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    models: Path,
    monkeypatch: pytest.MonkeyPatch,
    google_extra: str = "[]",
) -> Iterator[Stores]:
    """aktivo (App Store, Jira) and parkfuchs (Google Play, `auto = <google_extra>`) on the stand-ins."""
    with FakeAppStoreConnect() as apple, FakeGooglePlay() as google, FakeJsm() as jsm:
        monkeypatch.setenv("MAILBOT_JIRA_TOKEN", jsm.token)
        installation = make_installation(tmp_path / "install", dovecot, smtp_sink, model_dir=models)
        keys = tmp_path / "keys"
        keys.mkdir()
        installation.add("aktivo", "AK", apple_client(apple, keys, jsm))
        installation.add("parkfuchs", "PF", google_client(google, keys, auto=google_extra))
        yield Stores(installation, apple, google, jsm)


@pytest.fixture
def stores(
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Stores]:
    with running_stores(tmp_path, dovecot, smtp_sink, shared_models(tmp_path_factory), monkeypatch) as built:
        yield built


def test_a_german_one_star_crash_review_becomes_a_ticket_and_its_approved_reply_is_posted_once(
    stores, capsys
):
    review_id = stores.apple.add_review(
        APPLE_APP, rating=1, title=CRASH_TITLE, body=CRASH, nickname="Kim1984", territory="DEU"
    )
    stores.installation.run_once()

    (ticket,) = stores.installation.tickets("aktivo")
    assert ticket.state == "escalated" and ticket.severity in ("critical", "major")
    assert ticket.customer.endswith("@reviews.invalid") and ticket.response_due_at is not None
    (notice,) = [
        m for m in stores.installation.sent(to="team@aktivo.example") if ticket.reference in m["Subject"]
    ]
    text = notice.get_body(("plain",)).get_content()
    assert "App-Store-Bewertung ★1" in notice["Subject"] and "stürzt die App" in text
    # the German team reads why in German: the reason and the severity's reasons (English before)
    assert "Grund:      meldet einen Fehler (" in text and "reports" not in text and "signal:" not in text
    (request,) = stores.jsm.requests()
    assert "stürzt die App beim Start" in request.fields["description"]
    assert stores.installation.rows(OutboxMail) and not [
        row for row in stores.installation.rows(OutboxMail) if row.recipient.endswith(".invalid")
    ]
    (review,) = stores.reviews()
    assert (review.review_id, review.action, review.language, review.ticket_id) == (
        review_id,
        "ticket",
        "de",
        ticket.id,
    )
    (draft,) = stores.replies()
    assert draft.state == "draft" and draft.kind == "passed_on" and not stores.apple_posts()
    assert f"R{review.id}" in stores.cli(capsys, "reviews", "list", "--client", "aktivo")

    stores.cli(capsys, "reviews", "approve", f"R{review.id}", "--client", "aktivo", "--by", "Jana")
    stores.installation.run_once()
    stores.installation.run_once()
    assert len(stores.apple_posts()) == 1
    response = stores.apple.response_of(review_id)
    assert response is not None and response.body == draft.text and response.state == "PENDING_PUBLISH"
    assert "Kim1984" not in draft.text

    stores.apple.publish_pending()
    stores.cli(capsys, "reviews", "run", "--client", "aktivo")
    assert stores.replies()[0].public_state == "published"

    stores.cli(
        capsys, "tickets", "resolve", ticket.reference, "-m", "Behoben in Version 2.3.1", "--client", "aktivo"
    )
    stores.installation.run_once()
    fixed = stores.replies()[-1]
    assert fixed.kind == "fixed" and fixed.state == "draft" and "2.3.1" in fixed.text
    stores.cli(capsys, "reviews", "approve", f"R{review.id}", "--client", "aktivo")
    stores.installation.run_once()
    assert len(stores.apple_posts()) == 2
    replaced = stores.apple.response_of(review_id)
    assert replaced is not None and replaced.id == response.id and "2.3.1" in replaced.body
    assert not [row for row in stores.installation.rows(OutboxMail) if row.recipient.endswith(".invalid")]


def test_450_apple_reviews_take_three_page_calls_and_a_second_poll_stores_nothing(stores, capsys):
    for n in range(450):
        stores.apple.add_review(
            APPLE_APP, rating=5, title="", body=f"Super App, danke! ({n})", nickname=f"n{n}"
        )
    stores.cli(capsys, "reviews", "run", "--client", "aktivo")
    lists = stores.apple.calls("GET", f"/v1/apps/{APPLE_APP}/customerReviews")
    assert len(lists) == 3 and len(stores.reviews()) == 450
    stores.cli(capsys, "reviews", "run", "--client", "aktivo")
    assert len(stores.apple.calls("GET", f"/v1/apps/{APPLE_APP}/customerReviews")) == 4
    assert len(stores.reviews()) == 450
    stores.apple.add_review(APPLE_APP, rating=4, body="Läuft super, danke für die neue Version")
    stores.cli(capsys, "reviews", "run", "--client", "aktivo")
    assert (
        len(stores.reviews()) == 451
        and len(stores.apple.calls("GET", f"/v1/apps/{APPLE_APP}/customerReviews")) == 5
    )
    assert not stores.apple_posts()  # approval is the default: 451 drafts wait for a person


def test_a_timeout_after_the_post_does_not_produce_a_second_reply(stores, capsys):
    review_id = stores.apple.add_review(
        APPLE_APP, rating=5, body="Die beste Fitness-App, die ich kenne. Danke!"
    )
    stores.cli(capsys, "reviews", "run", "--client", "aktivo")
    (review,) = stores.reviews()
    stores.cli(capsys, "reviews", "approve", f"R{review.id}", "--client", "aktivo")
    stores.apple.hang_next("/v1/customerReviewResponses")
    out = stores.cli(capsys, "reviews", "run", "--client", "aktivo", expect=1)
    assert "not posted yet: 1" in out and "outcome is unknown" in out
    (reply,) = stores.replies()
    assert reply.state == "unknown" and stores.apple.response_of(review_id) is not None
    stores.cli(capsys, "reviews", "run", "--client", "aktivo", "--now", _later(hours=1))
    (reply,) = stores.replies()
    assert reply.state == "posted" and len(stores.apple_posts()) == 1
    assert stores.apple.calls("GET", f"/v1/customerReviews/{review_id}/response")


def test_a_review_of_one_client_never_reaches_another(stores, capsys):
    stores.apple.add_review(APPLE_APP, rating=1, title=CRASH_TITLE, body=CRASH)
    stores.google.add_review(PACKAGE, "Top\tFindet immer einen Parkplatz, super!", 5)
    stores.installation.run_once()
    by_client = {r.mailbox: r for r in stores.reviews()}
    assert by_client["aktivo"].store == "apple" and by_client["parkfuchs"].store == "google"
    assert [t.mailbox for t in stores.installation.tickets()] == ["aktivo"]
    assert "Parkplatz" not in stores.cli(capsys, "reviews", "list", "--state", "all", "--client", "aktivo")
    assert "stürzt" not in stores.cli(capsys, "reviews", "list", "--state", "all", "--client", "parkfuchs")
    google_draft = next(r for r in stores.replies() if r.review_pk == by_client["parkfuchs"].id)
    assert "Aktivo" not in google_draft.text and "Parkfuchs" in google_draft.text
    for message in stores.installation.sent(to="team@parkfuchs.example"):
        assert "stürzt" not in message.as_string()


def test_a_google_reply_longer_than_the_limit_is_never_sent(stores, capsys):
    stores.google.add_review(PACKAGE, "\tWie finde ich meinen Parkschein wieder?", 4)
    stores.cli(capsys, "reviews", "run", "--client", "parkfuchs")
    (review,) = stores.reviews()
    long_text = "Vielen Dank für Ihre Frage. " + "Sie finden alle Parkscheine unter Verlauf. " * 8
    assert len(long_text) > 350
    stores.cli(
        capsys, "reviews", "edit", f"R{review.id}", "--text", long_text, "--client", "parkfuchs", expect=1
    )
    _out, err = stores.installation.cli(
        capsys, "reviews", "approve", f"R{review.id}", "--client", "parkfuchs", expect=1
    )
    assert "350" in err
    stores.cli(capsys, "reviews", "run", "--client", "parkfuchs")
    assert not stores.google.api_calls("POST")


def test_quota_exhaustion_waits_and_resumes_without_loss(stores, capsys):
    for n in range(30):
        stores.apple.add_review(APPLE_APP, rating=5, body=f"Klasse App, nutze sie täglich ({n})")
    stores.apple.set_quota(3500, 0)
    out = stores.cli(capsys, "reviews", "run", "--client", "aktivo", expect=1)
    assert "quota" in out.lower() or "rate" in out.lower()
    assert stores.reviews() == []
    stores.apple.set_quota(3500, 3500)
    stores.cli(capsys, "reviews", "run", "--client", "aktivo", "--now", _later(hours=2))
    assert len(stores.reviews()) == 30


def _later(*, hours: float) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat(timespec="seconds")
