"""Standalone users: when the e-mail address was verified, and one row per log-in session.

Existing users count as unverified. Sessions from before this revision carry no session
token, so they are anonymous after it: those users log in again.

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
    op.create_table(
        "tiergate_user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["tiergate_user.id"],
            name=op.f("fk_tiergate_user_session_user_id_tiergate_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiergate_user_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_tiergate_user_session_token_hash")),
    )
    with op.batch_alter_table("tiergate_user_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tiergate_user_session_user_id"), ["user_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("tiergate_user_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tiergate_user_session_user_id"))
    op.drop_table("tiergate_user_session")
    with op.batch_alter_table("tiergate_user", schema=None) as batch_op:
        batch_op.drop_column("email_verified_at")
