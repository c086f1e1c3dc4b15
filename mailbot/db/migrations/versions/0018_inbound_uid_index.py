"""index for the UIDs of a folder that are stored

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06

Issue 13: after every pass the IMAP source asks which of the inbox's UIDs it has stored; SQLite
answered through the claim index by reading every inbound row of the mailbox for each chunk of UIDs,
a cost that grew with the mail stored (0.2 s of a pass at 10,000 mails).
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_mail", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbound_mail_uid", ["mailbox", "folder", "uidvalidity", "uid"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("inbound_mail", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_mail_uid")
