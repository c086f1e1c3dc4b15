"""index for the next sequential ticket number

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06

Issue 13: with `ticket_numbers = "sequential"`, every new ticket read the mailbox's newest reference
through the (mailbox, reference) key and sorted all of the mailbox's tickets by id to find it: a cost
that grew with every ticket stored (29 % of a decision's writes at 10,000 mails). (mailbox, id) is
read backwards and stops at the first row.
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_newest", ["mailbox", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_newest")
