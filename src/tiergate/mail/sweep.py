"""The billing-notice sweep: queue every notice whose cause was committed but never queued.

Notices are queued right after their webhook's commit, by the background sender. A process
that stops in between (a restart, SIGTERM, a command that exits at once) would lose them; the
sweep finds the stored events and tier changes of the last days whose dedupe key has no
outbox row and queues them. Keys make it safe to run anywhere, any number of times.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from ..billing.webhooks.models import DONE_STATUSES, WebhookEvent
from ..db import begin_write_transaction, db, utcnow
from .models import OutgoingMail
from .notices import (
    EVENT_NOTICES,
    event_notice_key,
    plan_notice_key,
    queue_event_notice,
    queue_plan_change_notice,
    tier_changes,
)

#: How far back the sweep looks (Stripe retries a delivery for up to three days).
SWEEP_WINDOW = timedelta(days=3)
#: How often the background sender sweeps while it runs.
SWEEP_INTERVAL = timedelta(minutes=5)
#: Keys looked up per query (well under every backend's bound-parameter limit).
KEYS_PER_QUERY = 500


def sweep_since(now: datetime | None = None) -> datetime:
    """Return the start of the window the sweep and the fast path look at."""
    return (now or utcnow()) - SWEEP_WINDOW


def _queued_keys(keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), KEYS_PER_QUERY):
        chunk = keys[start : start + KEYS_PER_QUERY]
        query = sa.select(OutgoingMail.dedupe_key).where(OutgoingMail.dedupe_key.in_(chunk))
        found.update(key for key in db.session.scalars(query) if key is not None)
    return found


def _notice_events(since: datetime) -> dict[str, int]:
    """Return {dedupe key: webhook event id} of the finished notice events since ``since``."""
    types = [
        sa.and_(WebhookEvent.provider == provider, WebhookEvent.type == type_)
        for provider, type_ in EVENT_NOTICES
    ]
    query = sa.select(WebhookEvent.id, WebhookEvent.provider, WebhookEvent.type).where(
        sa.or_(*types),
        WebhookEvent.status.in_(DONE_STATUSES),
        WebhookEvent.processed_at >= since,
    )
    return {
        event_notice_key(event_id, EVENT_NOTICES[(provider, type_)][0]): event_id
        for event_id, provider, type_ in db.session.execute(query.order_by(WebhookEvent.id))
    }


def sweep_billing_notices(now: datetime | None = None) -> int:
    """Queue the missing notices of recent events and tier changes; return how many were queued."""
    since = sweep_since(now)
    events = _notice_events(since)
    changes = {plan_notice_key(change.id): change for change in tier_changes(since)}
    queued = _queued_keys([*events, *changes])
    if queued.issuperset(events) and queued.issuperset(changes):
        return 0  # the usual case: nothing missing, and no write lock taken
    begin_write_transaction()
    count = 0
    for key, event_id in events.items():
        if key not in queued:
            count += queue_event_notice(event_id)
    for key, change in changes.items():
        if key not in queued:
            count += queue_plan_change_notice(change)
    return count
