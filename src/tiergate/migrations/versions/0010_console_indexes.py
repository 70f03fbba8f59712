"""Indexes behind every filter of the console's lists, for keyset paging at millions of rows.

Prefix filters (event type, audit action) get pattern indexes on PostgreSQL. On PostgreSQL
also trigram indexes (the pg_trgm extension, trusted since PostgreSQL 13, so
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

#: Prefix filters: on PostgreSQL LIKE 'x%' uses a btree index only with the pattern operator
#: class (unless the database's collation is "C"); elsewhere a plain index does.
PATTERN_INDEXES = (
    ("tiergate_webhook_event", "ix_tiergate_webhook_event_type", "type", False),
    ("tiergate_audit_event", "ix_tiergate_audit_event_action", "action", True),
)

TRIGRAM_INDEXES = (
    ("ix_tiergate_account_name_trgm", "tiergate_account", "lower(name)"),
    ("ix_tiergate_account_slug_trgm", "tiergate_account", "lower(slug)"),
    ("ix_tiergate_audit_event_actor_label_trgm", "tiergate_audit_event", "lower(actor_label)"),
)


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    for table, name, column, existed in PATTERN_INDEXES:
        if existed and postgresql:
            op.drop_index(name, table_name=table)  # the plain index of 0001's era
        if postgresql or not existed:
            ops = {column: "varchar_pattern_ops"} if postgresql else {}
            op.create_index(name, table, [column], unique=False, postgresql_ops=ops)
    if postgresql:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, table, expression in TRIGRAM_INDEXES:
            op.execute(f"CREATE INDEX {name} ON {table} USING gin ({expression} gin_trgm_ops)")


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        for name, _table, _expression in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX {name}")
        # The extension stays: other tables of the database may use it.
    for table, name, column, existed in PATTERN_INDEXES:
        if postgresql or not existed:
            op.drop_index(name, table_name=table)
        if existed and postgresql:
            op.create_index(name, table, [column], unique=False)
    for table, name, _columns in INDEXES:
        op.drop_index(name, table_name=table)
