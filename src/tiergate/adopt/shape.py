"""What the seed's catalog tables must look like to be adopted, and what differs."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext

from ..db import NAMING_CONVENTION
from ..migrate import VERSION_TABLE

ADOPTED_REVISION = "0001_initial_catalog"
TIMESTAMPS = ("created_at", "updated_at")
#: Revision 0001's CHECK, as that revision wrote it (a revision never changes).
PROVIDERS = ("exempt", "stripe", "whop")


def target_metadata() -> sa.MetaData:
    """Return the three tables exactly as revision 0001 creates them (the convention's names)."""
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    sa.Table(
        "permission",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=True),
    )
    sa.Table(
        "subscription_tier",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("key", sa.String(32), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("user_limit", sa.Integer, nullable=False),
        sa.Column("is_customer_facing", sa.Boolean, nullable=False),
        sa.Column("billing_provider", sa.String(32), nullable=False),
        sa.Column("is_billing_exempt", sa.Boolean, nullable=False),
        sa.Column("stripe_lookup_key", sa.String(128), nullable=True, unique=True),
        sa.Column("whop_product_key", sa.String(128), nullable=True, unique=True),
        sa.Column("fallback_price", sa.String(32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"billing_provider IN {PROVIDERS!r}", name="billing_provider"),
        sa.CheckConstraint("user_limit >= 1", name="user_limit_positive"),
        # Indexes as table items, not index=True: Alembic's batch rebuild skips column flags.
        sa.Index(None, "is_billing_exempt"),
    )
    sa.Table(
        "subscription_tier_permission",
        metadata,
        sa.Column("tier_id", sa.Integer, _cascade("subscription_tier.id"), primary_key=True),
        sa.Column("permission_id", sa.Integer, _cascade("permission.id"), primary_key=True),
        sa.Index(None, "permission_id"),
    )
    return metadata


def _cascade(target: str) -> sa.ForeignKey:
    return sa.ForeignKey(target, ondelete="CASCADE")


def seed_shape_differences(connection: sa.Connection) -> list[str]:
    """Return why the tables cannot be adopted as the seed's (an empty list: they can)."""
    differences = _version_differences(connection)
    inspector = sa.inspect(connection)
    for table in target_metadata().sorted_tables:
        if not inspector.has_table(table.name):
            differences.append(f"table {table.name} is missing")
            continue
        differences += _column_differences(inspector.get_columns(table.name), table)
    if not differences:
        differences += _row_differences(connection, target_metadata())
    return differences


def _version_differences(connection: sa.Connection) -> list[str]:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    heads = context.get_current_heads()
    if not heads:
        return []
    return [f"{VERSION_TABLE} already holds {', '.join(heads)}: run `tiergate db upgrade`"]


def _column_differences(live: list[Any], table: sa.Table) -> list[str]:
    found = {column["name"]: column for column in live}
    differences = []
    for column in table.columns:
        if column.name not in found:
            differences.append(f"column {table.name}.{column.name} is missing")
        elif _family(found[column.name]["type"]) != _family(column.type):
            kind = found[column.name]["type"]
            differences.append(f"column {table.name}.{column.name} is {kind}, not {column.type}")
    for name, column in found.items():
        required = not column["nullable"] and column.get("default") is None
        if name not in table.columns and required:
            differences.append(f"extra column {table.name}.{name} is NOT NULL without a default")
    return differences


def _family(type_: Any) -> str:
    """Name the kind of a column type, as far as holding the seed's values goes."""
    # MariaDB reflects BOOLEAN as TINYINT(1).
    if isinstance(type_, sa.Boolean) or getattr(type_, "display_width", None) == 1:
        return "boolean"
    for kind in (sa.DateTime, sa.Integer, sa.String):
        if isinstance(type_, kind):
            return kind.__name__
    return type(type_).__name__


def _row_differences(connection: sa.Connection, metadata: sa.MetaData) -> list[str]:
    tier, links = (
        metadata.tables["subscription_tier"],
        metadata.tables["subscription_tier_permission"],
    )
    checks = [
        (tier, tier.c.billing_provider.not_in(PROVIDERS), f"billing_provider not in {PROVIDERS}"),
        (tier, tier.c.user_limit < 1, "user_limit below 1"),
    ]
    for table in metadata.sorted_tables:
        checks += _column_checks(connection, table)
    for column in links.c:
        parent = next(iter(column.foreign_keys)).column
        orphan = ~sa.exists().where(parent == column)
        checks.append((links, orphan, f"{column.name} naming no {parent.table.name}"))
    differences = []
    for table, condition, what in checks:
        count = connection.scalar(sa.select(sa.func.count()).select_from(table).where(condition))
        if count:
            differences.append(f"{table.name}: {count} row(s) with {what}")
    return differences + _duplicates(connection, metadata)


def _column_checks(connection: sa.Connection, table: sa.Table) -> list[Any]:
    # SQLite has no char_length; MariaDB's length counts bytes, not characters.
    length = sa.func.length if connection.dialect.name == "sqlite" else sa.func.char_length
    checks: list[Any] = []
    for column in table.columns:
        size = getattr(column.type, "length", None)
        if size:
            checks.append((table, length(column) > size, f"{column.name} longer than {size}"))
        if not column.nullable and column.name not in TIMESTAMPS:
            checks.append((table, column.is_(None), f"{column.name} NULL"))
    return checks


def _duplicates(connection: sa.Connection, metadata: sa.MetaData) -> list[str]:
    # The seed's unique constraints may be missing (a hand-made table): tiergate's are not.
    differences = []
    for table in metadata.sorted_tables:
        for constraint in table.constraints:
            if not isinstance(constraint, sa.UniqueConstraint | sa.PrimaryKeyConstraint):
                continue
            columns = list(constraint.columns)
            query = sa.select(*columns).group_by(*columns).having(sa.func.count() > 1)
            taken = connection.execute(query.where(*(c.is_not(None) for c in columns))).all()
            if taken:
                names = ", ".join(c.name for c in columns)
                differences.append(f"{table.name}: duplicate ({names}) {taken[:3]}")
    return differences
