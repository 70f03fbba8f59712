"""What a batch migration costs on SQLite. Run: `uv run python -m benchmarks.bench_migrations`.

SQLite cannot alter a table in place: Alembic's batch mode recreates it (create the new table,
copy every row, drop the old one, rename, rebuild the indexes). This benchmark fills
`tiergate_subscription` (with the accounts it refers to) at revision 0004, then times the
upgrade to 0005, which adds seven columns, two checks and two foreign keys to that table, and
next to it a raw `INSERT INTO copy SELECT * FROM tiergate_subscription` of the same rows into
an empty table of the same columns. Prints both, the ratio migration/copy (target <= 1.5) and
the migration's time per million rows at each size (linear growth: the same figure at every
size). The pre-upgrade backup (`VACUUM INTO`) is timed apart: it is a copy of the whole file.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

from flask import Flask

from tiergate import create_app
from tiergate.migrate import backup_sqlite, upgrade_database

BEFORE, AFTER = "0004_webhook_events", "0005_billing_lifecycle"
TABLE = "tiergate_subscription"
SIZES = (250_000, 500_000, 1_000_000)
#: How the UTC timestamp columns store a time on SQLite.
NOW = "'2026-12-01 00:00:00.000000'"


def make_app(path: Path) -> Flask:
    return create_app(
        {
            "TIERGATE_DATABASE_URL": f"sqlite:///{path}",
            "SECRET_KEY": "benchmark-only-secret",
            "TIERGATE_SQLITE_BACKUP": False,
        }
    )


def fill(path: Path, rows: int) -> None:
    """Insert ``rows`` accounts and one subscription each, generated inside SQLite."""
    with sqlite3.connect(path) as connection:
        connection.executescript(
            f"""
            INSERT INTO subscription_tier (name, key, user_limit, is_customer_facing,
                                           is_billing_exempt, billing_provider,
                                           stripe_lookup_key, created_at, updated_at)
            VALUES ('Pro', 'pro', 5, 1, 0, 'stripe', 'pro_monthly', {NOW}, {NOW});
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
            INSERT INTO tiergate_account (id, name, slug, entitlements_version, created_at,
                                          updated_at)
            SELECT i, 'Account ' || i, 'account-' || i, 0, {NOW}, {NOW} FROM n;
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
            INSERT INTO tiergate_subscription (id, account_id, tier_id, provider,
                provider_subscription_id, provider_customer_id, status, current_period_end,
                cancel_at_period_end, provider_updated_at, created_at, updated_at)
            SELECT i, i, 1, 'stripe', 'sub_' || i, 'cus_' || i, 'active',
                   '2027-01-01 00:00:00.000000', 0, {NOW}, {NOW}, {NOW}
            FROM n;
            """
        )


def copy_seconds(path: Path, *, faithful: bool) -> float:
    """Time copying every subscription row with ``INSERT INTO copy SELECT * FROM ...``.

    The bare copy goes into a table of the same columns and nothing else. The faithful one
    goes into a table made from the same ``CREATE TABLE`` (its keys, unique and check
    constraints), with the same indexes built after the rows, as any rebuilt table needs;
    ``WHERE 1`` keeps SQLite from its transfer shortcut (copying the stored records and index
    entries as they are between identical tables), which no migration that changes a
    column can take.
    """
    with sqlite3.connect(path) as connection:
        table_sql, index_sql = _schema(connection)
        if faithful:
            connection.execute(table_sql.replace(f"CREATE TABLE {TABLE}", "CREATE TABLE copy", 1))
        else:
            connection.execute(f"CREATE TABLE copy AS SELECT * FROM {TABLE} WHERE 0")
        started = time.perf_counter()
        connection.execute(f"INSERT INTO copy SELECT * FROM {TABLE} WHERE 1")
        if faithful:
            for sql in index_sql:
                connection.execute(
                    sql.replace(" INDEX ix_", " INDEX copy_ix_", 1).replace(
                        f" ON {TABLE} ", " ON copy ", 1
                    )
                )
        connection.commit()
        seconds = time.perf_counter() - started
        connection.execute("DROP TABLE copy")
    return seconds


def _schema(connection: sqlite3.Connection) -> tuple[str, list[str]]:
    rows = connection.execute(
        "SELECT type, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL", (TABLE,)
    ).fetchall()
    table = next(sql for kind, sql in rows if kind == "table")
    return table, [sql for kind, sql in rows if kind == "index"]


def measure(workdir: Path, rows: int) -> tuple[float, float, float, float]:
    """Return (migration, bare copy, faithful copy, backup) seconds for ``rows`` rows."""
    path = workdir / f"migrate-{rows}.sqlite3"
    app = make_app(path)
    with app.app_context():
        upgrade_database(BEFORE)
    fill(path, rows)
    bare = copy_seconds(path, faithful=False)
    faithful = copy_seconds(path, faithful=True)
    with app.app_context():
        from tiergate.db import db

        started = time.perf_counter()
        backup = backup_sqlite(db.engine)
        backup_seconds = time.perf_counter() - started
        if backup is not None:
            backup.unlink()
        started = time.perf_counter()
        upgrade_database(AFTER)
        migration = time.perf_counter() - started
        db.engine.dispose()
    path.unlink()
    return migration, bare, faithful, backup_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    args = parser.parse_args()
    print(f"SQLite: upgrade {BEFORE} -> {AFTER} (tiergate_subscription recreated by batch mode)")
    print(
        f"{'rows':>10}  {'migration':>9}  {'faithful copy':>13}  {'ratio':>5}  "
        f"{'bare copy':>9}  {'ratio':>5}  {'s per 1M':>8}  {'backup':>6}"
    )
    with tempfile.TemporaryDirectory(prefix="tiergate-bench-") as tmp:
        for rows in args.sizes:
            migration, bare, faithful, backup = measure(Path(tmp), rows)
            print(
                f"{rows:>10}  {migration:>8.2f}s  {faithful:>12.2f}s  "
                f"{migration / faithful:>5.2f}  {bare:>8.2f}s  {migration / bare:>5.2f}  "
                f"{migration / rows * 1e6:>7.2f}s  {backup:>5.2f}s"
            )
    print(
        "target: migration / faithful copy <= 1.5; s per 1M about the same at every size "
        "(linear). The bare copy builds no key or index: no rebuilt table can match it."
    )


if __name__ == "__main__":
    main()
