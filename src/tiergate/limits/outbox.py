"""The meter outbox: billed usage written with the count, reported to Stripe after the commit.

``track`` adds a row in the caller's transaction, so the count and the report to make are
committed together or not at all. After a request that committed rows, and from
``tiergate limits send-meter-events`` (a crash between the commit and the send leaves rows
unsent: the command sends them), unsent rows go out in batches. Each row's identifier is the
meter event's identifier: Stripe accepts a repeated identifier as already reported, so a
send that succeeded but was not marked (a crash in between) is never billed twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g, has_app_context, has_request_context
from sqlalchemy.orm import Session

from ..db import db, session_listener, utcnow
from ..entitlements.resolve import Entitlements, LimitedPermission
from ..signals import limit_threshold_reached
from .models import MeterEvent

logger = logging.getLogger(__name__)
_WRITTEN = "tiergate.meter_events_written"
_THRESHOLDS = "tiergate.limit_thresholds"
_PENDING = "tiergate_meter_events_pending"
#: How many meter events one provider call carries.
BATCH_SIZE = 100
ERROR_LENGTH = 500


def record_meter_event(
    entitlements: Entitlements, permission: LimitedPermission, amount: int, now: datetime
) -> MeterEvent | None:
    """Add the use to the outbox when the account pays through Stripe (flush, no commit)."""
    customer = entitlements.provider_customer_id
    if entitlements.provider != "stripe" or not customer or not permission.meter_event_name:
        return None  # nothing to bill: a free, exempt or Whop account (Whop has no meters)
    row = MeterEvent(
        identifier=f"tgm_{uuid.uuid4().hex}",
        account_id=entitlements.account_id,
        permission_key=permission.key,
        event_name=permission.meter_event_name,
        customer_id=customer,
        value=amount,
        occurred_at=now,
    )
    db.session.add(row)
    db.session.info[_WRITTEN] = True
    return row


def note_threshold(account_id: int, permission: str, threshold: int, used: int, limit: int) -> None:
    """Send ``limit_threshold_reached`` for this crossing once the transaction commits."""
    crossing = {
        "account_id": account_id,
        "permission": permission,
        "threshold": threshold,
        "used": used,
        "limit": limit,
    }
    db.session.info.setdefault(_THRESHOLDS, []).append(crossing)


@session_listener("after_commit")
def _after_commit(session: Session) -> None:
    written = session.info.pop(_WRITTEN, False)
    crossings = session.info.pop(_THRESHOLDS, [])
    if not has_app_context():
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for crossing in crossings:
        limit_threshold_reached.send(app, **crossing)
    if written and has_request_context():
        setattr(g, _PENDING, True)


@session_listener("after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
    session.info.pop(_THRESHOLDS, None)


@dataclass
class SendSummary:
    """What one run of the sender did."""

    sent: int = 0
    failed: int = 0
    error: str | None = None


def _stripe_reporter() -> Any:
    from ..billing.providers import get_provider

    return get_provider("stripe")


def _usages(rows: Sequence[MeterEvent]) -> list[Any]:
    from ..billing.providers.stripe_meters import MeterUsage

    return [
        MeterUsage(
            identifier=row.identifier,
            event_name=row.event_name,
            customer_id=row.customer_id,
            value=row.value,
            timestamp=row.occurred_at,
        )
        for row in rows
    ]


def _unsent(limit: int) -> list[MeterEvent]:
    query = sa.select(MeterEvent).where(MeterEvent.sent_at.is_(None)).order_by(MeterEvent.id)
    return list(db.session.scalars(query.limit(limit)))


def _mark(ids: list[int], *, sent: bool, error: str | None = None) -> None:
    values: dict[str, Any] = {"attempts": MeterEvent.attempts + 1, "last_error": error}
    if sent:
        values["sent_at"] = utcnow()
    db.session.execute(sa.update(MeterEvent).where(MeterEvent.id.in_(ids)).values(**values))
    db.session.commit()


def send_meter_events(*, limit: int = 10_000, reporter: Any = None) -> SendSummary:
    """Report unsent meter events in batches; commits (an edge: the CLI or after a request)."""
    summary = SendSummary()
    reporter = reporter or _stripe_reporter()
    while summary.sent + summary.failed < limit:
        rows = _unsent(min(BATCH_SIZE, limit - summary.sent - summary.failed))
        db.session.commit()  # the provider is called outside any open transaction
        if not rows:
            break
        ids = [row.id for row in rows]
        try:
            reporter.report_meter_events(_usages(rows))
        except Exception as error:  # noqa: BLE001 - kept on the rows, retried on the next run
            summary.failed += len(ids)
            summary.error = f"{type(error).__name__}: {error}"[:ERROR_LENGTH]
            _mark(ids, sent=False, error=summary.error)
            break
        _mark(ids, sent=True)
        summary.sent += len(ids)
    return summary


def connect_meter_outbox(app: Flask) -> None:
    """Send, once each request is done, the meter events its commits wrote."""
    app.after_request(_send_after_request)


def _send_after_request(response: Any) -> Any:
    if not g.pop(_PENDING, False) or not current_app.config["TIERGATE_METER_SEND_AFTER_COMMIT"]:
        return response
    try:
        db.session.rollback()  # only reads can be open here
        summary = send_meter_events(limit=BATCH_SIZE)
        if summary.error:
            logger.warning("meter events left for the CLI: %s", summary.error)
    except Exception:  # never turn the request's answer into an error
        db.session.rollback()
        logger.exception("sending meter events failed; `tiergate limits send-meter-events` will")
    return response
