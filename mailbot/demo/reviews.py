"""The reviews part of `mailbot demo`: the demo app's App Store and Google Play reviews, answered against the
loopback stand-ins (mailbot.demo.stores), with throwaway keys made for this run.

The stand-ins run only while the demo runs: mailbot reads, decides, drafts and posts the one automatic
thank-you inside the demo's `run --once`; afterwards the drafts wait in the demo database, where
`mailbot reviews list|show|approve` work, while `reviews run` has no store left to talk to.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Self

from sqlalchemy import select

from mailbot.app import App
from mailbot.db.schema import OutboxMail, ReplyState, ReviewReply, ReviewState, StoreReviewRow, Ticket
from mailbot.demo.stores.apple import FakeAppStoreConnect
from mailbot.demo.stores.google import FakeGooglePlay
from mailbot.terminal import safe_line, safe_text

APPLE_APP = "1470010001"
PACKAGE = "de.aktivo.app"
KEY_ID = "DEMO4AKTIV"
ISSUER = "5d1c9a0e-7b1f-4c4e-9a51-0d3e2f6a8b7c"  # made up: the stand-in's team
STORE_NAMES = {"apple": "App Store", "google": "Google Play"}
EXCERPT = 72
KINDS = {"thank": "thank-you", "answer": "answer", "passed_on": '"passed on" reply', "fixed": '"fixed" reply'}

SECTION = """
# Written by `mailbot demo`: the app's store reviews, read from loopback stand-ins that run only while
# the demo runs (throwaway keys in {keys}).
[reviews]
auto = ["thank"]       # thank-you replies are posted without a person ...
auto_daily_cap = 1     # ... one a day per app; everything else waits for `mailbot reviews approve`
support_link = "https://aktivo.example/hilfe"
sign_off = {{ de = "Ihr Aktivo-Team", en = "Your Aktivo team" }}
timeout_seconds = 5

[[reviews.apps]]
store = "apple"
app_id = "{apple_app}"
name = "Aktivo"
key_id = "{key_id}"
issuer_id = "{issuer}"
private_key_path = "{p8}"
api_url = "{apple_url}"

[[reviews.apps]]
store = "google"
package = "{package}"
name = "Aktivo"
service_account_path = "{service_account}"
api_url = "{google_url}"
"""


@dataclass(frozen=True)
class DemoReview:
    store: str  # "apple" or "google"
    rating: int
    title: str
    body: str
    author: str
    where: str  # Apple's territory or Google's device language: mailbot ignores both for the language


# Oldest first: the first thank-you of the day is posted automatically, the second waits (the daily cap).
REVIEWS = (
    DemoReview(
        "google", 5, "Super App!",
        "Endlich eine Fitness-App, die mich wirklich motiviert. Die Trainingspläne sind top, weiter so!",
        "Sandra K.", "de",
    ),
    DemoReview(
        "google", 5, "Love it",
        "Best workout app I have used so far. The plans keep me going every single day.",
        "Tom B.", "en",
    ),
    DemoReview(
        "apple", 3, "Passwort",
        "Ich habe mein Passwort vergessen. Wie kann ich mein Passwort zurücksetzen?",
        "laeuferin_84", "DEU",
    ),
    DemoReview(
        "apple", 1, "Stürzt ständig ab",
        "Seit dem Update stürzt die App beim Start sofort ab. Ich komme nicht mehr an meine Trainingspläne.",
        "Kim1984", "DEU",
    ),
    DemoReview(
        "google", 4, "Très bien",
        "Application très pratique pour mes entraînements, mais il manque des exercices de yoga.",
        "Julie M.", "fr",
    ),
    DemoReview(
        "apple", 1, "Rip-off",
        "You idiots charged my card twice for premium. I want my money back now, or I go to my bank.",
        "angry_runner", "GBR",
    ),
)  # fmt: skip


class DemoStores:
    """Both stand-ins on loopback ports, a throwaway key for each in `keys`, the demo reviews seeded."""

    def __init__(self, keys: Path, reviews: tuple[DemoReview, ...] = REVIEWS) -> None:
        self.keys = keys
        self.reviews = reviews
        self.apple = FakeAppStoreConnect()
        self.google = FakeGooglePlay()
        self.p8 = keys / f"AuthKey_{KEY_ID}.p8"
        self.service_account: Path | None = None

    def __enter__(self) -> Self:
        self.keys.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_private(self.p8, self.apple.new_key(KEY_ID, issuer_id=ISSUER))
        self.apple.add_app(APPLE_APP)
        self.service_account = self.google.new_service_account(self.keys, packages=(PACKAGE,))
        self._seed(datetime.now(UTC).replace(microsecond=0))  # the stand-ins' clocks are the real time
        self.apple.start()
        try:
            self.google.start()
        except BaseException:
            self.apple.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.google.stop()
        self.apple.stop()

    def section(self) -> str:
        """The `[reviews]` part of the demo client's client.toml."""
        return SECTION.format(
            keys=self.keys, apple_app=APPLE_APP, key_id=KEY_ID, issuer=ISSUER, p8=self.p8,
            apple_url=self.apple.base_url, package=PACKAGE, service_account=self.service_account,
            google_url=self.google.base_url,
        )  # fmt: skip

    def public_reply(self, store: str, review_id: str) -> tuple[str, str] | None:
        """What the store itself now holds as the reply to a review: (text, state), or None."""
        if store == "apple":
            response = self.apple.response_of(review_id)
            return None if response is None else (response.body, response.state.lower().replace("_", " "))
        comment = self.google.review(PACKAGE, review_id).reply
        return None if comment is None else (comment, "public")

    def _seed(self, now: datetime) -> None:
        for age, review in enumerate(reversed(self.reviews), start=1):
            written = now - timedelta(hours=age)  # in the listed order, an hour apart
            if review.store == "apple":
                self.apple.add_review(
                    APPLE_APP, rating=review.rating, title=review.title, body=review.body,
                    nickname=review.author, created=written, territory=review.where,
                )  # fmt: skip
            else:
                self.google.add_review(
                    PACKAGE, f"{review.title}\t{review.body}", review.rating,
                    author=review.author, modified=written, language=review.where,
                )  # fmt: skip


def _write_private(path: Path, text: str) -> None:
    """Created with mode 600 from the start: a key file is never readable by others, not even briefly."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


def print_reviews(app: App, stores: DemoStores) -> str | None:
    """Per review of this client: store, stars, language, an excerpt; then what mailbot did with it.
    Returns the number of the first draft waiting for approval (for the hint), if any."""
    first_draft = None
    with app.sessions() as session:
        rows = session.scalars(
            select(StoreReviewRow)
            .where(StoreReviewRow.mailbox == app.mailbox)
            .order_by(StoreReviewRow.created_at, StoreReviewRow.id)
        ).all()
        if not rows:
            return None
        print(f"\nclient {app.mailbox}: {len(rows)} app-store reviews of Aktivo (App Store and Google Play)")
        for row in rows:
            reply = session.scalar(
                select(ReviewReply)
                .where(ReviewReply.review_pk == row.id, ReviewReply.state != ReplyState.SUPERSEDED)
                .order_by(ReviewReply.id.desc())
                .limit(1)
            )
            ticket = session.get(Ticket, row.ticket_id) if row.ticket_id else None
            stars = "★" * row.rating + "☆" * (5 - row.rating)
            text = safe_line(" ".join(f"{row.title}: {row.body}".split()))
            excerpt = text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"
            store = STORE_NAMES.get(row.store, row.store)
            print(f"  R{row.id:<3} {store:<11} {stars} {row.language or '--'}  {excerpt}")
            for line in _outcome(row, reply, ticket, stores):
                print(f"       {line}")
            if first_draft is None and reply is not None and reply.state == ReplyState.DRAFT:
                first_draft = f"R{row.id}"
        digest = session.scalar(
            select(OutboxMail.id).where(
                OutboxMail.mailbox == app.mailbox, OutboxMail.kind == "reviews_digest"
            )
        )
    if digest is not None:
        print(f"  the team's daily digest of what waits for a person: mailed to {app.settings.team.address}")
    return first_draft


def _outcome(
    row: StoreReviewRow, reply: ReviewReply | None, ticket: Ticket | None, stores: DemoStores
) -> list[str]:
    number = f"R{row.id}"
    lines = []
    if ticket is not None:
        lines.append(f"ticket [{ticket.reference}] ({ticket.severity}), the team was told")
    if row.state == ReviewState.PERSON or reply is None:
        lines.append(f"a person decides: {safe_line(row.reason)}")
        return lines
    kind = KINDS.get(reply.kind, reply.kind)
    if row.article_id and reply.kind == "answer":
        kind += f" from the article {row.article_id}"
    if reply.state == ReplyState.POSTED and reply.auto:
        public = stores.public_reply(row.store, row.review_id)
        state = f" ({public[1]})" if public else ""
        lines.append(f"{kind} posted automatically; the store now shows{state}:")
        shown = public[0] if public else reply.text
        lines.extend("  " + line for line in safe_text(shown).splitlines())
    elif reply.state == ReplyState.DRAFT:
        why = " (today's automatic thank-you is used up)" if reply.kind == "thank" else ""
        lines.append(f"{kind} drafted{why}: waits for `mailbot reviews approve {number}`")
    else:
        lines.append(f"{kind}: {reply.state}")
    return lines
