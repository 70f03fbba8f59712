"""Applying acknowledged events off the request path: claim one, apply it, commit, repeat.

A claim is the row lock of the transaction that applies the event (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL and MariaDB, so workers on several hosts share the inbox; the
database's write lock on SQLite, one writer at a time). A worker that dies mid-apply takes
its transaction with it: the database releases the lock, nothing of the apply stays, and
the event is claimable again. Used by `tiergate worker` and the web processes' applier.
"""

from __future__ import annotations

import logging
import threading
from typing import Final

import sqlalchemy as sa

from ...db import WriteTransactionRequired, begin_write_transaction, db, has_written, utcnow
from .models import WebhookEvent
from .services import apply_stored_event
from .views import commit_keeping

logger = logging.getLogger(__name__)

#: Who applies acknowledged events (TIERGATE_WEBHOOK_APPLY).
APPLY_MODES: Final = ("background", "worker", "inline")


def waiting_events() -> sa.Select[WebhookEvent]:
    """Return the query of events a worker may apply now, oldest first.

    An event waits when it is stored and never applied, or failed with a retry now due.
    """
    due = sa.and_(WebhookEvent.status == "failed", WebhookEvent.next_attempt_at <= utcnow())
    return (
        sa.select(WebhookEvent)
        .where(sa.or_(WebhookEvent.status == "received", due))
        .order_by(WebhookEvent.id)
    )


def claim_next() -> WebhookEvent | None:
    """Lock the oldest waiting event no other worker holds, in a new write transaction."""
    session = db.session()
    if session.in_transaction():
        if has_written(session):
            raise WriteTransactionRequired("claim_next() opens its own transaction")
        session.rollback()  # only reads: a claim needs a transaction of its own
    if db.engine.dialect.name == "mysql":
        # READ COMMITTED takes no gap locks on reads: under REPEATABLE READ two workers
        # creating different accounts' subscriptions lock the same index gap and deadlock.
        db.session.connection(execution_options={"isolation_level": "READ COMMITTED"})
    connection = begin_write_transaction()
    query = waiting_events().limit(1)
    if connection.dialect.name != "sqlite":
        # Rows another worker's transaction holds are passed over, not waited for.
        query = query.with_for_update(skip_locked=True)
    return db.session.scalar(query)


def apply_next() -> bool | None:
    """Claim one waiting event, apply it and commit; None when none waits.

    True when this worker applied it, False when another connection got to it first (a
    deadlock retry released the claim in between, say).
    """
    row = claim_next()
    if row is None:
        db.session.rollback()
        return None
    try:
        applied = apply_stored_event(row)
        commit_keeping(row)
    except BaseException:
        db.session.rollback()
        raise
    return applied


def drain(stop: threading.Event | None = None, limit: int | None = None) -> int:
    """Apply waiting events until none is left (or ``stop`` is set); return how many."""
    applied = 0
    while stop is None or not stop.is_set():
        if limit is not None and applied >= limit:
            break
        outcome = apply_next()
        if outcome is None:
            break
        applied += outcome
    return applied


def run_worker(stop: threading.Event, *, poll_seconds: float, once: bool = False) -> int:
    """Apply events until ``stop`` is set (or, with ``once``, until none waits); return how many.

    An error outside an event's own outcome (the database went away, say) is logged and the
    worker goes on after a pause: the event stays waiting and is claimed again.
    """
    applied = 0
    while not stop.is_set():
        try:
            done = drain(stop)
        except Exception:
            logger.exception("webhook worker: applying failed; trying again shortly")
            db.session.rollback()
            if once:
                raise
            stop.wait(poll_seconds)
            continue
        applied += done
        if once:
            break
        stop.wait(poll_seconds)
    return applied
