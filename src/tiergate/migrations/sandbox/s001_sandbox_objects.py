"""Billing sandbox: the fake provider APIs' objects (a branch of its own, only where the
sandbox is on).

Revision ID: s001_sandbox_objects
Revises:
Create Date: 2026-11-25 13:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "s001_sandbox_objects"
down_revision = None
branch_labels = ("sandbox",)
depends_on = None


def upgrade():
    op.create_table(
        "tiergate_sandbox_object",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("account_ref", sa.String(length=64), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiergate_sandbox_object")),
        sa.UniqueConstraint(
            "provider", "object_id", name=op.f("uq_tiergate_sandbox_object_provider_object_id")
        ),
    )
    with op.batch_alter_table("tiergate_sandbox_object", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tiergate_sandbox_object_account_ref"), ["account_ref"], unique=False
        )


def downgrade():
    with op.batch_alter_table("tiergate_sandbox_object", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tiergate_sandbox_object_account_ref"))
    op.drop_table("tiergate_sandbox_object")
