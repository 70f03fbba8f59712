"""The scheduled change read from a Stripe subscription's expanded schedule."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tiergate.billing.providers.stripe_lifecycle import scheduled_change
from tiergate.catalog.models import SubscriptionTier
from tiergate.db import db


def scheduled(lookup_key: str | None) -> dict[str, Any]:
    """A subscription whose schedule's next phase sells a price with ``lookup_key``."""
    price = {"id": "price_next", "lookup_key": lookup_key}
    return {
        "schedule": {
            "status": "active",
            "current_phase": {"start_date": 100, "end_date": 200},
            "phases": [
                {"start_date": 100, "items": [{"price": {"id": "price_now"}}]},
                {"start_date": 200, "items": [{"price": price, "quantity": 1}]},
            ],
        }
    }


def test_a_next_phase_without_a_lookup_key_is_no_scheduled_change(sandbox_app) -> None:
    assert scheduled_change(scheduled(None)) == (None, None)


def test_a_next_phase_on_a_yearly_price_names_its_tier(sandbox_app) -> None:
    pro = db.session.scalar(sa.select(SubscriptionTier.id).where(SubscriptionTier.key == "pro"))
    tier_id, when = scheduled_change(scheduled("pro_yearly"))
    assert tier_id == pro and when is not None and int(when.timestamp()) == 200
