"""Secrets shown once after a redirect, kept on the server instead of in the session cookie.

Revision ID: 0009_shown_once
Revises: 0008_webhook_claims
Create Date: 2026-11-28 00:45:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0009_shown_once"
down_revision = "0008_webhook_claims"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tiergate_shown_once",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["tiergate_account.id"],
            name=op.f("fk_tiergate_shown_once_account_id_tiergate_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiergate_shown_once")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_tiergate_shown_once_token_hash")),
    )
    with op.batch_alter_table("tiergate_shown_once", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tiergate_shown_once_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tiergate_shown_once_created_at"), ["created_at"], unique=False
        )


def downgrade():
    # Dropping the table drops its indexes; MariaDB refuses to drop the account_id index on
    # its own while the foreign key needs it.
    op.drop_table("tiergate_shown_once")
