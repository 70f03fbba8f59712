"""Stripe lifecycles in published shapes: any delivery order and duplication ends in-order.

Same-second created/updated pairs, renewals failing with the period rolled over and then
paid, cancellations and foreign subscriptions' events, each delivered through the signed
endpoint without an API key (the events' own payloads are all there is).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tiergate.billing.models import Subscription
from tiergate.db import db
from tiergate.entitlements.services import fresh_entitlements

from ...accounts.factories import make_account
from .lifecycles import Lifecycle, lifecycles, shuffled_with_duplicates
from .support import clean_billing, deliver, inbox, subscription_rows

PROPERTY_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def final_state(account: Any, lifecycle: Lifecycle) -> tuple[Any, ...]:
    """The stored subscription and the entitlements at every probe time."""
    rows = subscription_rows()
    paid_through = [row.paid_through for row in db.session.scalars(sa.select(Subscription))]
    entitlements = []
    for probe in sorted(lifecycle.probes | {lifecycle.events[-1]["created"] + 1}):
        result = fresh_entitlements(account, now=datetime.fromtimestamp(probe, UTC))
        entitlements.append((probe, result.tier_key, result.fallback_reason))
    return rows, paid_through, entitlements


def test_any_delivery_order_ends_in_the_in_order_entitlements(inbox_app) -> None:
    account = make_account("acme")
    client = inbox_app.test_client()

    @PROPERTY_SETTINGS
    @given(lifecycle=lifecycles(account.id), seed=st.integers(0, 2**32 - 1))
    def check(lifecycle: Lifecycle, seed: int) -> None:
        clean_billing()
        assert {deliver(client, "stripe", event).status_code for event in lifecycle.events} == {200}
        in_order = final_state(account, lifecycle)
        assert len(in_order[0]) == 1  # only tiergate's subscription is stored
        statuses = {row.provider_event_id: row.status for row in inbox().values()}

        clean_billing()
        deliveries = shuffled_with_duplicates(lifecycle.events, seed)
        assert {deliver(client, "stripe", event).status_code for event in deliveries} == {200}
        assert final_state(account, lifecycle) == in_order
        stored = inbox()
        assert {event_id: row.status for event_id, row in stored.items()} == statuses
        assert {row.attempts for row in stored.values()} == {1}
        foreign = {event_id for event_id in stored if event_id.startswith("evt_foreign_")}
        assert {stored[event_id].status for event_id in foreign} <= {"ignored"}
        assert {stored[event_id].status for event_id in set(stored) - foreign} == {"processed"}

    check()
