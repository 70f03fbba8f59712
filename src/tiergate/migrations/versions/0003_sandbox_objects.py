"""Billing sandbox: the fake provider APIs' objects.

Revision ID: 0003_sandbox_objects
Revises: 0002_accounts_subscriptions
Create Date: 2026-11-25 13:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0003_sandbox_objects"
down_revision = "0002_accounts_subscriptions"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sandbox_object",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("account_ref", sa.String(length=64), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_object")),
        sa.UniqueConstraint(
            "provider", "object_id", name=op.f("uq_sandbox_object_provider_object_id")
        ),
    )
    with op.batch_alter_table("sandbox_object", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sandbox_object_account_ref"), ["account_ref"], unique=False
        )


def downgrade():
    with op.batch_alter_table("sandbox_object", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandbox_object_account_ref"))
    op.drop_table("sandbox_object")
