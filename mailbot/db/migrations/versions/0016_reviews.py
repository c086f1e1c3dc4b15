"""app-store reviews: review_apps (watermarks, poll health), reviews, review_replies (issue 16)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from mailbot.db.schema import MailJSON, MailString, MailText, UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_apps",
        sa.Column("store", sa.String(length=10), nullable=False),
        sa.Column("app", sa.String(length=150), nullable=False),
        sa.Column("mailbox", sa.String(length=40), nullable=False),
        sa.Column("watermark_at", UTCDateTime(), nullable=True),
        sa.Column("watermark_ids", MailJSON(), nullable=False),
        sa.Column("polled_at", UTCDateTime(), nullable=True),
        sa.Column("succeeded_at", UTCDateTime(), nullable=True),
        sa.Column("failing_since", UTCDateTime(), nullable=True),
        sa.Column("last_error", MailText(), nullable=True),
        sa.Column("warned_at", UTCDateTime(), nullable=True),
        sa.Column("wait_until", UTCDateTime(), nullable=True),
        sa.Column("swept_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("store", "app", name=op.f("pk_review_apps")),
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox", sa.String(length=40), nullable=False),
        sa.Column("store", sa.String(length=10), nullable=False),
        sa.Column("app", sa.String(length=150), nullable=False),
        sa.Column("review_id", sa.String(length=200), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("title", MailText(), nullable=False),
        sa.Column("body", MailText(), nullable=False),
        sa.Column("author", MailText(), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=True),
        sa.Column("territory", sa.String(length=10), nullable=False),
        sa.Column("app_version", sa.String(length=60), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("modified_at", UTCDateTime(), nullable=True),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("edited_at", UTCDateTime(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("reason", MailText(), nullable=False),
        sa.Column("article_id", sa.String(length=200), nullable=True),
        sa.Column("severity", sa.String(length=20), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("erased_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_reviews_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("store", "app", "review_id", name=op.f("uq_reviews_store_app_review_id")),
    )
    op.create_index("ix_reviews_state", "reviews", ["mailbox", "state"], unique=False)
    op.create_table(
        "review_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox", sa.String(length=40), nullable=False),
        sa.Column("review_pk", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("phrasing", sa.String(length=60), nullable=False),
        sa.Column("text", MailText(), nullable=False),
        sa.Column("problems", MailJSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("auto", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_by", MailString(length=200), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("last_error", MailText(), nullable=True),
        sa.Column("posted_at", UTCDateTime(), nullable=True),
        sa.Column("response_id", sa.String(length=200), nullable=False),
        sa.Column("public_state", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["review_pk"], ["reviews.id"], name=op.f("fk_review_replies_review_pk_reviews")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_replies")),
    )
    op.create_index("ix_review_replies_review_pk", "review_replies", ["review_pk"], unique=False)
    op.create_index(
        "ix_review_replies_state", "review_replies", ["mailbox", "state", "next_attempt_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_review_replies_state", table_name="review_replies")
    op.drop_index("ix_review_replies_review_pk", table_name="review_replies")
    op.drop_table("review_replies")
    op.drop_index("ix_reviews_state", table_name="reviews")
    op.drop_table("reviews")
    op.drop_table("review_apps")
