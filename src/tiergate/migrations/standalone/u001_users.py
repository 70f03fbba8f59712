"""The standalone app's users, and failed log-ins counted per e-mail and address.

A branch of its own: an application that brings its own users never creates these tables.

Revision ID: u001_users
Revises:
Create Date: 2026-11-25 16:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "u001_users"
down_revision = None
branch_labels = ("standalone",)
depends_on = None


def upgrade():
    op.create_table(
        "tiergate_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("is_staff", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiergate_user")),
        sa.UniqueConstraint("email", name=op.f("uq_tiergate_user_email")),
    )
    op.create_table(
        "tiergate_login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("ip_address", sa.String(length=45), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiergate_login_failure")),
    )
    with op.batch_alter_table("tiergate_login_failure", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tiergate_login_failure_email"), ["email"], unique=False
        )


def downgrade():
    with op.batch_alter_table("tiergate_login_failure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tiergate_login_failure_email"))
    op.drop_table("tiergate_login_failure")
    op.drop_table("tiergate_user")
