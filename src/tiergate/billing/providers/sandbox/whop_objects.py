"""Whop-shaped objects of the sandbox (the v1 API and its webhook envelope)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ....catalog.models import SubscriptionTier
from . import store

PERIOD_SECONDS = 30 * 24 * 3600
TRIAL_SECONDS = 14 * 24 * 3600
COMPANY = {"id": "biz_tiergatesandbox", "route": "tiergate-sandbox", "title": "tiergate sandbox"}


def iso(seconds: int | None) -> str | None:
    """Return Unix seconds as the ISO 8601 text Whop uses."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def money(cents: int) -> dict[str, Any]:
    """Return Whop's money object for an amount in cents."""
    return {"amount": f"{cents / 100:.2f}", "currency": "usd", "decimals": 2, "display_decimals": 2}


def plan(tier: SubscriptionTier, purchase_url: str) -> dict[str, Any]:
    """Return the sandbox's one visible monthly plan of a Whop tier's product."""
    cents = store.amount_in_cents(tier)
    stamp = iso(0)
    return {
        "id": "plan_sbx_" + str(tier.whop_product_key).removeprefix("prod_"),
        "adaptive_pricing_enabled": False,
        "billing_period": 30,
        "collect_tax": False,
        "created_at": stamp,
        "currency": "usd",
        "custom_fields": [],
        "formatted_price": f"${cents / 100:.2f} / month",
        "initial_price": cents / 100,
        "initial_price_due": money(cents),
        "plan_type": "renewal",
        "product": {"id": tier.whop_product_key, "title": tier.name},
        "purchase_url": purchase_url,
        "release_method": "buy_now",
        "renewal_price": cents / 100,
        "tax_type": "unspecified",
        "title": tier.name,
        "unlimited_stock": True,
        "updated_at": stamp,
        "visibility": "visible",
    }


def membership(
    configuration: dict[str, Any], user_id: str, tier: SubscriptionTier, *, trial: bool
) -> dict[str, Any]:
    """Return a new membership bought through a checkout configuration."""
    created = store.now()
    period_end = created + (TRIAL_SECONDS if trial else PERIOD_SECONDS)
    membership_id = store.new_id("mem")
    cents = store.amount_in_cents(tier)
    return {
        "id": membership_id,
        "account": COMPANY,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "created_at": iso(created),
        "current_period_start": iso(created),
        "current_period_end": iso(period_end),
        "initial_price": money(cents),
        "license_key": "LK-" + store.new_id("key").upper(),
        "manage_url": None,
        "metadata": dict(configuration.get("metadata") or {}),
        "plan_id": configuration["plan_id"],
        "product": {"id": tier.whop_product_key, "title": tier.name},
        "product_id": tier.whop_product_key,
        "renewal_price": money(cents),
        "status": "trialing" if trial else "active",
        "updated_at": iso(created),
        "user": {"id": user_id, "username": user_id, "name": "Sandbox buyer"},
        "user_id": user_id,
    }


def touch(data: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Return ``data`` with ``changes`` and a fresh ``updated_at``."""
    return {**data, **changes, "updated_at": iso(store.now())}


def payment(member: dict[str, Any], *, paid: bool) -> dict[str, Any]:
    """Return (and keep, for the payments list) a payment of ``member``'s current period."""
    data = {
        "id": store.new_id("pay"),
        "created_at": iso(store.now()),
        "membership_id": member["id"],
        "product_id": member["product_id"],
        "status": "paid" if paid else "open",
        "substatus": "succeeded" if paid else "failed",
        "total": member["renewal_price"]["amount"],
        "user_id": member["user_id"],
    }
    owner = store.get("whop", member["id"], "membership")
    store.put("whop", "payment", data, owner.account_ref if owner is not None else None)
    return data


def event(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """Return a Whop webhook body (v1 envelope) carrying a snapshot of ``data``."""
    return {
        "id": store.new_id("msg"),
        "api_version": "v1",
        "api_version_date": None,
        "company_id": COMPANY["id"],
        "data": store.public(data),
        "timestamp": iso(store.now()),
        "type": event_type,
    }


def page(items: list[dict[str, Any]], end_cursor: str | None) -> dict[str, Any]:
    """Return Whop's cursor page envelope (the SDK pages on ``end_cursor``)."""
    return {
        "data": items,
        "page_info": {
            "end_cursor": end_cursor,
            "has_next_page": end_cursor is not None,
            "has_previous_page": False,
            "start_cursor": None,
        },
    }


def error(message: str, status: int) -> Any:
    """Return a Whop error body and status."""
    return {"error": {"type": "invalid_request_error", "message": message}}, status
