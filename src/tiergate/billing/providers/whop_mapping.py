"""Whop memberships (nested or flat payloads) to tiergate's normalised subscription state."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ...errors import ValidationError
from ..price_format import DisplayPrice, display_price, whop_interval
from . import Event
from .resolve import from_iso, metadata_account, resolve_account_id, tier_for_whop_product

if TYPE_CHECKING:
    from ..services import SubscriptionState

#: Whop membership status -> the Subscription model's status. ``canceling`` still grants
#: access until the period ends, so it is ``active`` with ``cancel_at_period_end``.
STATUS_MAP = {
    "trialing": "trialing",
    "active": "active",
    "canceling": "active",
    "past_due": "past_due",
    "unresolved": "unpaid",
    "completed": "expired",
    "expired": "expired",
    "canceled": "canceled",
    "drafted": "incomplete",
}

#: Statuses under which a license key proves a paid, current membership.
VALID_LICENSE_STATUSES = frozenset({"trialing", "active", "canceling"})


def membership_state(
    membership: dict[str, Any],
    observed_at: datetime,
    *,
    account_id: int | None = None,
) -> SubscriptionState:
    """Map a Whop membership to a SubscriptionState stamped ``observed_at``.

    ``account_id`` attaches the membership to that account explicitly (license keys);
    otherwise it comes from the metadata its checkout carried, else from a known Whop user.
    """
    from ..services import SubscriptionState

    tier = tier_for_whop_product(product_id_of(membership))
    status = normalise_status(membership.get("status"))
    user = user_id_of(membership)
    if account_id is None:
        account_id = resolve_account_id(
            "whop",
            object_id=str(membership.get("id")),
            # The checkout configuration's metadata is copied onto the membership.
            references=[metadata_account(membership.get("metadata"))],
            customer_id=user,
        )
    period_end = from_iso(membership.get("current_period_end") or membership.get("expires_at"))
    raw_status = membership.get("status")
    return SubscriptionState(
        provider="whop",
        provider_subscription_id=str(membership["id"]),
        provider_customer_id=user,
        account_id=account_id,
        tier=tier.id,
        status=status,
        current_period_end=period_end,
        cancel_at_period_end=bool(membership.get("cancel_at_period_end"))
        or raw_status == "canceling",
        trial_end=period_end if raw_status == "trialing" else None,
        provider_updated_at=observed_at,
    )


def normalise_status(status: Any) -> str:
    """Return the Subscription model status for a Whop membership status."""
    try:
        return STATUS_MAP[str(status)]
    except KeyError:
        raise ValidationError(
            f"unknown Whop membership status {status!r}: expected one of "
            + ", ".join(sorted(STATUS_MAP)),
            provider="whop",
        ) from None


def product_id_of(membership: dict[str, Any]) -> str | None:
    """Return the membership's product id from the nested or the flat payload shape."""
    return _nested_or_flat(membership, "product")


def user_id_of(membership: dict[str, Any]) -> str | None:
    """Return the membership's user id from the nested or the flat payload shape."""
    return _nested_or_flat(membership, "user")


def membership_id_of(event: Event) -> str | None:
    """Return the id of the membership a Whop event concerns, if it names one."""
    if event.type.startswith("membership."):
        return _str(event.data.get("id"))
    if event.type.startswith("payment."):
        return _nested_or_flat(event.data, "membership")
    return None


def _nested_or_flat(data: dict[str, Any], name: str) -> str | None:
    nested = data.get(name)
    if isinstance(nested, dict):
        return _str(nested.get("id"))
    return _str(data.get(f"{name}_id") or (nested if isinstance(nested, str) else None))


def _str(value: Any) -> str | None:
    return str(value) if value else None


def plan_display_price(plan: Any) -> DisplayPrice | None:
    """Return what the pricing page shows for a Whop plan, or None without an amount."""
    recurring = str(plan.plan_type) == "renewal" and plan.billing_period
    amount = plan.renewal_price if recurring else plan.initial_price
    if amount is None or not plan.currency:
        return None
    interval, count = whop_interval(plan.billing_period) if recurring else (None, 1)
    return display_price("whop", Decimal(str(amount)), str(plan.currency), interval, count)
