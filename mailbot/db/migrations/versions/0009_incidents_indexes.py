"""indexes for incident grouping and the team notice's thread (branch incidents)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

Issue 13: each escalation looked at every ticket of the mailbox to find the open faults of the grouping
window, and each team notice scanned the whole outbox for the last mail the team got about its ticket
(a new ticket has none, so the scan always went to the end). Both now read an index.
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_ticket_thread", ["ticket_id", "id"], unique=False)
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tickets_open_faults", ["mailbox", "state", "severity", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_open_faults")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_ticket_thread")
