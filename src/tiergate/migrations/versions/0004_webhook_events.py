"""Billing: the webhook inbox.

Revision ID: 0004_webhook_events
Revises: 0003_accounts_billing
Create Date: 2026-11-25 15:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0004_webhook_events"
down_revision = "0003_accounts_billing"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tiergate_webhook_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=128), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("provider_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="received", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_tiergate_webhook_event_attempts")),
        sa.CheckConstraint(
            "provider IN ('stripe', 'whop')", name=op.f("ck_tiergate_webhook_event_provider")
        ),
        sa.CheckConstraint(
            "status IN ('received', 'processed', 'ignored', 'failed')",
            name=op.f("ck_tiergate_webhook_event_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiergate_webhook_event")),
        sa.UniqueConstraint(
            "provider",
            "provider_event_id",
            name=op.f("uq_tiergate_webhook_event_provider_provider_event_id"),
        ),
    )
    with op.batch_alter_table("tiergate_webhook_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tiergate_webhook_event_provider_type_received_at",
            ["provider", "type", "received_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_tiergate_webhook_event_received_at"), ["received_at"], unique=False
        )
        batch_op.create_index(
            "ix_tiergate_webhook_event_status_received_at", ["status", "received_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("tiergate_webhook_event", schema=None) as batch_op:
        batch_op.drop_index("ix_tiergate_webhook_event_status_received_at")
        batch_op.drop_index(batch_op.f("ix_tiergate_webhook_event_received_at"))
        batch_op.drop_index("ix_tiergate_webhook_event_provider_type_received_at")
    op.drop_table("tiergate_webhook_event")
