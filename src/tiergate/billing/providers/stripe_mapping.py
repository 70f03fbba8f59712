"""Stripe objects (current API shapes) to tiergate's normalised subscription state."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..models import INTERVALS
from ..price_format import DisplayPrice, display_price, major_amount
from ..state_order import paid_through
from . import Event, UnknownTier
from .resolve import (
    count_of,
    from_unix,
    metadata_account,
    replaces_of,
    resolve_account_id,
    tier_for_stripe_lookup_keys,
    unless_ours,
)

if TYPE_CHECKING:
    from ..services import SubscriptionState

#: Stripe statuses that the Subscription model stores under another name.
_STATUS_ALIASES = {"incomplete_expired": "expired"}


def subscription_state(
    subscription: dict[str, Any],
    observed_at: datetime,
    *,
    account_hint: Any = None,
    fetched: bool = False,
) -> SubscriptionState:
    """Map a Stripe subscription object to a SubscriptionState stamped ``observed_at``.

    ``fetched``: the object was just read from Stripe (not carried by an event), so it is the
    subscription's state at ``observed_at``.
    """
    from ..services import SubscriptionState

    items = (subscription.get("items") or {}).get("data") or []
    keys = [((item.get("price") or {}).get("lookup_key")) for item in items]
    try:
        tier, key = tier_for_stripe_lookup_keys(keys)
    except UnknownTier as error:
        raise unless_ours(
            error,
            "stripe",
            object_id=str(subscription["id"]),
            metadata=subscription.get("metadata"),
            sold="its price " + ", ".join(_price_named(item) for item in items),
            customer_id=_id(subscription.get("customer")),
            account_hint=account_hint,
        ) from None
    item = items[keys.index(key)]
    customer = _id(subscription.get("customer"))
    account_id = resolve_account_id(
        "stripe",
        object_id=subscription["id"],
        references=[metadata_account(subscription.get("metadata")), account_hint],
        customer_id=customer,
    )
    status = _STATUS_ALIASES.get(str(subscription["status"]), str(subscription["status"]))
    period_start = _period(item, subscription, "current_period_start")
    period_end = _period(item, subscription, "current_period_end")
    return SubscriptionState(
        provider="stripe",
        provider_subscription_id=subscription["id"],
        provider_customer_id=customer,
        account_id=account_id,
        tier=tier.id,
        status=status,
        current_period_start=period_start,
        current_period_end=period_end,
        paid_through=paid_through(status, period_start, period_end),
        billing_interval=interval_of(item.get("price") or {}),
        quantity=count_of(item.get("quantity")),
        cancel_at_period_end=bool(subscription.get("cancel_at_period_end")),
        trial_end=from_unix(subscription.get("trial_end")),
        provider_updated_at=observed_at,
        fetched=fetched,
        replaces=replaces_of(subscription.get("metadata")),
    )


def interval_of(price: dict[str, Any]) -> str | None:
    """Return how often a Stripe price renews (``month``, ``year`` ...), None if unknown."""
    interval = (price.get("recurring") or {}).get("interval")
    return str(interval) if interval in INTERVALS else None


def _period(item: dict[str, Any], subscription: dict[str, Any], name: str) -> datetime | None:
    # At the current API version (2025-03-31 and later) the billing period lives on each
    # item; older versions kept it on the subscription itself.
    value = item.get(name)
    return from_unix(value if value is not None else subscription.get(name))


def _price_named(item: dict[str, Any]) -> str:
    price = item.get("price") or {}
    key = price.get("lookup_key")
    return f"{price.get('id')} ({f'lookup key {key!r}' if key else 'no lookup key'})"


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
