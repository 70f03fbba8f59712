"""Stripe objects (current API shapes) to tiergate's normalised subscription state."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..price_format import DisplayPrice, display_price, major_amount
from . import Event
from .resolve import (
    from_unix,
    metadata_account,
    resolve_account_id,
    tier_for_stripe_lookup_keys,
)

if TYPE_CHECKING:
    from ..services import SubscriptionState

#: Stripe statuses that the Subscription model stores under another name.
_STATUS_ALIASES = {"incomplete_expired": "expired"}


def subscription_state(
    subscription: dict[str, Any], observed_at: datetime, *, account_hint: Any = None
) -> SubscriptionState:
    """Map a Stripe subscription object to a SubscriptionState stamped ``observed_at``."""
    from ..services import SubscriptionState

    items = (subscription.get("items") or {}).get("data") or []
    keys = [((item.get("price") or {}).get("lookup_key")) for item in items]
    tier, key = tier_for_stripe_lookup_keys(keys)
    item = items[keys.index(key)]
    customer = _id(subscription.get("customer"))
    account_id = resolve_account_id(
        "stripe",
        object_id=subscription["id"],
        references=[metadata_account(subscription.get("metadata")), account_hint],
        customer_id=customer,
    )
    status = str(subscription["status"])
    # At the current API version the billing period lives on each item; older versions
    # kept it on the subscription itself.
    period_end = item.get("current_period_end") or subscription.get("current_period_end")
    return SubscriptionState(
        provider="stripe",
        provider_subscription_id=subscription["id"],
        provider_customer_id=customer,
        account_id=account_id,
        tier=tier.id,
        status=_STATUS_ALIASES.get(status, status),
        current_period_end=from_unix(period_end),
        cancel_at_period_end=bool(subscription.get("cancel_at_period_end")),
        trial_end=from_unix(subscription.get("trial_end")),
        provider_updated_at=observed_at,
    )


def subscription_id_of(event: Event) -> str | None:
    """Return the id of the subscription a Stripe event concerns, if it names one."""
    data = event.data
    if event.type.startswith("customer.subscription."):
        return _id(data.get("id"))
    if event.type == "checkout.session.completed":
        return _id(data.get("subscription"))
    if event.type.startswith("invoice."):
        # Current API: invoice.parent.subscription_details.subscription; older versions had
        # invoice.subscription.
        parent = data.get("parent") or {}
        details = parent.get("subscription_details") or {}
        return _id(details.get("subscription") or data.get("subscription"))
    return None


def _id(value: Any) -> str | None:
    """Return an object's id whether Stripe sent it as a string or expanded."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


def display_price_of(price: dict[str, Any]) -> DisplayPrice | None:
    """Return what the pricing page shows for a Stripe price, or None without one amount."""
    amount = price.get("unit_amount_decimal") or price.get("unit_amount")
    currency = str(price.get("currency") or "")
    if amount is None or not currency:
        return None  # tiered or usage-based: no single amount to show
    recurring = price.get("recurring") or {}
    interval = recurring.get("interval")
    count = int(recurring.get("interval_count") or 1)
    major = major_amount(Decimal(str(amount)), currency)
    return display_price("stripe", major, currency, interval, count)
