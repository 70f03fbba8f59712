"""Indexes behind every filter of the console's lists, for keyset paging at millions of rows.

Prefix filters (event type, audit action, audit actor label) get pattern indexes on
PostgreSQL; substring searches of account names and slugs trigram indexes (the pg_trgm
extension, trusted since PostgreSQL 13, so the database's owner may create it).
tiergate.models.SEARCH_INDEXES lists the PostgreSQL-only ones.

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

#: PostgreSQL: (name, table, indexed expression, method and operator class).
EXPRESSION_INDEXES = (
    ("ix_tiergate_account_name_trgm", "tiergate_account", "lower(name)", "gin", "gin_trgm_ops"),
    ("ix_tiergate_account_slug_trgm", "tiergate_account", "lower(slug)", "gin", "gin_trgm_ops"),
    (
        "ix_tiergate_audit_event_actor_label_prefix",
        "tiergate_audit_event",
        "lower(actor_label)",
        "btree",
        "varchar_pattern_ops",
    ),
)


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    for table, name, column, existed in PATTERN_INDEXES:
        if existed and postgresql:
            op.drop_index(name, table_name=table)  # the plain index of 0003
        if postgresql or not existed:
            ops = {column: "varchar_pattern_ops"} if postgresql else {}
            op.create_index(name, table, [column], unique=False, postgresql_ops=ops)
    if postgresql:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, table, expression, method, opclass in EXPRESSION_INDEXES:
            op.execute(f"CREATE INDEX {name} ON {table} USING {method} ({expression} {opclass})")


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        for name, *_ in EXPRESSION_INDEXES:
            op.execute(f"DROP INDEX {name}")
        # The extension stays: other tables of the database may use it.
    for table, name, column, existed in PATTERN_INDEXES:
        if postgresql or not existed:
            op.drop_index(name, table_name=table)
        if existed and postgresql:
            op.create_index(name, table, [column], unique=False)
    for table, name, _columns in INDEXES:
        op.drop_index(name, table_name=table)
