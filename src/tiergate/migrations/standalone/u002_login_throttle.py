"""Log-in throttling per address and atomic: an index on the address, and the lock rows.

Revision ID: u002_login_throttle
Revises: u001_users
Create Date: 2026-12-02 10:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "u002_login_throttle"
down_revision = "u001_users"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tiergate_login_lock",
        sa.Column("bucket", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_tiergate_login_lock")),
    )
    with op.batch_alter_table("tiergate_login_failure", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tiergate_login_failure_ip_address"), ["ip_address"], unique=False
        )


def downgrade():
    with op.batch_alter_table("tiergate_login_failure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tiergate_login_failure_ip_address"))
    op.drop_table("tiergate_login_lock")
