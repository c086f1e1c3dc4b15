"""App-store reviews: automatic posting within its cap, edits after an answer, the team's mails, and no
secret in any log line. Stores, Jira and SMTP are the loopback stand-ins of tests/e2e/test_reviews_flow.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from mailbot.db.schema import OutboxMail, StoreApp
from tests.e2e.test_clients import shared_models
from tests.e2e.test_reviews_flow import APPLE_APP, PACKAGE, Stores, running_stores
from tests.servers import DovecotServer, SmtpSink

pytestmark = pytest.mark.servers
PRAISE = [
    "Super App, finde immer schnell einen Parkplatz",
    "Sehr praktisch, spart mir jeden Tag Zeit",
    "Tolle App, klappt einwandfrei",
    "Einfach zu bedienen und zuverlässig",
]


@pytest.fixture
def auto_stores(
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Stores]:
    models = shared_models(tmp_path_factory)
    auto = '["thank"]\nauto_daily_cap = 3'
    with running_stores(tmp_path, dovecot, smtp_sink, models, monkeypatch, auto) as built:
        yield built


def test_auto_posts_thanks_up_to_the_daily_cap_and_the_rest_wait_for_a_person(auto_stores, capsys):
    for n, text in enumerate(PRAISE):
        auto_stores.google.add_review(PACKAGE, f"\t{text}", 5, review_id=f"gp:{n}")
    auto_stores.cli(capsys, "reviews", "run", "--client", "parkfuchs")
    posted = auto_stores.google.api_calls("POST")
    assert len(posted) == 3  # the cap
    replies = auto_stores.replies()
    assert sorted(r.state for r in replies) == ["draft", "posted", "posted", "posted"]
    assert all(r.auto for r in replies if r.state == "posted")
    texts = [auto_stores.google.review(PACKAGE, f"gp:{n}").reply for n in range(4)]
    assert sum(t is not None for t in texts) == 3 and all(len(t) <= 350 for t in texts if t)
    assert len({r.phrasing for r in replies}) >= 3  # a page of replies does not read like one template


def test_an_edited_review_that_was_answered_goes_to_a_person(auto_stores, capsys):
    auto_stores.google.add_review(
        PACKAGE, "\tSuper App, finde immer schnell einen Parkplatz", 5, review_id="gp:e"
    )
    auto_stores.cli(capsys, "reviews", "run", "--client", "parkfuchs")
    assert [r.state for r in auto_stores.replies()] == ["posted"]
    auto_stores.google.edit_review(
        PACKAGE, "gp:e", text="\tSeit dem Update findet sie gar nichts mehr", rating=1
    )
    auto_stores.cli(capsys, "reviews", "run", "--client", "parkfuchs")
    (review,) = auto_stores.reviews()
    assert (review.rating, review.state, review.action) == (1, "person", "person")
    assert review.edited_at is not None and "edited" in review.reason
    assert len(auto_stores.google.api_calls("POST")) == 1  # the old reply stays until a person decides
    assert f"R{review.id}" in auto_stores.cli(capsys, "reviews", "list", "--client", "parkfuchs")


def test_the_team_hears_once_when_reading_has_failed_for_three_days(auto_stores, capsys):
    auto_stores.google.revoke("reviews@mailbot-test.iam.gserviceaccount.com", PACKAGE)
    start = datetime.now(UTC)
    for day in (0, 1, 2, 3, 3.5):
        at = (start + timedelta(days=day)).isoformat(timespec="seconds")
        auto_stores.cli(capsys, "reviews", "run", "--client", "parkfuchs", "--now", at, expect=1)
    warned = [
        row for row in auto_stores.installation.rows(OutboxMail) if row.kind == "reviews_polling_failed"
    ]
    assert len(warned) == 1 and warned[0].recipient == "team@parkfuchs.example"
    text = " ".join(
        message_from_bytes(warned[0].raw, policy=default).get_body(("plain",)).get_content().split()
    )
    assert "7 Tage" in text and "Reply to reviews" in text and "Was zu tun ist: Der Schlüssel darf" in text
    (app,) = (
        auto_stores.installation.rows_by_key(StoreApp)
        if hasattr(auto_stores.installation, "rows_by_key")
        else [None]
    )
    assert app is None or app.warned_at is not None


def test_the_daily_digest_lists_what_waits_and_no_key_or_token_is_ever_logged(auto_stores, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    auto_stores.apple.add_review(APPLE_APP, rating=5, body="Die beste Fitness-App, die ich kenne. Danke!")
    auto_stores.apple.add_review(APPLE_APP, rating=1, body="Ihr Betrüger, ich schalte meinen Anwalt ein!")
    auto_stores.installation.run_once("--now", _at_local_hour(9))
    digest = [
        m for m in auto_stores.installation.sent(to="team@aktivo.example") if "Bewertungen" in m["Subject"]
    ]
    assert len(digest) == 1
    text = digest[0].get_body(("plain",)).get_content()
    assert "reviews approve R" in text and "Anwalt" in text
    auto_stores.installation.run_once("--now", _at_local_hour(10))
    assert (
        len(
            [
                m
                for m in auto_stores.installation.sent(to="team@aktivo.example")
                if "Bewertungen" in m["Subject"]
            ]
        )
        == 1
    )
    secrets = [auto_stores.apple.tokens_seen[-1]] if auto_stores.apple.tokens_seen else []
    logged = caplog.text + "".join(
        row.raw.decode("utf-8", "replace") for row in auto_stores.installation.rows(OutboxMail)
    )
    assert "PRIVATE KEY" not in logged and "eyJ" not in logged
    assert all(token not in logged for token in secrets)


def _at_local_hour(hour: int) -> str:
    from zoneinfo import ZoneInfo

    berlin = datetime.now(ZoneInfo("Europe/Berlin")).replace(hour=hour, minute=5, second=0, microsecond=0)
    return berlin.isoformat()


def test_an_apple_text_edit_is_found_by_the_daily_sweep_and_decided_again(auto_stores, capsys):
    review_id = auto_stores.apple.add_review(
        APPLE_APP, rating=5, body="Die beste Fitness-App, die ich kenne."
    )
    start = datetime.now(UTC)
    auto_stores.cli(capsys, "reviews", "run", "--client", "aktivo", "--now", start.isoformat())
    (review,) = auto_stores.reviews()
    assert review.action == "thank"
    auto_stores.apple.edit_review(
        review_id, rating=1, body="Seit dem Update stürzt die App beim Start sofort ab."
    )
    hour_later = (start + timedelta(hours=1)).isoformat()
    auto_stores.cli(capsys, "reviews", "run", "--client", "aktivo", "--now", hour_later)
    assert auto_stores.reviews()[0].rating == 5  # Apple gives no edit time: the watermark poll cannot see it
    day_later = (start + timedelta(hours=25)).isoformat()
    auto_stores.cli(capsys, "reviews", "run", "--client", "aktivo", "--now", day_later)
    (review,) = auto_stores.reviews()
    assert (review.rating, review.action) == (1, "ticket") and review.edited_at is not None
    assert [r.state for r in auto_stores.replies()] == ["superseded", "draft"]


def test_the_onboarding_check_tells_access_problems_from_an_app_without_reviews(auto_stores, capsys):
    auto_stores.apple.add_app(APPLE_APP)  # the app exists in App Store Connect, without reviews yet
    out = auto_stores.cli(capsys, "reviews", "check", "--client", "aktivo")
    assert "ok   apple 1234567890 (Aktivo): no reviews yet" in out
    auto_stores.google.add_review(PACKAGE, "\tPraktisch", 5)
    assert "ok   google de.parkfuchs.app (Parkfuchs): works" in auto_stores.cli(
        capsys, "reviews", "check", "--client", "parkfuchs"
    )
    auto_stores.google.revoke("reviews@mailbot-test.iam.gserviceaccount.com", PACKAGE)
    out = auto_stores.cli(capsys, "reviews", "check", "--client", "parkfuchs", expect=1)
    assert "FAIL google de.parkfuchs.app (Parkfuchs): no access or missing permission" in out
    assert "Reply to reviews" in out  # the fix, in words
