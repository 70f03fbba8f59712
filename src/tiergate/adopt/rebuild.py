"""Giving the seed's tables revision 0001's shape, per backend, and stamping it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ..migrate import VERSION_TABLE, alembic_config
from .shape import ADOPTED_REVISION, TIMESTAMPS, target_metadata


def adopt_seed_tables(connection: sa.Connection) -> list[str]:
    """Give the seed's tables revision 0001's shape and stamp it; return the steps taken.

    Call it only when seed_shape_differences() found none. It commits the connection's open
    transaction first (SQLite's foreign_keys pragma needs none open).
    """
    if connection.in_transaction():
        connection.commit()
    if connection.dialect.name == "sqlite":
        return _rebuild_sqlite(connection)
    return _alter_in_place(connection)


def _fill_timestamps(connection: sa.Connection) -> list[str]:
    # Revision 0001 makes them NOT NULL; the seed left them nullable. Naive UTC, the seed's way.
    tier = sa.table("subscription_tier", *(sa.column(name) for name in TIMESTAMPS))
    now = datetime.now(UTC).replace(tzinfo=None)
    steps = []
    for column in tier.c:
        result = connection.execute(tier.update().where(column.is_(None)).values({column: now}))
        if result.rowcount:
            steps.append(f"set {result.rowcount} empty subscription_tier.{column.name} to now")
    return steps


def _stamp(connection: sa.Connection) -> None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    script = ScriptDirectory.from_config(alembic_config(["tiergate"]))
    context.stamp(script, ADOPTED_REVISION)


def _rebuild_sqlite(connection: sa.Connection) -> list[str]:
    """Recreate each table in 0001's shape, rows copied, in one transaction."""
    # Foreign keys off while tables are dropped and renamed (with them on, dropping a parent
    # would cascade). The pragma is ignored inside a transaction: set it outside.
    _sqlite_pragma(connection, "foreign_keys = OFF")
    try:
        steps = _fill_timestamps(connection)
        operations = Operations(MigrationContext.configure(connection))
        metadata = target_metadata()
        inspector = sa.inspect(connection)
        for table in metadata.sorted_tables:
            _keep_extra_columns(table, inspector.get_columns(table.name))
            with operations.batch_alter_table(table.name, recreate="always", copy_from=table):
                pass
            steps.append(f"rebuilt {table.name} in revision 0001's shape")
        violations = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if violations:
            raise RuntimeError(f"adopting would break foreign keys: {violations[:5]}")
        _stamp(connection)
        connection.commit()
        steps.append(f"stamped {ADOPTED_REVISION} in {VERSION_TABLE}")
    except BaseException:
        connection.rollback()
        raise
    finally:
        _sqlite_pragma(connection, "foreign_keys = ON")
    return steps


def _sqlite_pragma(connection: sa.Connection, pragma: str) -> None:
    if connection.in_transaction():
        connection.commit()
    # Straight to the driver: through SQLAlchemy it would run inside a transaction.
    connection.connection.driver_connection.execute(f"PRAGMA {pragma}")  # type: ignore[union-attr]


def _keep_extra_columns(table: sa.Table, live: list[Any]) -> None:
    # The host's own additional columns survive the rebuild.
    for column in live:
        if column["name"] not in table.columns:
            default = column.get("default")
            table.append_column(
                sa.Column(
                    column["name"],
                    column["type"],
                    nullable=column["nullable"],
                    server_default=sa.text(default) if default is not None else None,
                )
            )


def _alter_in_place(connection: sa.Connection) -> list[str]:
    """PostgreSQL and MariaDB: alter columns, rename and add constraints; rows never move.

    One transaction on PostgreSQL. MariaDB commits each DDL statement; each one is atomic and
    none moves a row, so a failure leaves the data intact and a rerun finishes the work.
    """
    operations = Operations(MigrationContext.configure(connection))
    steps = _fill_timestamps(connection)
    for table in target_metadata().sorted_tables:
        inspector = sa.inspect(connection)
        steps += _alter_columns(operations, table, inspector.get_columns(table.name))
        steps += _name_keys(connection, table, inspector)
        steps += _name_indexes(connection, table, inspector)
        steps += _cascade_foreign_keys(operations, table, inspector)
        steps += _add_checks(operations, table, inspector)
    _stamp(connection)
    connection.commit()
    return [*steps, f"stamped {ADOPTED_REVISION} in {VERSION_TABLE}"]


def _alter_columns(operations: Operations, table: sa.Table, live: list[Any]) -> list[str]:
    postgresql = operations.get_bind().dialect.name == "postgresql"
    found = {column["name"]: column for column in live}
    steps = []
    for column in table.columns:
        old = found[column.name]
        length = getattr(column.type, "length", None)
        zoned = postgresql and getattr(column.type, "timezone", False)
        retype = getattr(old["type"], "length", None) != length or (
            zoned and not getattr(old["type"], "timezone", False)
        )
        if not retype and old["nullable"] == column.nullable:
            continue
        # The seed stored naive UTC: read it as UTC when the column gains a zone.
        using = {"postgresql_using": f"{column.name} AT TIME ZONE 'UTC'"} if zoned else {}
        operations.alter_column(
            table.name,
            column.name,
            type_=column.type if retype else None,
            existing_type=old["type"],
            nullable=column.nullable,
            existing_nullable=old["nullable"],
            **(using if retype else {}),
        )
        kind = column.type.compile(dialect=operations.get_bind().dialect)
        steps.append(f"altered {table.name}.{column.name} to {kind} {_null(column)}")
    return steps


def _null(column: sa.Column[Any]) -> str:
    return "NULL" if column.nullable else "NOT NULL"


def _rename(connection: sa.Connection, table: str, old: str, new: str, kind: str) -> str:
    quote = connection.dialect.identifier_preparer.quote
    if connection.dialect.name != "postgresql":  # MariaDB: every key is an index of the table
        connection.exec_driver_sql(
            f"ALTER TABLE {quote(table)} RENAME INDEX {quote(old)} TO {quote(new)}"
        )
    elif kind == "index":
        connection.exec_driver_sql(f"ALTER INDEX {quote(old)} RENAME TO {quote(new)}")
    else:  # renaming the constraint renames the index behind it too
        connection.exec_driver_sql(
            f"ALTER TABLE {quote(table)} RENAME CONSTRAINT {quote(old)} TO {quote(new)}"
        )
    return f"renamed {kind} {table}.{old} to {new}"


def _name_keys(connection: sa.Connection, table: sa.Table, inspector: Any) -> list[str]:
    """Rename the primary key (not on MariaDB: always PRIMARY) and the unique constraints."""
    steps = []
    pk = inspector.get_pk_constraint(table.name)
    if pk["name"] and pk["name"] != table.primary_key.name:
        steps.append(
            _rename(connection, table.name, pk["name"], str(table.primary_key.name), "key")
        )
    live = {
        tuple(uq["column_names"]): uq["name"] for uq in inspector.get_unique_constraints(table.name)
    }
    wanted = [
        (tuple(constraint.columns.keys()), str(constraint.name))
        for constraint in table.constraints
        if isinstance(constraint, sa.UniqueConstraint)
    ]
    return steps + _name_by_columns(connection, table.name, live, wanted, "unique")


def _name_indexes(connection: sa.Connection, table: sa.Table, inspector: Any) -> list[str]:
    live = {
        tuple(ix["column_names"]): ix["name"]
        for ix in inspector.get_indexes(table.name)
        if not ix["unique"] and not ix.get("duplicates_constraint")
    }
    wanted = [(tuple(index.columns.keys()), str(index.name)) for index in table.indexes]
    return _name_by_columns(connection, table.name, live, wanted, "index")


def _name_by_columns(
    connection: sa.Connection,
    table: str,
    live: dict[tuple[str, ...], str],
    wanted: list[tuple[tuple[str, ...], str]],
    kind: str,
) -> list[str]:
    """Create each wanted unique constraint or index the table lacks, rename the misnamed."""
    operations = Operations(MigrationContext.configure(connection))
    create = operations.create_unique_constraint if kind == "unique" else operations.create_index
    steps = []
    for columns, name in wanted:
        if columns not in live:
            create(name, table, list(columns))
            steps.append(f"added {kind} {table}.{name}")
        elif live[columns] != name:
            steps.append(_rename(connection, table, live[columns], name, kind))
    return steps


def _cascade_foreign_keys(operations: Operations, table: sa.Table, inspector: Any) -> list[str]:
    live = {tuple(fk["constrained_columns"]): fk for fk in inspector.get_foreign_keys(table.name)}
    steps = []
    for constraint in table.foreign_key_constraints:
        columns = tuple(constraint.column_keys)
        old = live.get(columns)
        name = str(constraint.name)
        if old and old["name"] == name and old["options"].get("ondelete") == "CASCADE":
            continue
        if old:
            operations.drop_constraint(old["name"], table.name, type_="foreignkey")
        element = constraint.elements[0]
        operations.create_foreign_key(
            name,
            table.name,
            element.column.table.name,
            list(columns),
            [element.column.name],
            ondelete="CASCADE",
        )
        steps.append(f"replaced foreign key {table.name}.{name} (ON DELETE CASCADE)")
    return steps


def _add_checks(operations: Operations, table: sa.Table, inspector: Any) -> list[str]:
    live = {ck["name"] for ck in inspector.get_check_constraints(table.name)}
    steps = []
    for constraint in table.constraints:
        if isinstance(constraint, sa.CheckConstraint) and constraint.name not in live:
            name = str(constraint.name)
            operations.create_check_constraint(name, table.name, str(constraint.sqltext))
            steps.append(f"added check {table.name}.{name}")
    return steps
