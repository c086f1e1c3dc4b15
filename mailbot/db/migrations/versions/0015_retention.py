"""retention and folder deletions: erased_at marks, attachments_removed_at, folder_deletions (issue 15)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from mailbot.db.schema import MailString, MailText, UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_mail") as table:
        table.add_column(sa.Column("erased_at", UTCDateTime(), nullable=True))
        table.add_column(sa.Column("attachments_removed_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("tickets") as table:
        table.add_column(sa.Column("erased_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("outbox") as table:
        table.add_column(sa.Column("erased_at", UTCDateTime(), nullable=True))
    op.create_table(
        "folder_deletions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox", sa.String(length=40), nullable=False),
        sa.Column("inbound_id", sa.Integer(), nullable=False),
        sa.Column("message_id", MailString(length=998), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("queued_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", MailText(), nullable=True),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbound_id"], ["inbound_mail.id"], name=op.f("fk_folder_deletions_inbound_id_inbound_mail")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_folder_deletions")),
        sa.UniqueConstraint("mailbox", "inbound_id", name=op.f("uq_folder_deletions_mailbox_inbound_id")),
    )
    op.create_index(
        "ix_folder_deletions_open",
        "folder_deletions",
        ["mailbox", "done_at", "next_attempt_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_folder_deletions_open", table_name="folder_deletions")
    op.drop_table("folder_deletions")
    with op.batch_alter_table("outbox") as table:
        table.drop_column("erased_at")
    with op.batch_alter_table("tickets") as table:
        table.drop_column("erased_at")
    with op.batch_alter_table("inbound_mail") as table:
        table.drop_column("attachments_removed_at")
        table.drop_column("erased_at")
