"""ticket external_polled_at: when the Jira follow-up last looked at the request (branch backends)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

A pass of the Jira follow-up has a time budget (issue 11); it takes the requests least recently
looked at first, so that every request is reached even when one pass cannot follow them all.
"""

import sqlalchemy as sa
from alembic import op

import mailbot.db.schema

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_polled_at", mailbot.db.schema.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("external_polled_at")
