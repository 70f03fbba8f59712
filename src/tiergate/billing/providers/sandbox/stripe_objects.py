"""Stripe-shaped objects of the sandbox (current API version shapes)."""

from __future__ import annotations

import re
from typing import Any

import stripe

from ....catalog.models import SubscriptionTier
from . import store, stripe_metered, stripe_usage

PERIOD_SECONDS = 30 * 24 * 3600
YEAR_SECONDS = 365 * 24 * 3600
TRIAL_SECONDS = 14 * 24 * 3600
DAY_SECONDS = 24 * 3600
#: The sandbox's yearly price: ten months of the monthly one (two months free).
MONTHS_PER_YEARLY_PRICE = 10


def price(tier: SubscriptionTier, interval: str = "month") -> dict[str, Any]:
    """Return the sandbox's active monthly (or yearly) price of a Stripe tier."""
    yearly = interval == "year"
    key = str(tier.stripe_yearly_lookup_key if yearly else tier.stripe_lookup_key)
    amount = store.amount_in_cents(tier) * (MONTHS_PER_YEARLY_PRICE if yearly else 1)
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
        "recurring": {"interval": interval, "interval_count": 1, "usage_type": "licensed"},
        "type": "recurring",
        "unit_amount": amount,
        "created": 0,
    }


def prices() -> list[dict[str, Any]]:
    """Return every sandbox price: monthly for each tier with a lookup key, yearly beside it."""
    found = []
    for tier in store.sellable_tiers("stripe"):
        found.append(price(tier))
        if tier.stripe_yearly_lookup_key:
            found.append(price(tier, "year"))
    return found + stripe_metered.metered_prices()


def period_seconds(the_price: dict[str, Any]) -> int:
    """Return the length of one billing period of ``the_price``."""
    return YEAR_SECONDS if the_price["recurring"]["interval"] == "year" else PERIOD_SECONDS


def unused_share(sub: dict[str, Any]) -> float:
    """Return the part of the current period still to come, which a change prorates.

    A subscription in its trial has been charged nothing: Stripe makes no prorations for a
    change during a trial, so the share is 0 then.
    """
    if sub.get("status") == "trialing":
        return 0.0
    item = sub["items"]["data"][0]
    start, end = item["current_period_start"], item["current_period_end"]
    return max(end - store.now(), 0) / max(end - start, 1)


def list_of(items: list[dict[str, Any]], url: str, has_more: bool = False) -> dict[str, Any]:
    """Return Stripe's list envelope around ``items``."""
    return {"object": "list", "data": items, "has_more": has_more, "url": url}


def subscription(
    session: dict[str, Any],
    customer: str,
    the_price: dict[str, Any],
    *,
    trial: bool,
    trial_days: int = 0,
    quantity: int = 1,
) -> dict[str, Any]:
    """Return a new subscription paid through a checkout session.

    ``trial_days`` (the session's ``subscription_data.trial_period_days``) starts it
    ``trialing`` until then; ``trial`` alone gives the sandbox's default 14-day trial.
    """
    created = store.now()
    subscription_id = store.new_id("sub")
    trial_seconds = trial_days * DAY_SECONDS if trial_days else (TRIAL_SECONDS if trial else 0)
    trial = bool(trial_seconds)
    period_end = created + (trial_seconds or period_seconds(the_price))
    item = {
        "id": store.new_id("si"),
        "object": "subscription_item",
        "created": created,
        "current_period_start": created,
        "current_period_end": period_end,
        "metadata": {},
        "price": the_price,
        "quantity": quantity,
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


def invoice(
    sub: dict[str, Any], *, paid: bool, billing_reason: str = "subscription_cycle"
) -> dict[str, Any]:
    """Return (and keep, for the invoice list) an invoice of ``sub``'s current period.

    Shape: a subset of the attributes of the ``stripe`` SDK's ``stripe/_invoice.py`` (the
    invoice at the SDK's API version: the subscription at ``parent.subscription_details``,
    ``hosted_invoice_url``, ``number``, ``total``). A trial's first invoice is for 0, paid, as
    Stripe issues it.
    """
    item = sub["items"]["data"][0]
    invoice_id = store.new_id("in")
    trialing = sub.get("status") == "trialing"
    amount = 0 if trialing else item["price"]["unit_amount"] * int(item.get("quantity") or 1)
    lines, metered_through = stripe_usage.invoice_lines(sub, invoice_id, amount)
    amount = sum(line["amount"] for line in lines)
    settled = paid or trialing
    data = {
        "id": invoice_id,
        "object": "invoice",
        "amount_due": amount,
        "amount_paid": amount if settled else 0,
        "amount_remaining": 0 if settled else amount,
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "created": store.now(),
        "currency": "usd",
        "customer": sub["customer"],
        "hosted_invoice_url": store.invoice_url(invoice_id),
        "invoice_pdf": store.invoice_url(invoice_id) + "?format=pdf",
        "lines": list_of(lines, f"/v1/invoices/{invoice_id}/lines"),
        "livemode": False,
        "number": f"SBX-{store.count('stripe', 'invoice') + 1:04d}",
        "parent": {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": sub["metadata"], "subscription": sub["id"]},
        },
        "period_end": item["current_period_end"],
        "period_start": item["current_period_start"],
        "status": "paid" if settled else "open",
        "subtotal": amount,
        "total": amount,
        "_meter_events_through": metered_through,
    }
    owner = store.get("stripe", sub["id"], "subscription")
    store.put("stripe", "invoice", data, owner.account_ref if owner is not None else None)
    return data


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
