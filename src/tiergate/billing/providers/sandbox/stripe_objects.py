"""Stripe-shaped objects of the sandbox (current API version shapes)."""

from __future__ import annotations

import re
from typing import Any

import stripe

from ....catalog.models import SubscriptionTier
from . import store

PERIOD_SECONDS = 30 * 24 * 3600
TRIAL_SECONDS = 14 * 24 * 3600


def price(tier: SubscriptionTier, *, yearly: bool = False) -> dict[str, Any]:
    """Return the sandbox's active monthly (or yearly: ten months' worth) price of a tier."""
    key = str(tier.stripe_yearly_lookup_key if yearly else tier.stripe_lookup_key)
    months = 10 if yearly else 1
    return {
        "id": "price_sbx_" + re.sub(r"[^A-Za-z0-9]", "_", key),
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "currency": "usd",
        "livemode": False,
        "lookup_key": key,
        "metadata": {},
        "nickname": tier.name,
        "product": "prod_sbx_" + tier.key,
        "recurring": {
            "interval": "year" if yearly else "month",
            "interval_count": 1,
            "usage_type": "licensed",
        },
        "type": "recurring",
        "unit_amount": store.amount_in_cents(tier) * months,
        "created": 0,
    }


def prices() -> list[dict[str, Any]]:
    """Return every sandbox price: each Stripe tier's monthly one, and its yearly one."""
    tiers = store.sellable_tiers("stripe")
    yearly = [price(tier, yearly=True) for tier in tiers if tier.stripe_yearly_lookup_key]
    return [price(tier) for tier in tiers] + yearly


def list_of(items: list[dict[str, Any]], url: str, has_more: bool = False) -> dict[str, Any]:
    """Return Stripe's list envelope around ``items``."""
    return {"object": "list", "data": items, "has_more": has_more, "url": url}


def subscription(
    session: dict[str, Any], customer: str, the_price: dict[str, Any], *, trial: bool
) -> dict[str, Any]:
    """Return a new subscription paid through a checkout session."""
    created = store.now()
    subscription_id = store.new_id("sub")
    period_end = created + (TRIAL_SECONDS if trial else PERIOD_SECONDS)
    item = {
        "id": store.new_id("si"),
        "object": "subscription_item",
        "created": created,
        "current_period_start": created,
        "current_period_end": period_end,
        "metadata": {},
        "price": the_price,
        "quantity": 1,
        "subscription": subscription_id,
    }
    return {
        "id": subscription_id,
        "object": "subscription",
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "created": created,
        "currency": "usd",
        "customer": customer,
        "ended_at": None,
        "items": list_of([item], f"/v1/subscription_items?subscription={subscription_id}"),
        "livemode": False,
        "metadata": dict(session.get("_subscription_metadata") or {}),
        "start_date": created,
        "status": "trialing" if trial else "active",
        "trial_end": period_end if trial else None,
        "trial_start": created if trial else None,
    }


def invoice(sub: dict[str, Any], *, paid: bool) -> dict[str, Any]:
    """Return an invoice of ``sub``'s current period (current API: parent.subscription_details)."""
    item = sub["items"]["data"][0]
    return {
        "id": store.new_id("in"),
        "object": "invoice",
        "amount_due": item["price"]["unit_amount"],
        "amount_paid": item["price"]["unit_amount"] if paid else 0,
        "billing_reason": "subscription_cycle",
        "created": store.now(),
        "currency": "usd",
        "customer": sub["customer"],
        "livemode": False,
        "parent": {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": sub["metadata"], "subscription": sub["id"]},
        },
        "period_end": item["current_period_end"],
        "period_start": item["current_period_start"],
        "status": "paid" if paid else "open",
    }


def event(
    event_type: str,
    obj: dict[str, Any],
    *,
    created: int | None = None,
    previous_attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return a Stripe event envelope carrying a snapshot of ``obj``.

    ``previous_attributes`` (``*.updated`` events only) holds the changed fields' old values.
    """
    data: dict[str, Any] = {"object": store.public(obj)}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": store.new_id("evt"),
        "object": "event",
        "api_version": stripe.api_version,
        "created": store.now() if created is None else created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def error(message: str, status: int, *, kind: str = "invalid_request_error", **extra: Any) -> Any:
    """Return a Stripe error body and status."""
    return {"error": {"type": kind, "message": message, **extra}}, status


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Decode Stripe's bracketed form encoding (``a[b][0]=c``) into nested data."""
    root: dict[str, Any] = {}
    for name, value in pairs:
        parts = re.findall(r"[^\[\]]+", name)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _listify(root)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(key.isdigit() for key in node):
        return [_listify(node[key]) for key in sorted(node, key=int)]
    return {key: _listify(value) for key, value in node.items()}
