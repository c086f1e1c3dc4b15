"""address keys on inbound and outbox rows, claim index in arrival order (branch sqlkeys)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

The per-address limits compared every stored address in Python (IDNA domains cannot be compared in
SQL), which made each mail cost a scan of the mailbox (bench/README.md, findings 1 and 5). Rows now
carry `address_key` of their address, indexed with the time the counts filter on; existing rows get
it here, in batches and by the same Python function, so they count exactly as before. The claim index
gains `received_at`, so the oldest claimable mail is found without sorting the mailbox.
"""

import sqlalchemy as sa
from alembic import op

from mailbot.db.schema import ADDRESS_KEY_CHARS, clean_text
from mailbot.rules.base import address_key

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("inbound_mail", schema=None) as batch_op:
        batch_op.add_column(sa.Column("from_key", sa.String(length=ADDRESS_KEY_CHARS), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recipient_key", sa.String(length=ADDRESS_KEY_CHARS), nullable=True))
    _backfill("inbound_mail", "from_addr", "from_key")
    _backfill("outbox", "recipient", "recipient_key")
    with op.batch_alter_table("inbound_mail", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_mail_state")
        batch_op.create_index(
            "ix_inbound_mail_claim", ["mailbox", "state", "attempts", "received_at", "id"], unique=False
        )
        batch_op.create_index("ix_inbound_mail_from_key", ["mailbox", "from_key"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_recipient")
        batch_op.create_index(
            "ix_outbox_recipient_key", ["mailbox", "recipient_key", "created_at"], unique=False
        )
        batch_op.create_index("ix_outbox_ticket", ["ticket_id", "kind", "created_at"], unique=False)
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_customer", ["mailbox", "customer"], unique=False)


def _backfill(table_name: str, address: str, key: str) -> None:
    """`key` = address_key(`address`) for every row that has an address, BATCH rows per round trip."""
    connection = op.get_bind()
    table = sa.table(table_name, sa.column("id", sa.Integer()), sa.column(address, sa.String()),
                     sa.column(key, sa.String()))  # fmt: skip
    update = table.update().where(table.c.id == sa.bindparam("row_id")).values({key: sa.bindparam("key")})
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(table.c.id, table.c[address])
            .where(table.c.id > last_id, table.c[address].is_not(None))
            .order_by(table.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        keys = [
            {"row_id": row_id, "key": clean_text(address_key(value), ADDRESS_KEY_CHARS)}
            for row_id, value in rows
        ]
        connection.execute(update, keys)
        last_id = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_customer")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_ticket")
        batch_op.drop_index("ix_outbox_recipient_key")
        batch_op.create_index("ix_outbox_recipient", ["mailbox", "recipient", "created_at"], unique=False)
        batch_op.drop_column("recipient_key")
    with op.batch_alter_table("inbound_mail", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_mail_from_key")
        batch_op.drop_index("ix_inbound_mail_claim")
        batch_op.create_index("ix_inbound_mail_state", ["mailbox", "state", "id"], unique=False)
        batch_op.drop_column("from_key")
