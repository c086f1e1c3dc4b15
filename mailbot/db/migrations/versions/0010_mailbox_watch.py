"""who watches which mailbox in a fleet of workers (issue 13, `mailbot run --fleet`)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

Several workers share a PostgreSQL database through Procrastinate; its lock decides which worker
watches a mailbox. This table only records the holder, for `mailbot status`.
"""

import sqlalchemy as sa
from alembic import op

from mailbot.db.schema import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mailbox_watch",
        sa.Column("mailbox", sa.String(length=40), nullable=False),
        sa.Column("worker", sa.String(length=300), nullable=False),
        sa.Column("engine_worker_id", sa.BigInteger(), nullable=True),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("mailbox", name=op.f("pk_mailbox_watch")),
    )


def downgrade() -> None:
    op.drop_table("mailbox_watch")
