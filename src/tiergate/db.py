"""Declarative base, naming convention, SQLite connection pragmas and the shared types."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Every generated identifier stays within this many characters (PostgreSQL cuts at 63 and
#: MariaDB at 64, each with its own hashing, so names must never reach either limit).
MAX_NAME_LENGTH = 60


def _fit(name: str) -> str:
    """Shorten ``name`` to MAX_NAME_LENGTH with a stable hash suffix when it is too long."""
    if len(name) <= MAX_NAME_LENGTH:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME_LENGTH - 9]}_{digest}"


def _columns(constraint: Any) -> str:
    return "_".join(column.name for column in constraint.columns)


def _ix_name(constraint: Any, table: sa.Table) -> str:
    return _fit(f"ix_{table.name}_{_columns(constraint)}")


def _uq_name(constraint: Any, table: sa.Table) -> str:
    return _fit(f"uq_{table.name}_{_columns(constraint)}")


def _ck_name(constraint: Any, table: sa.Table) -> str:
    name = constraint.name
    if not isinstance(name, str) or not name:
        raise ValueError(f"a check constraint on table {table.name!r} needs a name")
    return _fit(f"ck_{table.name}_{name}")


def _fk_name(constraint: Any, table: sa.Table) -> str:
    local = "_".join(element.parent.name for element in constraint.elements)
    # target_fullname is "table.column" (or "schema.table.column"); the referred table may not
    # exist yet when the constraint is named.
    referred = constraint.elements[0].target_fullname.split(".")[-2]
    return _fit(f"fk_{table.name}_{local}_{referred}")


def _pk_name(constraint: Any, table: sa.Table) -> str:
    return _fit(f"pk_{table.name}")


NAMING_CONVENTION: dict[str, Any] = {
    "ix_name": _ix_name,
    "uq_name": _uq_name,
    # SQLAlchemy applies a convention to an explicitly named constraint only when the
    # convention mentions "constraint_name"; check constraints are always named by hand.
    "ck_constraint_name": _ck_name,
    "fk_name": _fk_name,
    "pk_name": _pk_name,
    "ix": "%(ix_name)s",
    "uq": "%(uq_name)s",
    "ck": "%(ck_constraint_name)s",
    "fk": "%(fk_name)s",
    "pk": "%(pk_name)s",
}


def utcnow() -> datetime:
    """Return the current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A DateTime that always hands back timezone-aware UTC, on every backend.

    SQLite and MariaDB keep no zone: values are stored as naive UTC and tagged on the way out.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: tiergate stores timezone-aware UTC only")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base: every constraint and index gets a deterministic name."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    """created_at / updated_at, set on insert and on update."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


db = SQLAlchemy(model_class=Base)


#: PRAGMA synchronous values accepted from TIERGATE_SQLITE_SYNCHRONOUS; OFF is not among them:
#: with it an operating system crash can corrupt the database, not only lose commits.
SQLITE_SYNCHRONOUS_MODES = ("FULL", "NORMAL", "EXTRA")


def sqlite_synchronous() -> str:
    """Return the PRAGMA synchronous for new SQLite connections (FULL outside an app)."""
    configured = current_app.config.get("SQLITE_SYNCHRONOUS") if has_app_context() else None
    mode = str(configured or "FULL").strip().upper()
    if mode not in SQLITE_SYNCHRONOUS_MODES:
        raise ValueError(
            f"TIERGATE_SQLITE_SYNCHRONOUS={configured!r} is not one of "
            f"{', '.join(SQLITE_SYNCHRONOUS_MODES)}"
        )
    return mode


@sa.event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    """Give every SQLite connection WAL, a busy timeout, enforced foreign keys and durability.

    The driver's own transaction handling is switched off so that SQLAlchemy emits BEGIN
    itself (see ``_begin_sqlite``): that makes savepoints and transactional DDL work.
    """
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    # Per connection, not stored in the file. FULL syncs the log at every commit.
    cursor.execute(f"PRAGMA synchronous = {sqlite_synchronous()}")
    cursor.close()


@sa.event.listens_for(Engine, "begin")
def _begin_sqlite(connection: sa.Connection) -> None:
    if connection.dialect.name == "sqlite":
        mode = connection.get_execution_options().get("sqlite_begin", "")
        connection.exec_driver_sql(f"BEGIN {mode}".strip())


#: MariaDB's "CONSTRAINT `...` failed for ..." error: a CHECK constraint refused a row.
_MARIADB_CHECK_VIOLATION = 4025


@sa.event.listens_for(Engine, "handle_error")
def _check_violation_as_integrity_error(
    context: sa.engine.ExceptionContext,
) -> BaseException | None:
    """Raise MariaDB's CHECK violations as IntegrityError, as every other backend does.

    PyMySQL maps error 4025 to OperationalError, which would otherwise read as a connection
    or server problem instead of a refused row.
    """
    original = context.original_exception
    if context.dialect.name != "mysql" or not original.args:
        return None
    if original.args[0] != _MARIADB_CHECK_VIOLATION:
        return None
    return sa.exc.IntegrityError(context.statement, context.parameters, original)
