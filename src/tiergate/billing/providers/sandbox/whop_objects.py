"""Whop-shaped objects of the sandbox: the dated API's shapes, the v1 shape, the envelope.

Memberships are stored in the dated shape (whop-sdk 2.6's ``Membership``, the shape of
``Api-Version-Date`` 2026-10-15-1); ``in_shape`` renders one in the v1 shape instead
(``renewal_period_*``, nested ``user``/``product``/``plan``/``company``: Whop's documented
v1 webhook examples and the Stainless SDK's ``Membership``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from flask import current_app, has_app_context

from ....catalog.models import SubscriptionTier
from ....errors import ConfigurationError
from ..config import DEFAULT_WHOP_API_VERSION_DATE, split_secrets
from . import store

PERIOD_SECONDS = 30 * 24 * 3600
PERIOD_DAYS = 30
TRIAL_SECONDS = 14 * 24 * 3600
COMPANY = {"id": "biz_tiergatesandbox", "route": "tiergate-sandbox", "title": "tiergate sandbox"}
#: The membership shapes the sandbox speaks.
SHAPES: Final = ("dated", "v1")


def webhook_shape() -> str:
    """Return the shape of the sandbox's Whop webhooks (setting TIERGATE_SANDBOX_WHOP_SHAPE)."""
    config = current_app.config if has_app_context() else {}
    shape = str(config.get("TIERGATE_SANDBOX_WHOP_SHAPE") or "dated")
    if shape not in SHAPES:
        raise ConfigurationError(
            f"TIERGATE_SANDBOX_WHOP_SHAPE={shape!r}: expected one of {', '.join(SHAPES)}"
        )
    return shape


def is_one_time(product_id: str | None) -> bool:
    """True when the sandbox sells ``product_id`` as a one-time ("lifetime") plan."""
    if not has_app_context():
        return False
    products = split_secrets(current_app.config.get("TIERGATE_SANDBOX_WHOP_ONE_TIME_PRODUCTS"))
    return product_id in products


def iso(seconds: int | None) -> str | None:
    """Return Unix seconds as the ISO 8601 text Whop uses."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def money(cents: int) -> dict[str, Any]:
    """Return Whop's money object for an amount in cents."""
    return {"amount": f"{cents / 100:.2f}", "currency": "usd", "decimals": 2, "display_decimals": 2}


def plan(tier: SubscriptionTier, purchase_url: str) -> dict[str, Any]:
    """Return the sandbox's one visible plan of a Whop tier's product (monthly or one-time)."""
    cents = store.amount_in_cents(tier)
    stamp = iso(0)
    if is_one_time(tier.whop_product_key):
        # A one-time plan: the catalog shows its initial_price, with no interval.
        return {
            **_plan(tier, purchase_url, cents, stamp),
            "billing_period": None,
            "formatted_price": f"${cents / 100:.2f}",
            "plan_type": "one_time",
            "renewal_price": 0.0,
        }
    return _plan(tier, purchase_url, cents, stamp)


def _plan(
    tier: SubscriptionTier, purchase_url: str, cents: int, stamp: str | None
) -> dict[str, Any]:
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
    """Return a new membership bought through a checkout configuration (dated shape).

    A one-time plan's membership is ``completed`` at once, with no period and no renewal.
    """
    created = store.now()
    period_end = created + (TRIAL_SECONDS if trial else PERIOD_SECONDS)
    membership_id = store.new_id("mem")
    cents = store.amount_in_cents(tier)
    one_time = is_one_time(tier.whop_product_key)
    return {
        "id": membership_id,
        "account": COMPANY,
        "billing_period_days": None if one_time else PERIOD_DAYS,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "created_at": iso(created),
        "current_period_start": None if one_time else iso(created),
        "current_period_end": None if one_time else iso(period_end),
        "initial_price": money(cents),
        "license_key": "LK-" + store.new_id("key").upper(),
        "manage_url": None,
        "metadata": dict(configuration.get("metadata") or {}),
        "plan_id": configuration["plan_id"],
        "product": {"id": tier.whop_product_key, "title": tier.name},
        "product_id": tier.whop_product_key,
        "renewal_price": None if one_time else money(cents),
        "status": "completed" if one_time else "trialing" if trial else "active",
        "updated_at": iso(created),
        "user": {"id": user_id, "username": user_id, "name": "Sandbox buyer"},
        "user_id": user_id,
    }


def next_period(member: dict[str, Any]) -> dict[str, Any]:
    """Return the period fields of the period after ``member``'s current one (none: none)."""
    end = member.get("current_period_end")
    if not end:
        return {}
    start = int(datetime.fromisoformat(end.replace("Z", "+00:00")).timestamp())
    return {"current_period_start": end, "current_period_end": iso(start + PERIOD_SECONDS)}


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
        "total": (member["renewal_price"] or member["initial_price"])["amount"],
        "user_id": member["user_id"],
    }
    owner = store.get("whop", member["id"], "membership")
    store.put("whop", "payment", data, owner.account_ref if owner is not None else None)
    return data


def in_shape(member: dict[str, Any], shape: str) -> dict[str, Any]:
    """Return a stored membership as Whop serialises it in ``shape`` ("dated" or "v1")."""
    public = store.public(member)
    if shape == "dated":
        # The dated Membership names its buyer by user_id only.
        return {key: value for key, value in public.items() if key != "user"}
    buyer = member.get("user") or {}
    user = {
        "id": member.get("user_id"),
        "username": buyer.get("username") or member.get("user_id"),
        "name": buyer.get("name"),
        "email": None,
        "profile_pic": "",
    }
    return {
        "id": member["id"],
        "status": member["status"],
        "created_at": member["created_at"],
        "joined_at": member["created_at"],
        "updated_at": member["updated_at"],
        "manage_url": public.get("manage_url"),
        "member": None,
        "user": user,
        "renewal_period_start": member.get("current_period_start"),
        "renewal_period_end": member.get("current_period_end"),
        "cancel_at_period_end": member["cancel_at_period_end"],
        "cancel_option": None,
        "cancellation_reason": None,
        "canceled_at": member.get("canceled_at"),
        "currency": "usd",
        "company": {"id": COMPANY["id"], "title": COMPANY["title"]},
        "plan": {"id": member["plan_id"]},
        "promo_code": None,
        "product": {"id": member["product_id"], "title": member["product"]["title"]},
        "license_key": member.get("license_key"),
        "metadata": dict(member.get("metadata") or {}),
        "payment_collection_paused": False,
        "custom_field_responses": [],
        "initial_price_paid": f"${member['initial_price']['amount']}",
    }


def event(event_type: str, data: dict[str, Any], shape: str | None = None) -> dict[str, Any]:
    """Return a Whop webhook body carrying a snapshot of ``data``.

    A membership is rendered in ``shape`` (the sandbox's setting by default); the dated
    envelope names its ``api_version_date`` and ``account_id``, the v1 one its ``company_id``.
    """
    shape = shape or webhook_shape()
    body = in_shape(data, shape) if event_type.startswith("membership.") else store.public(data)
    envelope: dict[str, Any] = {
        "id": store.new_id("msg"),
        "api_version": "v1",
        "api_version_date": DEFAULT_WHOP_API_VERSION_DATE if shape == "dated" else None,
        "data": body,
        "timestamp": iso(store.now()),
        "type": event_type,
    }
    envelope["account_id" if shape == "dated" else "company_id"] = COMPANY["id"]
    return envelope


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
