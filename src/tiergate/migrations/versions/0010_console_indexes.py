"""Indexes behind every filter of the console's lists, for keyset paging at millions of rows.

On PostgreSQL also trigram indexes (the pg_trgm extension, trusted since PostgreSQL 13, so
the database's owner may create it) for the substring searches of account names and slugs and
of audit actors. tiergate.models.SEARCH_INDEXES lists them.

Revision ID: 0010_console_indexes
Revises: 0009_shown_once
Create Date: 2026-11-28 03:15:00

"""

from alembic import op

revision = "0010_console_indexes"
down_revision = "0009_shown_once"
branch_labels = None
depends_on = None

INDEXES = (
    (
        "tiergate_subscription",
        "ix_tiergate_subscription_provider_provider_customer_id",
        ["provider", "provider_customer_id"],
    ),
    ("tiergate_webhook_event", "ix_tiergate_webhook_event_status_id", ["status", "id"]),
    ("tiergate_audit_event", "ix_tiergate_audit_event_target_id", ["target_id"]),
    ("tiergate_audit_event", "ix_tiergate_audit_event_actor_id", ["actor_id"]),
)

TRIGRAM_INDEXES = (
    ("ix_tiergate_account_name_trgm", "tiergate_account", "lower(name)"),
    ("ix_tiergate_account_slug_trgm", "tiergate_account", "lower(slug)"),
    ("ix_tiergate_audit_event_actor_label_trgm", "tiergate_audit_event", "lower(actor_label)"),
)


def upgrade():
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, table, expression in TRIGRAM_INDEXES:
            op.execute(f"CREATE INDEX {name} ON {table} USING gin ({expression} gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name, _table, _expression in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX {name}")
        # The extension stays: other tables of the database may use it.
    for table, name, _columns in INDEXES:
        op.drop_index(name, table_name=table)
