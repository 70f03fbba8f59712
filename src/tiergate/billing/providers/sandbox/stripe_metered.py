"""The sandbox's billing meters and metered prices, defined by a setting.

``TIERGATE_SANDBOX_STRIPE_METERED_PRICES`` names the metered prices the sandbox sells,
comma-separated ``lookup_key:event_name:unit_amount_decimal`` (cents per unit, such as
``api_calls_metered:api_call:0.5``); each event name gets one billing meter (sum of
``value``, customer by ``stripe_customer_id``). Shapes: ``billing.meter`` and ``price`` (with
``recurring.meter``) of stripe/openapi ``fixtures3.json`` and the SDK's ``stripe/_price.py``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from flask import current_app

from ....errors import ConfigurationError
from ..config import split_secrets
from . import store

SETTING: Final = "TIERGATE_SANDBOX_STRIPE_METERED_PRICES"


@dataclass(frozen=True)
class MeteredPrice:
    """One metered price the sandbox sells, as its setting names it."""

    lookup_key: str
    event_name: str
    #: Cents per unit of usage (may have a fraction of a cent).
    unit_amount: Decimal

    @property
    def price_id(self) -> str:
        return "price_sbx_" + _slug(self.lookup_key)

    @property
    def meter_id(self) -> str:
        return meter_id(self.event_name)


def meter_id(event_name: str) -> str:
    """Return the sandbox meter id of an event name (distinct names, distinct ids)."""
    digest = hashlib.sha256(event_name.encode()).hexdigest()[:8]
    return f"mtr_sbx_{_slug(event_name)[:40]}_{digest}"


def configured() -> list[MeteredPrice]:
    """Return the metered prices of the setting, or raise ConfigurationError naming a bad one."""
    found = []
    for entry in split_secrets(current_app.config.get(SETTING)):
        parts = [part.strip() for part in entry.split(":")]
        try:
            key, event_name, amount = parts
            unit_amount = Decimal(amount)
        except (ValueError, InvalidOperation):
            unit_amount = Decimal(-1)
            key = event_name = ""
        if not key or not event_name or not unit_amount.is_finite() or unit_amount < 0:
            raise ConfigurationError(
                f"{SETTING}: {entry!r} is not lookup_key:event_name:unit_amount_decimal "
                "(cents per unit, such as api_calls_metered:api_call:0.5)"
            )
        found.append(MeteredPrice(key, event_name, unit_amount))
    return found


def metered_prices() -> list[dict[str, Any]]:
    """Return the sandbox's metered prices in Stripe's shape."""
    return [price(metered) for metered in configured()]


def price(metered: MeteredPrice) -> dict[str, Any]:
    """Return one metered price: ``recurring.usage_type=metered`` on its meter."""
    whole = metered.unit_amount == metered.unit_amount.to_integral_value()
    return {
        "id": metered.price_id,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": 0,
        "currency": "usd",
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": metered.lookup_key,
        "metadata": {},
        "nickname": metered.event_name,
        "product": "prod_sbx_" + _slug(metered.lookup_key),
        "recurring": {
            "interval": "month",
            "interval_count": 1,
            "meter": metered.meter_id,
            "usage_type": "metered",
            "trial_period_days": None,
        },
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring",
        # Stripe gives a whole-cent amount here, and null for a fraction of a cent.
        "unit_amount": int(metered.unit_amount) if whole else None,
        "unit_amount_decimal": str(metered.unit_amount),
    }


def meters() -> list[dict[str, Any]]:
    """Return the billing meter of each event name the metered prices bill."""
    names = dict.fromkeys(metered.event_name for metered in configured())
    return [meter(name) for name in names]


def meter(event_name: str) -> dict[str, Any]:
    """Return the sandbox's meter of ``event_name``: the sum of ``value`` per customer."""
    return {
        "created": 0,
        "customer_mapping": {"event_payload_key": "stripe_customer_id", "type": "by_id"},
        "default_aggregation": {"formula": "sum"},
        "display_name": event_name,
        "event_name": event_name,
        "event_time_window": None,
        "id": meter_id(event_name),
        "livemode": False,
        "object": "billing.meter",
        "status": "active",
        "status_transitions": {"deactivated_at": None},
        "updated": 0,
        "value_settings": {"event_payload_key": "value"},
    }


def event_names() -> dict[str, str]:
    """Return the event name each metered price bills, by price id."""
    return {metered.price_id: metered.event_name for metered in configured()}


def is_metered(the_price: dict[str, Any]) -> bool:
    """True for a price billed by usage."""
    return (the_price.get("recurring") or {}).get("usage_type") == "metered"


def metered_item(subscription_id: str, the_price: dict[str, Any], created: int) -> dict[str, Any]:
    """Return a subscription item of a metered price: no quantity, usage sets the bill."""
    return {
        "id": store.new_id("si"),
        "object": "subscription_item",
        "created": created,
        "current_period_start": created,
        "current_period_end": created + 30 * 24 * 3600,
        "metadata": {},
        "price": the_price,
        "subscription": subscription_id,
    }


def add_metered_items(subscription: dict[str, Any], session: dict[str, Any]) -> None:
    """Add an item for each metered price a checkout session sold, after the plan's item."""
    by_id = {the_price["id"]: the_price for the_price in metered_prices()}
    items = subscription["items"]["data"]
    for price_id in session.get("_metered_prices") or []:
        item = metered_item(subscription["id"], by_id[price_id], subscription["created"])
        # Usage is billed over the plan's own period.
        item.update(
            current_period_start=items[0]["current_period_start"],
            current_period_end=items[0]["current_period_end"],
        )
        items.append(item)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", text)
