"""Webhook inbox: when a failed event is next retried by the workers.

A failed event gets the time of its next automatic attempt; NULL means no automatic retry
(applied, ignored, out of attempts, or failed before workers existed: replay those by hand).
The column may be NULL, so existing rows keep their meaning.

Revision ID: 0008_webhook_claims
Revises: 0007_limits
Create Date: 2026-11-27 23:55:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0008_webhook_claims"
down_revision = "0007_limits"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tiergate_webhook_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("tiergate_webhook_event", schema=None) as batch_op:
        batch_op.drop_column("next_attempt_at")
