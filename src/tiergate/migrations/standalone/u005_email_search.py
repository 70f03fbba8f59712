"""PostgreSQL: a trigram index for the console's search of users by part of their e-mail.

Revision ID: u005_email_search
Revises: u004_demo_projects
Create Date: 2026-11-28 03:15:00

"""

from alembic import op

revision = "u005_email_search"
down_revision = "u004_demo_projects"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_tiergate_user_email_trgm ON tiergate_user "
            "USING gin (email gin_trgm_ops)"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_tiergate_user_email_trgm")
