"""The inbox at a glance and its retention: backlog, oldest unapplied event, pruning."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ...db import db
from ...errors import ValidationError
from .models import DONE_STATUSES, EVENT_STATUSES, WebhookEvent


@dataclass(frozen=True)
class InboxStats:
    """How many stored events are in each status, and how old the oldest unapplied one is."""

    by_status: dict[str, int]
    #: When the oldest event not yet applied (``received``) arrived; None when there is none.
    oldest_unapplied_at: datetime | None
    now: datetime

    @property
    def backlog(self) -> int:
        """Return how many stored events wait to be applied."""
        return self.by_status["received"]

    @property
    def failed(self) -> int:
        """Return how many stored events failed and wait for a replay."""
        return self.by_status["failed"]

    @property
    def oldest_unapplied_seconds(self) -> float | None:
        """Return the age of the oldest unapplied event in seconds (None when none waits)."""
        if self.oldest_unapplied_at is None:
            return None
        return max(0.0, (self.now - self.oldest_unapplied_at).total_seconds())

    def as_json(self) -> dict[str, Any]:
        """Return the figures the health check and monitoring read."""
        age = self.oldest_unapplied_seconds
        return {
            "backlog": self.backlog,
            "failed": self.failed,
            "oldest_unapplied_seconds": None if age is None else round(age, 1),
        }


def inbox_stats(now: datetime) -> InboxStats:
    """Count stored events per status and find the oldest unapplied one, as of ``now``."""
    # One grouped query over the (status, received_at) index: no scan of the payloads.
    rows = db.session.execute(
        sa.select(
            WebhookEvent.status, sa.func.count(), sa.func.min(WebhookEvent.received_at)
        ).group_by(WebhookEvent.status)
    ).all()
    by_status = dict.fromkeys(EVENT_STATUSES, 0)
    oldest: datetime | None = None
    for status, count, first in rows:
        by_status[status] = count
        if status == "received":
            oldest = first
    return InboxStats(by_status=by_status, oldest_unapplied_at=oldest, now=now)


def prune_cutoff(now: datetime, older_than_days: float) -> datetime:
    """Return the receipt time before which finished events may be pruned."""
    if not older_than_days > 0:
        raise ValidationError(
            f"the retention must be more than 0 days, not {older_than_days!r}",
            field="older_than_days",
        )
    return now - timedelta(days=older_than_days)


def prune_batch(cutoff: datetime, batch_size: int) -> int:
    """Delete up to ``batch_size`` finished events received before ``cutoff``; return how many.

    Only applied (``processed``) and ``ignored`` events go: an unapplied or failed event is
    kept whatever its age, until it is applied or resolved.
    """
    if batch_size < 1:
        raise ValidationError(
            f"the batch size must be at least 1, not {batch_size}", field="batch_size"
        )
    # Ids first, then a delete by primary key: bounded work per statement on every backend
    # (MariaDB refuses LIMIT in a subquery of IN; SQLite may lack DELETE ... LIMIT).
    ids = list(
        db.session.scalars(
            sa.select(WebhookEvent.id)
            .where(WebhookEvent.status.in_(DONE_STATUSES), WebhookEvent.received_at < cutoff)
            .order_by(WebhookEvent.received_at, WebhookEvent.id)
            .limit(batch_size)
        )
    )
    if ids:
        db.session.execute(
            sa.delete(WebhookEvent)
            .where(WebhookEvent.id.in_(ids), WebhookEvent.status.in_(DONE_STATUSES))
            .execution_options(synchronize_session=False)
        )
        db.session.flush()
    return len(ids)
