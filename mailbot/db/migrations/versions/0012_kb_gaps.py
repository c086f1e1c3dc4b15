"""knowledge-base gaps found by `mailbot kb gaps`, for stable gap ids (issue 14, branch gaps)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

One row per topic a run found among a client's unanswered mail: its top terms and members, so that the
next run matches its clusters to these and keeps their ids.
"""

import sqlalchemy as sa
from alembic import op

from mailbot.db.schema import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kb_gaps",
        sa.Column("mailbox", sa.String(length=40), nullable=False),
        sa.Column("gap_id", sa.String(length=20), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("mailbox", "gap_id", name=op.f("pk_kb_gaps")),
    )


def downgrade() -> None:
    op.drop_table("kb_gaps")
