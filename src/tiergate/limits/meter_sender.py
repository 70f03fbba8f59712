"""Sending the meter outbox: claimed rows, one bad row never blocks the rest, never billed twice.

A sender claims a batch with one conditional UPDATE (``claimed_until`` in the future and its
own ``claim_token``), commits, and only then calls Stripe, so two senders never send the same
row and a sender that dies leaves rows that become claimable again when the claim expires.
A failure is kept on its row with a backoff; a permanent refusal makes the row ``dead`` (kept,
listed by ``tiergate limits meter-events``, never sent again). A row whose first send is older
than ``REVIEW_AFTER`` is held for a person (``review``): Stripe forgets identifiers after about
24 hours, so sending it again could bill the usage twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..db import db, utcnow
from ..errors import ValidationError
from .models import MeterEvent

logger = logging.getLogger(__name__)
#: How many meter events one claim carries.
BATCH_SIZE = 100
ERROR_LENGTH = 500
#: How long a claim holds its rows (a batch of 100 calls with their timeouts fits in it).
CLAIM_FOR = timedelta(minutes=15)
#: Stripe accepts meter events with a timestamp up to 35 days old.
OLDEST_TIMESTAMP = timedelta(days=35)
#: Stripe's duplicate window is at least 24 hours: past this, a retry may bill twice.
REVIEW_AFTER = timedelta(hours=23)
FIRST_BACKOFF = timedelta(seconds=30)
LONGEST_BACKOFF = timedelta(hours=1)
#: Provider statuses that say "try again later", not "this event is wrong".
_TRANSIENT_STATUSES = (401, 403, 408, 409, 429)


@dataclass
class SendSummary:
    """What one run of the sender did."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    review: int = 0
    error: str | None = None


def backoff(attempts: int) -> timedelta:
    """Return the wait before the next send of a row that failed ``attempts`` times."""
    return min(FIRST_BACKOFF * 2 ** max(attempts - 1, 0), LONGEST_BACKOFF)


def claim_batch(token: str, size: int, now: datetime) -> list[MeterEvent]:
    """Claim up to ``size`` due rows for ``token`` and commit; return them."""
    due = (
        sa.select(MeterEvent.id)
        .where(
            MeterEvent.state == "pending",
            sa.or_(MeterEvent.next_attempt_at.is_(None), MeterEvent.next_attempt_at <= now),
            sa.or_(MeterEvent.claimed_until.is_(None), MeterEvent.claimed_until <= now),
        )
        .order_by(MeterEvent.id)
        .limit(size)
    )
    ids = list(db.session.scalars(due))
    if ids:
        # The same conditions again: of two senders that read the same ids, one wins each row.
        db.session.execute(
            sa.update(MeterEvent)
            .where(
                MeterEvent.id.in_(ids),
                MeterEvent.state == "pending",
                sa.or_(MeterEvent.claimed_until.is_(None), MeterEvent.claimed_until <= now),
            )
            .values(claimed_until=now + CLAIM_FOR, claim_token=token)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    if not ids:
        return []
    mine = sa.select(MeterEvent).where(MeterEvent.claim_token == token, MeterEvent.id.in_(ids))
    rows = list(db.session.scalars(mine.order_by(MeterEvent.id)))
    for row in rows:  # a snapshot: the commits that follow must not reload each row
        db.session.expunge(row)
    db.session.commit()  # the provider is called outside any open transaction
    return rows


def _update(token: str, ids: Sequence[int], **values: Any) -> None:
    if ids:
        db.session.execute(
            sa.update(MeterEvent)
            .where(MeterEvent.id.in_(ids), MeterEvent.claim_token == token)
            .values(claimed_until=None, claim_token=None, **values)
            .execution_options(synchronize_session=False)
        )


def _triage(token: str, rows: list[MeterEvent], now: datetime, summary: SendSummary) -> list[Any]:
    """Set aside rows that must not be sent; return the others as usages."""
    from ..billing.providers.stripe_meters import MeterUsage, check_usage

    usable = []
    for row in rows:
        usage = MeterUsage(
            row.identifier, row.event_name, row.customer_id, row.value, row.occurred_at
        )
        if row.first_attempt_at is not None and now - row.first_attempt_at > REVIEW_AFTER:
            reason = (
                f"first sent {row.first_attempt_at:%Y-%m-%d %H:%M} UTC, beyond Stripe's duplicate"
                " window: check the customer's meter in Stripe, then resolve it by hand"
            )
            logger.error("meter event %s held for review: %s", row.identifier, reason)
            _update(token, [row.id], state="review", last_error=reason)
            summary.review += 1
            continue
        try:
            check_usage(usage)
            if now - row.occurred_at > OLDEST_TIMESTAMP:
                raise ValidationError("Stripe refuses meter events older than 35 days")
        except ValidationError as error:
            _update(token, [row.id], state="dead", last_error=error.message[:ERROR_LENGTH])
            logger.error("meter event %s is dead: %s", row.identifier, error.message)
            summary.dead += 1
            continue
        usable.append(usage)
    db.session.commit()
    return usable


def is_permanent(error: Exception) -> bool:
    """True when Stripe refused the event itself (a 4xx other than auth and rate limits)."""
    from ..billing.providers import ProviderError, ProviderUnavailable

    if not isinstance(error, ProviderError) or isinstance(error, ProviderUnavailable):
        return False
    status = error.details.get("provider_status")
    return isinstance(status, int) and 400 <= status < 500 and status not in _TRANSIENT_STATUSES


def send_batch(reporter: Any, token: str, rows: list[MeterEvent], summary: SendSummary) -> bool:
    """Send the claimed ``rows``, record what happened and commit; tell whether to go on."""
    now = utcnow()
    usable = _triage(token, rows, now, summary)
    if not usable:
        return True
    by_identifier = {row.identifier: row for row in rows}
    untried = [by_identifier[usage.identifier] for usage in usable]
    # Stamped before the call: a crash after Stripe accepted it must still count as a try.
    _stamp_first_attempt(token, [row.id for row in untried], now)
    try:
        reporter.report_meter_events(usable)
    except Exception as error:  # noqa: BLE001 - kept on the row, retried after a backoff
        go_on = _record_failure(token, untried, error, summary)
        db.session.commit()
        return go_on
    _mark_sent(token, [row.id for row in untried])
    summary.sent += len(untried)
    db.session.commit()
    return True


def _stamp_first_attempt(token: str, ids: list[int], now: datetime) -> None:
    db.session.execute(
        sa.update(MeterEvent)
        .where(
            MeterEvent.id.in_(ids),
            MeterEvent.claim_token == token,
            MeterEvent.first_attempt_at.is_(None),
        )
        .values(first_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _mark_sent(token: str, ids: list[int]) -> None:
    _update(token, ids, state="sent", sent_at=utcnow(), attempts=MeterEvent.attempts + 1)


def _record_failure(
    token: str, rows: list[MeterEvent], error: Exception, summary: SendSummary
) -> bool:
    details = getattr(error, "details", {})
    reported = set(details.get("reported") or [])
    failed_id = details.get("failed_identifier")
    message = f"{type(error).__name__}: {error}"[:ERROR_LENGTH]
    _mark_sent(token, [row.id for row in rows if row.identifier in reported])
    summary.sent += len(reported)
    failed = [row for row in rows if row.identifier == failed_id] or [
        row for row in rows if row.identifier not in reported
    ]  # an unexpected error does not say which row failed: all of them may have landed
    failed_ids = {row.id for row in failed}
    untried = [row for row in rows if row.identifier not in reported and row.id not in failed_ids]
    permanent = is_permanent(error)
    for row in failed:
        if permanent:
            _update(token, [row.id], state="dead", attempts=row.attempts + 1, last_error=message)
        else:
            retry_at = utcnow() + backoff(row.attempts + 1)
            _update(
                token,
                [row.id],
                attempts=row.attempts + 1,
                last_error=message,
                next_attempt_at=retry_at,
            )
    # Rows after the failure were never sent: their first attempt is still to come.
    _update(token, [row.id for row in untried if row.attempts == 0], first_attempt_at=None)
    _update(token, [row.id for row in untried if row.attempts > 0])
    if permanent:
        summary.dead += len(failed)
        logger.error("Stripe refused meter event %s for good: %s", failed_id, message)
    else:
        summary.failed += len(failed)
        summary.error = message
    return permanent  # a refused event is its own problem; an outage stops this run


def send_meter_events(*, limit: int = 10_000, reporter: Any = None) -> SendSummary:
    """Claim and report due meter events in batches; commits (an edge: the CLI or a worker)."""
    if reporter is None:
        from ..billing.providers import get_provider

        reporter = get_provider("stripe")
    summary = SendSummary()
    token = uuid.uuid4().hex
    while (done := summary.sent + summary.failed + summary.dead + summary.review) < limit:
        rows = claim_batch(token, min(BATCH_SIZE, limit - done), utcnow())
        if not rows or not send_batch(reporter, token, rows, summary):
            break
    return summary


def stuck_meter_events() -> list[MeterEvent]:
    """Return the meter events that will not be sent again: dead, or held for review."""
    query = sa.select(MeterEvent).where(MeterEvent.state.in_(("dead", "review")))
    return list(db.session.scalars(query.order_by(MeterEvent.id)))
