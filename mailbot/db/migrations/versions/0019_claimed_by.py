"""who holds a claim: the fleet worker's id in the job engine

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07

Issue 13: a fleet worker killed while it held claimed mail and replies left them for their whole
lease (`[limits] lease_seconds`, 300 s by default; replies 5 minutes), long after its peers had taken
its mailboxes over (30-45 s). With the holder on the row, the takeover job frees exactly what the dead
worker held (mailbot.db.claims.release_claims_of_the_dead). Empty for mail claimed outside a fleet.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TABLES = ("inbound_mail", "outbox")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("claimed_by", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("claimed_by")
