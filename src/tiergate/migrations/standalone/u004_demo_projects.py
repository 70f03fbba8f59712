"""The demo's projects: a page that creates and deletes them within the plan's limit.

Revision ID: u004_demo_projects
Revises: u003_email_sessions
Create Date: 2026-11-27 23:55:00

"""

import sqlalchemy as sa
from alembic import op

revision = "u004_demo_projects"
down_revision = "u003_email_sessions"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tiergate_demo_project",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tiergate_demo_project"),
    )
    with op.batch_alter_table("tiergate_demo_project", schema=None) as batch_op:
        batch_op.create_index("ix_tiergate_demo_project_account_id", ["account_id"], unique=False)


def downgrade():
    op.drop_table("tiergate_demo_project")
