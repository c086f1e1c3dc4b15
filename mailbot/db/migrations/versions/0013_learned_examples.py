"""learned_examples: agents' decisions on the training examples of `mailbot kb learn` (branch learn)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from mailbot.db.schema import MailText, UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learned_examples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox", sa.String(length=40), nullable=False),
        sa.Column("candidate", sa.String(length=40), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("path", MailText(), nullable=False),
        sa.Column("text", MailText(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_learned_examples_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learned_examples")),
        sa.UniqueConstraint("mailbox", "candidate", name=op.f("uq_learned_examples_mailbox_candidate")),
    )


def downgrade() -> None:
    op.drop_table("learned_examples")
