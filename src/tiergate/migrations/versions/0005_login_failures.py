"""Accounts: failed log-ins, counted per e-mail and address to throttle guessing.

Revision ID: 0005_login_failures
Revises: 0004_webhook_events
Create Date: 2026-11-25 16:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0005_login_failures"
down_revision = "0004_webhook_events"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("ip_address", sa.String(length=45), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failure")),
    )
    with op.batch_alter_table("login_failure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failure_email"), ["email"], unique=False)


def downgrade():
    with op.batch_alter_table("login_failure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_failure_email"))
    op.drop_table("login_failure")
