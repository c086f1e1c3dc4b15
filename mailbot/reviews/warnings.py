"""The team's mails about reviews: polling that has failed for days, and the daily digest of what waits.

Google lists reviews of the last 7 days only, so a poll that fails for a week loses reviews for good: the
team hears after `failing_days_warning` days (default 3), once per failure spell. The digest lists the
drafts to approve, the reviews a person must decide and the replies a store refused; it is sent once a
day at `digest_hour` (the client's time), and only when something waits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from mailbot.app import App
from mailbot.db.schema import ReplyState, ReviewReply, ReviewState, StoreApp, StoreReviewRow
from mailbot.domain import Language
from mailbot.reviews.poll import failing_too_long
from mailbot.reviews.settings import AppleApp, GoogleApp
from mailbot.reviews.team_reason import review_reason_for_team
from mailbot.reviews.ticket import STORE_NAMES
from mailbot.tickets.notify import local_time, mail_team

EXCERPT = 160
FIXES: dict[Language, dict[str, str]] = {
    Language.EN: {
        "StoreAuthError": "the store refused the key: check key id, issuer id and key file of the app in the"
        " client's [[reviews.apps]], or make a new key",
        "StoreAccessDenied": "the key may not read this app: ask the client to grant the role again"
        " (docs/reviews-setup.en.md) and to accept any new agreement in the store's console",
        "StoreNotFound": "the store does not know this app: check the app id or package name",
        "StoreRateLimited": "the store's quota is spent: mailbot waits and goes on by itself; poll less often"
        " if this repeats",
        "ConfigError": "the key cannot be read: the error names the file or variable to fix",
    },
    Language.DE: {
        "StoreAuthError": "Der Store lehnt den Schlüssel ab: Key-ID, Issuer-ID und Schlüsseldatei der App in"
        " [[reviews.apps]] des Kunden prüfen oder einen neuen Schlüssel erstellen.",
        "StoreAccessDenied": "Der Schlüssel darf diese App nicht lesen: den Kunden bitten, die Rolle erneut"
        " zu vergeben (docs/reviews-setup.de.md) und neuen Vereinbarungen in der Konsole des Stores"
        " zuzustimmen.",
        "StoreNotFound": "Der Store kennt diese App nicht: App-ID bzw. Paketnamen prüfen.",
        "StoreRateLimited": "Das Kontingent des Stores ist aufgebraucht: mailbot wartet und macht von selbst"
        " weiter; bei Wiederholung seltener abrufen.",
        "ConfigError": "Der Schlüssel kann nicht gelesen werden: Der Fehler nennt die Datei oder Variable.",
    },
}
OTHER_FIX = {
    Language.EN: "look at the error; `mailbot reviews check` tells what the store says now",
    Language.DE: "Den Fehler ansehen; `mailbot reviews check` zeigt, was der Store jetzt antwortet.",
}


def warn_if_failing(app: App, store_app: AppleApp | GoogleApp, now: datetime) -> bool:
    settings = app.settings.reviews
    assert settings is not None
    with app.sessions.begin() as session:
        row = session.get(StoreApp, (store_app.store, store_app.app))
        if row is None or not failing_too_long(row, now, settings.failing_days_warning):
            return False
        assert row.failing_since is not None
        error = row.last_error or "?"
        kind = error.split(":", 1)[0]
        store_name = STORE_NAMES[store_app.store]
        language = app.settings.team.language
        fix = FIXES[language].get(kind, OTHER_FIX[language])
        days = round((now - row.failing_since).total_seconds() / 86400, 1)
        mail_team(
            session, app, None, "reviews_polling_failed",
            f"reviews-polling-failed:{store_app.store}:{store_app.app}:{row.failing_since.isoformat()}", now,
            store_name=store_name, app_name=store_app.name, app_id=store_app.app,
            since=local_time(app, row.failing_since), days=days,
            error=error[:1000], fix=fix, google_window=store_app.store == "google",
        )  # fmt: skip
        row.warned_at = now
    return True


def send_digest(app: App, now: datetime) -> bool:
    """The day's digest, when it is `digest_hour` or later in the client's day and it was not sent today."""
    settings = app.settings.reviews
    if settings is None or settings.digest_hour is None or not settings.apps:
        return False
    local = now.astimezone(app.calendar.zone)
    if local.hour < settings.digest_hour:
        return False
    names = {(a.store, a.app): a.name for a in settings.apps}
    with app.sessions.begin() as session:
        drafts, persons, failed = [], [], []
        rows = session.scalars(
            select(StoreReviewRow)
            .where(StoreReviewRow.mailbox == app.mailbox, StoreReviewRow.erased_at.is_(None))
            .where(StoreReviewRow.state.in_((ReviewState.DECIDED, ReviewState.PERSON)))
            .order_by(StoreReviewRow.rating, StoreReviewRow.id)
        )  # fmt: skip
        for review in rows:
            reply = session.scalar(
                select(ReviewReply)
                .where(ReviewReply.review_pk == review.id)
                .order_by(ReviewReply.id.desc())
                .limit(1)
            )
            base = {
                "number": f"R{review.id}",
                "store_name": STORE_NAMES.get(review.store, review.store),
                "app_name": names.get((review.store, review.app), review.app),
                "rating": review.rating,
                "language": review.language or "?",
                "excerpt": " ".join(f"{review.title} {review.body}".split())[:EXCERPT],
            }
            if reply is not None and reply.state == ReplyState.DRAFT:
                drafts.append(
                    base | {"kind": reply.kind, "text": reply.text, "problems": list(reply.problems)}
                )
            elif reply is not None and reply.state == ReplyState.FAILED:
                failed.append(base | {"error": reply.last_error or "?"})
            elif review.state == ReviewState.PERSON:
                reason = review.reason and review_reason_for_team(review.reason, app.settings.team.language)
                persons.append(base | {"reason": reason})
        if not (drafts or persons or failed):
            return False
        return mail_team(
            session, app, None, "reviews_digest", f"reviews-digest:{local.date().isoformat()}", now,
            support_name=app.settings.support.name, drafts=drafts, persons=persons, failed=failed,
        )  # fmt: skip
