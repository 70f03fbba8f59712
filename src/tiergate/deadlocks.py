"""Transactions the database ended to break a deadlock: recognised, and run again.

MariaDB (1213, and a lock wait timeout 1205), PostgreSQL (40P01, 40001) and SQLite ("database
is locked") each end a whole transaction that lost a lock race; running it again from the
start may succeed. Used where concurrent writers of one account meet (the webhook inbox).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa

from .db import db

#: MariaDB/MySQL "Deadlock found when trying to get lock" and "Lock wait timeout exceeded".
_MARIADB_DEADLOCK_CODES = frozenset({1213, 1205})
#: PostgreSQL deadlock_detected and serialization_failure.
_POSTGRES_DEADLOCK_STATES = frozenset({"40P01", "40001"})
#: How often a transaction chosen as a deadlock victim is run again before its error stands.
DEADLOCK_TRIES = 5

T = TypeVar("T")


def is_deadlock_victim(error: BaseException) -> bool:
    """True when the database ended the transaction to break a deadlock (or was busy).

    The whole transaction is gone, and running it again may succeed.
    """
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    original = error.orig
    code = original.args[0] if original is not None and original.args else None
    if code in _MARIADB_DEADLOCK_CODES:
        return True
    if getattr(original, "sqlstate", None) in _POSTGRES_DEADLOCK_STATES:
        return True
    return type(original).__module__ == "sqlite3" and "database is locked" in str(original)


def retry_deadlocks(
    operation: Callable[[], T], *, what: str, tries: int = DEADLOCK_TRIES, log: Any = None
) -> T:
    """Run ``operation`` in the session's transaction, again after a deadlock; return its result.

    A deadlock victim's transaction is rolled back and ``operation`` runs again from the start,
    at most ``tries`` times with a short, growing pause; each retry is logged. Any other error,
    or the last deadlock, is raised with the transaction rolled back.
    """
    logger = log or logging.getLogger(__name__)
    for attempt in range(1, tries + 1):
        try:
            return operation()
        except sa.exc.DBAPIError as error:
            db.session.rollback()
            if not is_deadlock_victim(error) or attempt == tries:
                raise
            logger.warning(
                "%s: chosen as a deadlock victim (try %d of %d), retrying: %s",
                what,
                attempt,
                tries,
                error.orig,
            )
            time.sleep(random.uniform(0, 0.02 * 2**attempt))
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
