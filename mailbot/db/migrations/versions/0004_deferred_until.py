"""inbound mail deferred until the opening (contract)

Mail looked at while the business calendar is closed and left for the opening records until when it
is left alone, so it is not looked at again on every pass of a closed weekend.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 01:27:35.656398
"""

import sqlalchemy as sa
from alembic import op

import mailbot.db.schema

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_mail", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deferred_until", mailbot.db.schema.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound_mail", schema=None) as batch_op:
        batch_op.drop_column("deferred_until")
