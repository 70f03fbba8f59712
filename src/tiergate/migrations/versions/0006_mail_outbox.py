"""The mail outbox: each message queued with the change that causes it, kept once sent.

Revision ID: 0006_mail_outbox
Revises: 0005_billing_lifecycle
Create Date: 2026-11-28 00:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0006_mail_outbox"
down_revision = "0005_billing_lifecycle"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tiergate_mail_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dedupe_key", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiergate_mail_outbox")),
        sa.UniqueConstraint(
            "dedupe_key", "recipient", name=op.f("uq_tiergate_mail_outbox_dedupe_key_recipient")
        ),
    )
    with op.batch_alter_table("tiergate_mail_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_tiergate_mail_outbox_due", ["sent_at", "due_at"], unique=False)


def downgrade():
    with op.batch_alter_table("tiergate_mail_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_tiergate_mail_outbox_due")
    op.drop_table("tiergate_mail_outbox")
