"""The webhook inbox: record a verified event, apply it exactly once, replay what failed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, Final, cast

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ...audit.services import Actor
from ...db import begin_write_transaction, db, session_listener, utcnow
from ...deadlocks import is_deadlock_victim, retry_deadlocks
from ...entitlements.versions import lock_accounts
from ...errors import Conflict, NotFound, TiergateError, ValidationError
from ...signals import webhook_event_processed
from ..providers import Event, NotOurs, get_provider
from ..services import SubscriptionState, apply_subscription_state
from .models import DONE_STATUSES, EVENT_ID_LENGTH, EVENT_TYPE_LENGTH, WebhookEvent

if TYPE_CHECKING:
    from ..providers import BillingProvider

logger = logging.getLogger(__name__)
_PROCESSED = "tiergate.processed_webhook_events"

#: Events not yet applied: failed ones, and received ones whose processing never finished.
PENDING_STATUSES: Final = ("failed", "received")
#: last_error keeps the start of a long message; the whole of it is in the log.
ERROR_LENGTH: Final = 4000


def handled_event_types(provider: str) -> frozenset[str]:
    """Return the event types ``provider``'s events are applied for (the rest are ignored)."""
    if provider == "stripe":
        from ..providers.stripe import HANDLED_EVENTS as STRIPE_EVENTS

        return STRIPE_EVENTS
    from ..providers.whop import HANDLED_EVENTS as WHOP_EVENTS

    return WHOP_EVENTS


def find_event(
    provider: str, provider_event_id: str, *, locking: bool = False
) -> WebhookEvent | None:
    """Return the stored event ``provider_event_id`` of ``provider``, if any."""
    query = sa.select(WebhookEvent).where(
        WebhookEvent.provider == provider, WebhookEvent.provider_event_id == provider_event_id
    )
    if locking:
        # A locking read sees the latest committed row even under MariaDB's REPEATABLE READ,
        # whose plain reads keep the snapshot taken before the other connection committed.
        query = query.with_for_update(read=True)
    return db.session.scalar(query)


def _row_values(event: Event) -> dict[str, Any]:
    """Return the inbox row of a verified event, refusing ids and types too long to store."""
    if len(event.id) > EVENT_ID_LENGTH or len(event.type) > EVENT_TYPE_LENGTH:
        raise ValidationError(
            f"{event.provider} event id or type is too long to store "
            f"(at most {EVENT_ID_LENGTH} and {EVENT_TYPE_LENGTH} characters)",
            provider=event.provider,
        )
    return {
        "provider": event.provider,
        "provider_event_id": event.id,
        "type": event.type,
        "received_at": utcnow(),
        # Whole seconds on every backend (MariaDB's DATETIME keeps none), so the state an
        # event yields is the same whichever delivery or replay applies it.
        "provider_created_at": event.created.replace(microsecond=0),
        "payload": event.payload,
        "status": "received",
        "attempts": 0,
    }


def record_event(event: Event) -> tuple[WebhookEvent, bool]:
    """Store a verified event in the inbox; return its row and whether it is new."""
    values = _row_values(event)
    # Nothing is read first: a new event (the usual case) costs one INSERT, and a duplicate
    # is told apart by the unique key refusing it.
    fresh = not db.session().in_transaction()
    # SQLite: take the write lock first, so two deliveries of one event queue up here instead
    # of the second failing to upgrade its read snapshot.
    begin_write_transaction()
    row = WebhookEvent(**values)
    try:
        _insert(row, fresh=fresh)
    except IntegrityError:
        # Stored already, by an earlier delivery or by another connection just now.
        existing = find_event(event.provider, event.id, locking=True)
        if existing is None:
            raise
        return existing, False
    return row, True


@cache
def _insert_statement() -> sa.Insert:
    """Return the inbox's INSERT, built once: the values go in as parameters."""
    # The table's own INSERT: an ORM-enabled one, or one built with .values() per event,
    # costs more Python for the same statement.
    return cast(sa.Table, WebhookEvent.__table__).insert()


def store_event(event: Event) -> tuple[str, bool]:
    """Store a verified event without loading it back; return its status and whether it is new.

    The acknowledgement's path: the same row as ``record_event``, written with one Core INSERT
    (no ORM object to build, flush and keep), since nothing applies it in this transaction.
    """
    values = _row_values(event)
    fresh = not db.session().in_transaction()
    begin_write_transaction()
    insert = _insert_statement()
    try:
        if fresh:
            db.session.execute(insert, values)
        else:
            with db.session.begin_nested():
                db.session.execute(insert, values)
    except IntegrityError:
        if fresh:
            db.session.rollback()
        existing = find_event(event.provider, event.id, locking=True)
        if existing is None:
            raise
        return existing.status, False
    return "received", True


def _insert(row: WebhookEvent, *, fresh: bool) -> None:
    if not fresh:
        # The transaction holds the caller's work: a refused INSERT must undo only itself.
        with db.session.begin_nested():
            db.session.add(row)
        return
    # The transaction was opened here and holds nothing else, so a refused INSERT rolls
    # all of it back, which spares the savepoint's two statements on every new event.
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise


def event_of(row: WebhookEvent) -> Event:
    """Rebuild the verified provider event a stored row holds."""
    payload = row.payload
    data = payload.get("data") or {}
    if row.provider == "stripe":
        data = data.get("object") or {}
    return Event(
        row.provider, row.provider_event_id, row.type, row.provider_created_at, data, payload
    )


def process_event(row: WebhookEvent, *, provider: BillingProvider | None = None) -> WebhookEvent:
    """Apply a stored event once, inside a savepoint, and record what happened."""
    apply_stored_event(row, provider=provider)
    return row


def apply_stored_event(row: WebhookEvent, *, provider: BillingProvider | None = None) -> bool:
    """Apply a stored event once and record the outcome; True when this call attempted it.

    False when the event was done already, or another connection attempted it first.
    """
    provider = provider or get_provider(row.provider)
    if not getattr(provider, "api_configured", True):
        # No outbound call: open for writing first, so SQLite never restarts after the reads.
        begin_write_transaction()
    if row.status in DONE_STATUSES:
        return False
    event = event_of(row)
    handled = event.type in handled_event_types(event.provider)
    # Outbound calls (the provider re-fetch) happen before the write lock is taken.
    states, failure = _states(event, provider) if handled else ([], None)
    try:
        # A deadlock victim's whole transaction is gone: claim and apply again from the start.
        return retry_deadlocks(
            lambda: _claim_and_apply(row, event, states, handled=handled, failure=failure),
            what=f"webhook {event.provider} {event.id}",
            log=logger,
        )
    except Exception as error:  # noqa: BLE001 - the real error is recorded on the event
        # The transaction ended under the apply (the last deadlock, or the server rolled it
        # back): record the error that ended it, with its attempt, in a transaction of its own.
        logger.warning("webhook %s %s: applying failed", event.provider, event.id, exc_info=True)
        db.session.rollback()
        return _claim_and_apply(row, event, [], handled=handled, failure=error)


def _claim_and_apply(
    row: WebhookEvent,
    event: Event,
    states: Sequence[SubscriptionState],
    *,
    handled: bool,
    failure: Exception | None,
) -> bool:
    seen_attempts = row.attempts
    begin_write_transaction()
    if not _claim(row.id, seen_attempts):
        # Another delivery or replay of the same event took it first; a locking read shows
        # its outcome even under MariaDB's REPEATABLE READ snapshot.
        db.session.refresh(row, with_for_update={"read": True})
        return False
    set_committed_value(row, "attempts", seen_attempts + 1)
    if failure is None and states:
        # The accounts' rows first, then the subscriptions': the one lock order of every
        # writer, so concurrent events for one account queue instead of deadlocking.
        lock_accounts(db.session(), {state.account_id for state in states})
        failure = _apply(event, states)
    _finish(row, handled=handled, failure=failure)
    return True


def _states(
    event: Event, provider: BillingProvider
) -> tuple[list[SubscriptionState], Exception | None]:
    try:
        return provider.states_from_event(event), None
    except SQLAlchemyError:
        raise  # the transaction is unusable: the caller rolls back, the event stays received
    except NotOurs as error:
        logger.info("webhook %s %s: ignored: %s", event.provider, event.id, error.message)
        return [], error
    except Exception as error:  # noqa: BLE001 - any failure is recorded on the event
        logger.warning("webhook %s %s: mapping failed", event.provider, event.id, exc_info=True)
        return [], error


def _claim(row_id: int, seen_attempts: int) -> bool:
    """Count an attempt, unless another connection has attempted or finished the event."""
    claim = (
        sa.update(WebhookEvent)
        .where(
            WebhookEvent.id == row_id,
            WebhookEvent.attempts == seen_attempts,
            WebhookEvent.status.not_in(DONE_STATUSES),
        )
        .values(attempts=WebhookEvent.attempts + 1)
    )
    # On the session's connection: an ORM-enabled UPDATE costs far more Python for the same
    # statement, and nothing loaded needs synchronising.
    result = db.session.connection().execute(claim)
    return bool(getattr(result, "rowcount", 0) == 1)


def _apply(event: Event, states: Sequence[SubscriptionState]) -> Exception | None:
    actor = Actor.provider(event.provider, event.id)
    # All of an event's states or none: a failure leaves nothing partial behind.
    savepoint = db.session.begin_nested()
    try:
        for state in states:
            apply_subscription_state(state, actor=actor)
        savepoint.commit()
    except Exception as error:  # noqa: BLE001 - any failure is recorded on the event
        try:
            savepoint.rollback()
        except SQLAlchemyError:
            # The database ended the whole transaction (a deadlock victim, say) and the
            # savepoint with it: raise the error that ended it, not the savepoint's.
            raise error from None
        if is_deadlock_victim(error):
            raise  # run the whole transaction again (PostgreSQL keeps it after the savepoint)
        logger.warning("webhook %s %s: applying failed", event.provider, event.id, exc_info=True)
        return error
    return None


def _finish(row: WebhookEvent, *, handled: bool, failure: Exception | None) -> None:
    if isinstance(failure, NotOurs):
        # Another business's subscription on the same provider account: done, with the
        # reason kept, and answered 2xx so the provider does not retry it for days.
        row.status = "ignored"
        row.last_error = describe_error(failure)[:ERROR_LENGTH]
        row.processed_at = utcnow()
    elif failure is not None:
        row.status = "failed"
        row.last_error = describe_error(failure)[:ERROR_LENGTH]
        row.next_attempt_at = next_attempt_at(row.attempts)
    else:
        row.status = "processed" if handled else "ignored"
        row.last_error = None
        row.processed_at = utcnow()
    if row.status != "failed":
        row.next_attempt_at = None
    db.session.flush()
    outcome = {"event_id": row.id, "provider": row.provider, "type": row.type}
    db.session.info.setdefault(_PROCESSED, []).append({**outcome, "status": row.status})


@session_listener("after_commit")
def _announce_processed(session: Session) -> None:
    """Send ``webhook_event_processed`` for each event whose outcome was just committed."""
    processed = session.info.pop(_PROCESSED, [])
    if processed and has_app_context():
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        for outcome in processed:
            webhook_event_processed.send(app, **outcome)


@session_listener("after_rollback")
def _forget_processed(session: Session) -> None:
    session.info.pop(_PROCESSED, None)


#: The longest pause between two automatic attempts of a failing event.
MAX_RETRY_PAUSE: Final = timedelta(hours=1)


def next_attempt_at(attempts: int) -> datetime | None:
    """Return when the workers retry an event that failed ``attempts`` times (None: never)."""
    config = current_app.config if has_app_context() else {}
    limit = int(config.get("TIERGATE_WEBHOOK_MAX_ATTEMPTS", 8))
    if attempts >= limit:
        return None  # left failed: `tiergate events replay` applies it once the cause is fixed
    first = float(config.get("TIERGATE_WEBHOOK_RETRY_SECONDS", 30.0))
    # Doubling after each failure; the exponent is bounded so a large limit cannot overflow.
    seconds = first * 2.0 ** min(max(attempts - 1, 0), 30)
    return utcnow() + min(timedelta(seconds=seconds), MAX_RETRY_PAUSE)


def describe_error(error: Exception) -> str:
    """Return the message stored for a failed event: the error's code and its text."""
    if isinstance(error, TiergateError):
        return f"{error.code}: {error.message}"
    return f"{type(error).__name__}: {error}"


def replay_event(event_id: int) -> WebhookEvent:
    """Apply a stored event that failed or never finished, again."""
    row = db.session.get(WebhookEvent, event_id)
    if row is None:
        raise NotFound(f"no webhook event {event_id}", event_id=event_id)
    if row.status in DONE_STATUSES:
        raise Conflict(
            f"webhook event {event_id} is already {row.status}: there is nothing to replay",
            event_id=event_id,
            status=row.status,
        )
    return process_event(row)


def replay_failed(*, provider: str | None = None, limit: int | None = None) -> list[WebhookEvent]:
    """Apply every failed (or unfinished) event again, oldest first."""
    query = (
        sa.select(WebhookEvent)
        .where(WebhookEvent.status.in_(PENDING_STATUSES))
        .order_by(WebhookEvent.provider_created_at, WebhookEvent.id)
        .limit(limit)
    )
    if provider:
        query = query.where(WebhookEvent.provider == provider)
    rows = list(db.session.scalars(query))
    return [process_event(row) for row in rows]


def list_events(
    *, status: str | None = None, provider: str | None = None, limit: int = 50
) -> list[WebhookEvent]:
    """Return stored events, newest first, optionally filtered."""
    query = sa.select(WebhookEvent).order_by(WebhookEvent.id.desc()).limit(limit)
    if status:
        query = query.where(WebhookEvent.status == status)
    if provider:
        query = query.where(WebhookEvent.provider == provider)
    return list(db.session.scalars(query))
