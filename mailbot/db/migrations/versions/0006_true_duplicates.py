"""true duplicates only: content fingerprint instead of a unique Message-ID; skipped duplicates kept

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05

A Message-ID alone no longer makes a duplicate (form mailers reuse them): the unique key becomes the
fingerprint of Message-ID, From and body (mailbot.ingest.keys), computed here for existing rows.
"""

import sqlalchemy as sa
from alembic import op

import mailbot.db.schema
from mailbot.ingest.keys import content_keys

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "skipped_duplicates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox", sa.String(length=40), nullable=False),
        sa.Column("source_key", sa.String(length=400), nullable=False),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("matched_by", sa.String(length=20), nullable=False),
        sa.Column("at", mailbot.db.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["duplicate_of"],
            ["inbound_mail.id"],
            name=op.f("fk_skipped_duplicates_duplicate_of_inbound_mail"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skipped_duplicates")),
    )
    with op.batch_alter_table("inbound_mail", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    inbound = sa.table("inbound_mail", sa.column("id", sa.Integer()), sa.column("raw", sa.LargeBinary()),
                       sa.column("fingerprint", sa.String()))  # fmt: skip
    for row_id, raw in connection.execute(sa.select(inbound.c.id, inbound.c.raw)).all():
        fingerprint = content_keys(bytes(raw)).fingerprint
        connection.execute(inbound.update().where(inbound.c.id == row_id).values(fingerprint=fingerprint))
    with op.batch_alter_table("inbound_mail", schema=None) as batch_op:
        batch_op.alter_column("fingerprint", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_constraint("uq_inbound_mail_mailbox_message_id", type_="unique")
        batch_op.create_unique_constraint(
            op.f("uq_inbound_mail_mailbox_fingerprint"), ["mailbox", "fingerprint"]
        )
        batch_op.create_index("ix_inbound_mail_message_id", ["mailbox", "message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbound_mail", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_mail_message_id")
        batch_op.drop_constraint(op.f("uq_inbound_mail_mailbox_fingerprint"), type_="unique")
        batch_op.create_unique_constraint("uq_inbound_mail_mailbox_message_id", ["mailbox", "message_id"])
        batch_op.drop_column("fingerprint")
    op.drop_table("skipped_duplicates")
