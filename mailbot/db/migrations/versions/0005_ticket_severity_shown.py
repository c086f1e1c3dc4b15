"""ticket severity_shown: whether the customer was told the severity guess (branch decisions)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 01:36:22.183375
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # tickets from before were told every guess, right or not; the status answer stays silent on them
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("severity_shown", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("severity_shown")
