"""The counter rows: exact conditional adds for hard limits, sharded upserts for soft ones.

Each add is one statement. A hard add is
``UPDATE ... SET used = used + n WHERE ... AND used + n <= limit`` returning the new count
(``RETURNING`` on PostgreSQL and SQLite; on MariaDB the count rides back in the OK packet
through ``LAST_INSERT_ID(expr)``): the database re-evaluates the condition on the row's newest
version under its row lock (PostgreSQL re-checks after waiting; InnoDB updates read the latest
version; SQLite writes one at a time), so the limit holds whatever the number of workers.
Its row is created first in the same transaction, by an insert that does nothing (PostgreSQL,
SQLite) or takes the row's exclusive lock (MariaDB) when the row is there; rows are
remembered per process, so the common add is the ``UPDATE`` alone.

A soft add is an upsert (``INSERT ... ON CONFLICT DO UPDATE`` / ``ON DUPLICATE KEY UPDATE``):
one statement whether the shard's row exists or not.

Statements are built once per dialect and run with bound values: building SQLAlchemy
expressions on every call cost more Python time than the statement's round trip.
"""

from __future__ import annotations

import functools
import random
from typing import cast

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from ..db import db
from .models import UsageCounter

TABLE = cast(sa.Table, UsageCounter.__table__)
C = TABLE.c
#: Counter keys known to exist (a process-wide memo: a row, once made, stays).
_KNOWN: set[tuple[int, str, str, int]] = set()
_KNOWN_MAX = 100_000
_KEY_COLUMNS = (C.account_id, C.permission_key, C.period, C.shard)


def _where(account_id: int, key: str, period: str, shard: int) -> sa.ColumnElement[bool]:
    return sa.and_(
        C.account_id == account_id, C.permission_key == key, C.period == period, C.shard == shard
    )


def _bound_key() -> sa.ColumnElement[bool]:
    return sa.and_(
        C.account_id == sa.bindparam("b_account_id"),
        C.permission_key == sa.bindparam("b_key"),
        C.period == sa.bindparam("b_period"),
        C.shard == sa.bindparam("b_shard"),
    )


def _params(account_id: int, key: str, period: str, shard: int = 0, **more: int) -> dict:
    bound = {"account_id": account_id, "key": key, "period": period, "shard": shard, **more}
    return {f"b_{name}": value for name, value in bound.items()}


@functools.cache
def _add_within_statement(dialect: str) -> sa.Executable:
    amount = sa.bindparam("b_amount", type_=sa.BigInteger)
    statement = sa.update(TABLE).where(
        _bound_key(), C.used + amount <= sa.bindparam("b_limit", type_=sa.BigInteger)
    )
    if dialect == "mysql":
        # MariaDB has no UPDATE ... RETURNING; LAST_INSERT_ID(expr) hands the value back.
        return statement.values(used=sa.func.last_insert_id(C.used + amount))
    return statement.values(used=C.used + amount).returning(C.used)


@functools.cache
def _upsert_statement(dialect: str) -> sa.Executable:
    values = {
        "account_id": sa.bindparam("b_account_id"),
        "permission_key": sa.bindparam("b_key"),
        "period": sa.bindparam("b_period"),
        "shard": sa.bindparam("b_shard"),
        "used": sa.bindparam("b_amount", type_=sa.BigInteger),
    }
    if dialect == "mysql":
        inserted = mysql.insert(TABLE).values(values)
        return inserted.on_duplicate_key_update(used=C.used + inserted.inserted.used)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    upsert = insert(TABLE).values(values)
    return upsert.on_conflict_do_update(
        index_elements=list(_KEY_COLUMNS), set_={"used": C.used + upsert.excluded.used}
    )


@functools.cache
def _sum_statement() -> sa.Executable:
    return sa.select(sa.func.coalesce(sa.func.sum(C.used), 0)).where(
        C.account_id == sa.bindparam("b_account_id"),
        C.permission_key == sa.bindparam("b_key"),
        C.period == sa.bindparam("b_period"),
    )


def _create_if_missing(dialect: str, values: dict) -> sa.Executable:
    if dialect == "postgresql":
        return postgresql.insert(TABLE).values(values).on_conflict_do_nothing()
    if dialect == "mysql":
        # Not INSERT IGNORE: on an existing row that takes a shared lock, and two transactions
        # upgrading theirs to the update's exclusive lock deadlock. This takes it exclusive.
        return mysql.insert(TABLE).values(values).on_duplicate_key_update(used=C.used)
    return sqlite.insert(TABLE).values(values).on_conflict_do_nothing()


def ensure_row(account_id: int, key: str, period: str, shard: int = 0) -> None:
    """Create the counter row when missing, in the caller's transaction."""
    memo = (account_id, key, period, shard)
    if memo in _KNOWN:
        return
    values = {
        "account_id": account_id,
        "permission_key": key,
        "period": period,
        "shard": shard,
        "used": 0,
    }
    connection = db.session.connection()
    connection.execute(_create_if_missing(connection.dialect.name, values))
    if len(_KNOWN) >= _KNOWN_MAX:
        _KNOWN.clear()
    # A memo only: a rolled-back creation is noticed by the add that finds no row.
    _KNOWN.add(memo)


def forget_known() -> None:
    """Forget which rows exist (after rows were deleted, e.g. an account)."""
    _KNOWN.clear()


def _update(where: sa.ColumnElement[bool], used: sa.ColumnElement[int]) -> int:
    result = db.session.execute(
        sa.update(TABLE).where(where).values(used=used),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount)


def _try_add_within(params: dict) -> int | None:
    connection = db.session.connection()
    dialect = connection.dialect.name
    result = connection.execute(_add_within_statement(dialect), params)
    if dialect == "mysql":
        return int(result.lastrowid) if result.rowcount else None
    found = result.scalar_one_or_none()
    return None if found is None else int(found)


def add_within(account_id: int, key: str, period: str, amount: int, limit: int) -> int | None:
    """Add ``amount`` when the count stays within ``limit``; return the new count, or None."""
    ensure_row(account_id, key, period)
    params = _params(account_id, key, period, amount=amount, limit=limit)
    after = _try_add_within(params)
    if after is not None:
        return after
    if locked_used(account_id, key, period) is None:  # the row went away (memo stale)
        forget_known()
        ensure_row(account_id, key, period)
        return _try_add_within(params)
    return None


def add(account_id: int, key: str, period: str, amount: int, shards: int = 1) -> None:
    """Add ``amount`` to one of ``shards`` rows of the count, chosen at random."""
    shard = random.randrange(shards) if shards > 1 else 0
    connection = db.session.connection()
    statement = _upsert_statement(connection.dialect.name)
    connection.execute(statement, _params(account_id, key, period, shard, amount=amount))


def subtract(account_id: int, key: str, period: str, amount: int) -> bool:
    """Take ``amount`` off the count when at least that much is counted; tell if it did."""
    where = sa.and_(_where(account_id, key, period, 0), C.used >= amount)
    return bool(_update(where, C.used - amount))


def set_used(account_id: int, key: str, period: str, used: int) -> None:
    """Set the count to ``used`` (the application reports how many exist)."""
    ensure_row(account_id, key, period)
    where = _where(account_id, key, period, 0)
    if not _update(where, sa.literal(used, sa.BigInteger)):
        forget_known()
        ensure_row(account_id, key, period)
        _update(where, sa.literal(used, sa.BigInteger))


def locked_used(account_id: int, key: str, period: str) -> int | None:
    """Return the hard count's newest value under its row lock (None: no row)."""
    found = db.session.scalar(
        sa.select(C.used).where(_where(account_id, key, period, 0)).with_for_update()
    )
    return None if found is None else int(found)


def used(account_id: int, key: str, period: str) -> int:
    """Return the count: the sum of its shards (not locked; a soft count may be moving)."""
    params = {"b_account_id": account_id, "b_key": key, "b_period": period}
    total = db.session.connection().scalar(_sum_statement(), params)
    return int(total or 0)


def used_by_permission(account_id: int, periods: dict[str, str]) -> dict[str, int]:
    """Return the count of each permission key in its period (``key -> period``)."""
    if not periods:
        return {}
    rows = db.session.execute(
        sa.select(C.permission_key, C.period, sa.func.sum(C.used))
        .where(C.account_id == account_id, C.permission_key.in_(sorted(periods)))
        .group_by(C.permission_key, C.period)
    )
    found = {(key, period): int(total or 0) for key, period, total in rows}
    return {key: found.get((key, period), 0) for key, period in periods.items()}
