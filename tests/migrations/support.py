"""Shared helpers for the migration tests: the revision chain, seed rows and live names."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from tiergate.db import UTCDateTime
from tiergate.migrate import MIGRATIONS_DIR

#: The seed's columns, typed the way the application reads them. Plain table clauses rather
#: than the models, so rows can be written and read at any revision that has these columns.
TIER = sa.table(
    "subscription_tier",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("key", sa.String),
    sa.column("description", sa.Text),
    sa.column("user_limit", sa.Integer),
    sa.column("is_customer_facing", sa.Boolean),
    sa.column("billing_provider", sa.String),
    sa.column("is_billing_exempt", sa.Boolean),
    sa.column("stripe_lookup_key", sa.String),
    sa.column("whop_product_key", sa.String),
    sa.column("fallback_price", sa.String),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
PERMISSION = sa.table(
    "permission",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("description", sa.Text),
)
#: The permission table from revision 0002 on: tiergate's key and timestamps too.
PERMISSION_WITH_KEY = sa.table(
    "permission",
    *(sa.column(column.name, column.type) for column in PERMISSION.c),
    sa.column("key", sa.String),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
LINK = sa.table(
    "subscription_tier_permission",
    sa.column("tier_id", sa.Integer),
    sa.column("permission_id", sa.Integer),
)
CATALOG_TABLES = (TIER, PERMISSION, LINK)

# Whole seconds: MariaDB's DATETIME keeps no fraction.
WRITTEN_AT = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def revisions_base_to_head() -> list[str]:
    """Every revision id of the shipped history, oldest first (follows the one head)."""
    script = ScriptDirectory(
        str(MIGRATIONS_DIR), version_locations=[str(MIGRATIONS_DIR / "versions")]
    )
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


def catalog_rows(first_id: int, label: str) -> dict[str, list[dict[str, Any]]]:
    """Three tiers (one per provider), three permissions and six links, ids from first_id."""
    ids = [first_id, first_id + 1, first_id + 2]
    stamps = {"created_at": WRITTEN_AT, "updated_at": WRITTEN_AT}
    # (name, user_limit, provider, exempt, stripe key, whop key, price, facing, description)
    shapes = [
        ("Free", 1, "exempt", True, None, None, "$0", True, None),
        ("Pro", 5, "stripe", False, f"{label}_pro_monthly", None, "$9", True, "For teams"),
        ("Team", 25, "whop", False, None, f"prod_{label}", None, False, None),
    ]
    columns = (
        "name",
        "user_limit",
        "billing_provider",
        "is_billing_exempt",
        "stripe_lookup_key",
        "whop_product_key",
        "fallback_price",
        "is_customer_facing",
        "description",
    )
    tiers = [
        {
            "id": id_,
            "key": f"{label}-{shape[0].lower()}",
            **dict(zip(columns, shape, strict=True)),
            **stamps,
        }
        for id_, shape in zip(ids, shapes, strict=True)
    ]
    permissions = [
        {"id": id_, "name": f"{label} permission {i}", "description": None}
        for i, id_ in enumerate(ids)
    ]
    links = [{"tier_id": ids[a], "permission_id": ids[b]} for a in range(3) for b in range(a + 1)]
    return {TIER.name: tiers, PERMISSION.name: permissions, LINK.name: links}


def write_catalog_rows(connection: sa.Connection, rows: dict[str, list[Any]]) -> None:
    """Insert the rows of catalog_rows() (parents first), with keys once permissions have them."""
    columns = {column["name"] for column in sa.inspect(connection).get_columns("permission")}
    for table in CATALOG_TABLES:
        batch = rows[table.name]
        if table is PERMISSION and "key" in columns:
            stamps = {"created_at": WRITTEN_AT, "updated_at": WRITTEN_AT}
            keyed = [{**row, "key": f"key.{row['id']}", **stamps} for row in batch]
            connection.execute(sa.insert(PERMISSION_WITH_KEY), keyed)
            continue
        connection.execute(sa.insert(table), batch)


def read_catalog_rows(connection: sa.Connection) -> dict[str, list[dict[str, Any]]]:
    """Read back every seed column of every catalog row, in a stable order."""
    found = {}
    for table in CATALOG_TABLES:
        order = [column for column in table.c if column.name in ("id", "tier_id", "permission_id")]
        result = connection.execute(sa.select(table).order_by(*order))
        found[table.name] = [dict(row._mapping) for row in result]
    return found


def merge_rows(*batches: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Combine several catalog_rows() batches, sorted the way read_catalog_rows() returns."""
    merged: dict[str, list[Any]] = defaultdict(list)
    for batch in batches:
        for table, rows in batch.items():
            merged[table].extend(rows)
    for table in CATALOG_TABLES:
        rows = merged[table.name]
        keys = [c.name for c in table.c if c.name in ("id", "tier_id", "permission_id")]
        rows.sort(key=lambda row: tuple(row[k] for k in keys))
    return dict(merged)
