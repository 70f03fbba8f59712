"""The database foundation: naming convention, base, shared types, and the bound database.

tiergate does not own a Flask-SQLAlchemy instance: it runs on the one the application gives
``TierGate.init_app(app, db=...)``. ``db`` below is tiergate's handle on it, resolved per
application. Listeners are attached to that instance's engine and session by ``init_app``,
never to SQLAlchemy's ``Engine`` or ``Session`` classes, and nothing happens at import.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from flask import current_app
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, SessionTransaction, mapped_column

from .errors import TiergateError

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


class BoundDatabase:
    """tiergate's handle on the Flask-SQLAlchemy instance of the current application.

    ``db.session`` is the application's own scoped session, so tiergate's writes share one
    transaction with the host's.
    """

    @staticmethod
    def bound() -> SQLAlchemy:
        """Return the Flask-SQLAlchemy instance TierGate was given for the current app."""
        try:
            state = current_app.extensions["tiergate"]
        except KeyError:
            raise RuntimeError(
                "tiergate is not initialised on this application: call TierGate.init_app(app, "
                "db=..., user_model=...) in the application factory"
            ) from None
        bound: SQLAlchemy = state.db
        return bound

    @property
    def session(self) -> Any:
        return self.bound().session

    @property
    def engine(self) -> sa.Engine:
        return self.bound().engine


db = BoundDatabase()

#: (event, listener) pairs for the bound session, attached by ``attach_session_listeners``.
SESSION_LISTENERS: list[tuple[str, Callable[..., Any]]] = []


def session_listener(event: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare ``fn`` a listener of ``event`` on the session of every app tiergate is bound to.

    Declaring attaches nothing: ``TierGate.init_app`` attaches the declared listeners to the
    given Flask-SQLAlchemy session, once per instance.
    """

    def declare(fn: Callable[..., Any]) -> Callable[..., Any]:
        SESSION_LISTENERS.append((event, fn))
        return fn

    return declare


def attach_session_listeners(bound: SQLAlchemy) -> None:
    """Attach every declared session listener to ``bound``'s session factory (idempotent)."""
    target = bound.session
    for event, fn in SESSION_LISTENERS:
        if not sa.event.contains(target, event, fn):
            sa.event.listen(target, event, fn)


# --- engines -------------------------------------------------------------------------------

#: PRAGMA synchronous values accepted for TIERGATE_SQLITE_SYNCHRONOUS; OFF is not among them:
#: with it an operating system crash can corrupt the database, not only lose commits.
SQLITE_SYNCHRONOUS_MODES = ("FULL", "NORMAL", "EXTRA")


def _sqlite_connection_settings(dbapi_connection: Any, connection_record: Any) -> None:
    """What tiergate needs of a SQLite connection: a busy timeout and enforced foreign keys.

    The driver's own transaction handling is switched off so that SQLAlchemy emits BEGIN
    itself (see ``_begin_sqlite``): that makes savepoints, transactional DDL and
    ``BEGIN IMMEDIATE`` (the write lock of ``begin_write_transaction``) work.
    """
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _begin_sqlite(connection: sa.Connection) -> None:
    if connection.dialect.name == "sqlite":
        mode = connection.get_execution_options().get("sqlite_begin", "")
        connection.exec_driver_sql(f"BEGIN {mode}".strip())


#: MariaDB's "CONSTRAINT `...` failed for ..." error: a CHECK constraint refused a row.
_MARIADB_CHECK_VIOLATION = 4025


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


_ENGINE_LISTENERS: tuple[tuple[str, Callable[..., Any]], ...] = (
    ("connect", _sqlite_connection_settings),
    ("begin", _begin_sqlite),
    ("handle_error", _check_violation_as_integrity_error),
)


def configure_engine(engine: sa.Engine) -> None:
    """Give ``engine`` the connection settings tiergate relies on (idempotent).

    SQLite: busy timeout, foreign keys on, and transactions begun by SQLAlchemy; MariaDB: CHECK
    violations raised as IntegrityError. Nothing else of the engine changes.
    """
    for event, fn in _ENGINE_LISTENERS:
        if not sa.event.contains(engine, event, fn):
            sa.event.listen(engine, event, fn)


def sqlite_durability(engine: sa.Engine, synchronous: str) -> None:
    """Give a SQLite engine WAL and the PRAGMA synchronous ``synchronous`` (the standalone app).

    These suit a server that owns its database file; an embedding application keeps its own.
    """
    mode = synchronous.strip().upper()
    if mode not in SQLITE_SYNCHRONOUS_MODES:
        raise ValueError(
            f"TIERGATE_SQLITE_SYNCHRONOUS={synchronous!r} is not one of "
            f"{', '.join(SQLITE_SYNCHRONOUS_MODES)}"
        )

    def durability(dbapi_connection: Any, connection_record: Any) -> None:
        if type(dbapi_connection).__module__ != "sqlite3":
            return
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode = WAL")
        # Per connection, not stored in the file. FULL syncs the log at every commit.
        cursor.execute(f"PRAGMA synchronous = {mode}")
        cursor.close()

    sa.event.listen(engine, "connect", durability)


# --- transactions --------------------------------------------------------------------------

_WROTE = "tiergate.wrote_in_transaction"


def has_written(session: Session) -> bool:
    """True when the session's transaction has written, or holds changes not yet flushed."""
    return bool(session.info.get(_WROTE) or session.new or session.dirty or session.deleted)


class WriteTransactionRequired(TiergateError):
    """A write lock was asked for after the transaction had already written."""

    code = "write_transaction_required"
    status = 500


def begin_write_transaction() -> sa.Connection:
    """Open the session's transaction for writing (SQLite: BEGIN IMMEDIATE); call it first.

    PostgreSQL and MariaDB lock rows as they are written or selected FOR UPDATE, so this only
    starts the transaction there. On SQLite a deferred transaction that has read cannot
    reliably become a writer: a transaction that has only read is restarted with the
    database's write lock; one that has written cannot be.
    """
    session = db.session()
    if session.in_transaction():
        connection = session.connection()
        immediate = connection.get_execution_options().get("sqlite_begin") == "IMMEDIATE"
        if connection.dialect.name != "sqlite" or immediate:
            return connection
        if has_written(session):
            raise WriteTransactionRequired(
                "begin_write_transaction() must open the transaction, before any write"
            )
        # Only reads so far: restart as a write transaction (loaded objects reload lazily).
        session.rollback()
    return session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


@session_listener("after_flush")
def _note_write(session: Session, flush_context: object) -> None:
    session.info[_WROTE] = True


@session_listener("after_transaction_end")
def _forget_write(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)


#: The kind of domain error a refusable transaction hands back instead of raising.
RefusalT = TypeVar("RefusalT", bound=TiergateError)


@dataclass
class Refusal(Generic[RefusalT]):
    """How a refusable transaction ended: ``error`` is the refusal it rolled back, else None."""

    error: RefusalT | None = None


@contextmanager
def request_transaction() -> Iterator[None]:
    """Commit the block when it ends normally; on any exception roll back and re-raise it."""
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()


@contextmanager
def refusable_transaction(refusal: type[RefusalT]) -> Iterator[Refusal[RefusalT]]:
    """``request_transaction``, but a ``refusal`` is rolled back and kept in ``.error``.

    For views that answer a refused change with the form or page again, not an error page;
    every other exception is rolled back and raised.
    """
    outcome: Refusal[RefusalT] = Refusal()
    try:
        with request_transaction():
            yield outcome
    except refusal as error:
        outcome.error = error
