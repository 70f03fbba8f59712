"""The counter rows: exact conditional adds for hard limits, sharded adds for soft ones.

Every add is one ``UPDATE`` of a row that exists. A missing row is created first in the same
transaction by an insert that does nothing (PostgreSQL, SQLite) or takes the row's exclusive
lock (MariaDB) when the row is there; rows are remembered per process, so the common add is
the ``UPDATE`` alone.

A hard add is ``UPDATE ... SET used = used + n WHERE ... AND used + n <= limit``: the
database re-evaluates the condition on the row's newest version under its row lock
(PostgreSQL re-checks after waiting; InnoDB updates read the latest version; SQLite writes
one at a time), so the limit holds whatever the number of workers.
"""

from __future__ import annotations

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


def _where(account_id: int, key: str, period: str, shard: int) -> sa.ColumnElement[bool]:
    return sa.and_(
        C.account_id == account_id, C.permission_key == key, C.period == period, C.shard == shard
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


def add_within(account_id: int, key: str, period: str, amount: int, limit: int) -> bool:
    """Add ``amount`` to the count when the result stays within ``limit``; tell if it did."""
    ensure_row(account_id, key, period)
    where = sa.and_(_where(account_id, key, period, 0), C.used + amount <= limit)
    if _update(where, C.used + amount):
        return True
    if locked_used(account_id, key, period) is None:  # the row went away (memo stale)
        forget_known()
        ensure_row(account_id, key, period)
        return bool(_update(where, C.used + amount))
    return False


def add(account_id: int, key: str, period: str, amount: int, shards: int = 1) -> None:
    """Add ``amount`` to one of ``shards`` rows of the count, chosen at random."""
    shard = random.randrange(shards) if shards > 1 else 0
    ensure_row(account_id, key, period, shard)
    where = _where(account_id, key, period, shard)
    if not _update(where, C.used + amount):
        forget_known()
        ensure_row(account_id, key, period, shard)
        _update(where, C.used + amount)


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
    total = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(C.used), 0)).where(
            C.account_id == account_id, C.permission_key == key, C.period == period
        )
    )
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
