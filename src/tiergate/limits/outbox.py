"""The meter outbox: billed usage written with the count, reported to Stripe after the commit.

``track`` adds a row in the caller's transaction, so the count and the report to make are
committed together or not at all. A commit that wrote rows wakes a background sender
(meter_worker.py); ``tiergate limits send-meter-events`` sends from cron too (meter_sender.py).
Each row's identifier is the meter event's identifier: Stripe accepts a repeated identifier as
already reported, so a send that succeeded but was not marked is never billed twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import Flask, current_app, has_app_context
from sqlalchemy.orm import Session

from ..db import db, session_listener
from ..entitlements.resolve import Entitlements, LimitedPermission
from ..signals import limit_threshold_reached
from .models import MeterEvent

_WRITTEN = "tiergate.meter_events_written"
_THRESHOLDS = "tiergate.limit_thresholds"


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


def note_threshold(
    account_id: int, permission: str, threshold: int, used: int, limit: int, *, notify: bool = True
) -> None:
    """Send ``limit_threshold_reached`` for this crossing once the transaction commits.

    With ``notify`` and TIERGATE_MAIL_LIMIT_NOTICES, also queue the owners' e-mail about it, now.
    """
    crossing = {
        "account_id": account_id,
        "permission": permission,
        "threshold": threshold,
        "used": used,
        "limit": limit,
    }
    db.session.info.setdefault(_THRESHOLDS, []).append(crossing)
    if notify and current_app.config.get("TIERGATE_MAIL_LIMIT_NOTICES"):
        from ..mail.limit_notices import queue_limit_notice

        # In this transaction: the notice is kept exactly when the count that crossed is.
        queue_limit_notice(account_id, permission, threshold, used, limit)


@session_listener("after_commit")
def _after_commit(session: Session) -> None:
    written = session.info.pop(_WRITTEN, False)
    crossings = session.info.pop(_THRESHOLDS, [])
    if not has_app_context():
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for crossing in crossings:
        limit_threshold_reached.send(app, **crossing)
    if written and app.config.get("TIERGATE_METER_SEND_AFTER_COMMIT"):
        from .meter_worker import EXTENSION_KEY

        worker = app.extensions.get(EXTENSION_KEY)
        if worker is not None:
            worker.wake()


@session_listener("after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
    session.info.pop(_THRESHOLDS, None)


def connect_meter_outbox(app: Flask) -> None:
    """Give ``app`` the background sender that reports meter events after each commit."""
    from .meter_worker import EXTENSION_KEY, MeterWorker

    app.extensions[EXTENSION_KEY] = MeterWorker(app)
