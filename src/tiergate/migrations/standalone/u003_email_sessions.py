"""Standalone users: when the e-mail address was verified, and the session version.

Existing users count as unverified; their session version starts at 0.

Revision ID: u003_email_sessions
Revises: u002_login_throttle
Create Date: 2026-11-28 00:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "u003_email_sessions"
down_revision = "u002_login_throttle"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tiergate_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("tiergate_user", schema=None) as batch_op:
        batch_op.drop_column("session_version")
        batch_op.drop_column("email_verified_at")
