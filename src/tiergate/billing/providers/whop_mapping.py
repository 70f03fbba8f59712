"""Whop memberships to tiergate's normalised subscription state, in every shape Whop sends.

Whop serialises a membership in one of several shapes, depending on the webhook's API version
and on the ``Api-Version-Date`` of an API call:

- the dated shape (whop-sdk 2.x ``Membership``): flat ``product_id``/``user_id``/``plan_id``,
  ``current_period_start``/``current_period_end``, ``billing_period_days``;
- the v1 shape (Whop's documented webhook examples, the Stainless SDK's ``Membership``):
  nested ``user``/``product``/``plan``/``company``, ``renewal_period_start``/
  ``renewal_period_end`` and no ``current_period_*``;
- the older v2/v5 shape (``membership.went_valid``): Unix timestamps, ``valid``, ``quantity``
  and an expanded ``plan`` with ``plan_type`` and ``billing_period``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ...errors import ValidationError
from ..price_format import DisplayPrice, display_price, whop_interval
from ..state_order import paid_through
from . import Event, UnknownTier
from .resolve import (
    count_of,
    from_iso,
    metadata_account,
    replaces_of,
    resolve_account_id,
    tier_for_whop_product,
    unless_ours,
)

if TYPE_CHECKING:
    from ...catalog.models import SubscriptionTier
    from ..services import SubscriptionState

#: Whop membership status -> the Subscription model's status. ``canceling`` still grants
#: access until the period ends, so it is ``active`` with ``cancel_at_period_end``;
#: ``completed`` is a paid one-time purchase, which keeps access (unless ``valid`` is false).
STATUS_MAP = {
    "trialing": "trialing",
    "active": "active",
    "canceling": "active",
    "past_due": "past_due",
    "unresolved": "unpaid",
    "completed": "active",
    "expired": "expired",
    "canceled": "canceled",
    "drafted": "incomplete",
}

#: Statuses under which a license key proves a paid, current membership.
VALID_LICENSE_STATUSES = frozenset({"trialing", "active", "canceling", "completed"})


def membership_state(
    membership: dict[str, Any],
    observed_at: datetime,
    *,
    account_id: int | None = None,
    fetched: bool = False,
) -> SubscriptionState:
    """Map a Whop membership (any shape) to a SubscriptionState stamped ``observed_at``.

    ``fetched``: the membership was just read from Whop (an API answer, not an event's
    payload), so it is the state at ``observed_at`` and wins a same-second tie.

    ``account_id`` attaches the membership to that account explicitly (license keys);
    otherwise it comes from the metadata its checkout carried, else from a known Whop user.
    A membership of a product tiergate does not sell, that names no tiergate account and that
    tiergate has never stored, raises NotOurs.
    """
    from ..services import SubscriptionState

    product = product_id_of(membership)
    tier = _tier_of(membership, product, attached=account_id is not None)
    status = normalise_status(membership.get("status"), membership.get("valid"))
    user = user_id_of(membership)
    if account_id is None:
        account_id = resolve_account_id(
            "whop",
            object_id=str(membership.get("id")),
            # The checkout configuration's metadata is copied onto the membership.
            references=[metadata_account(membership.get("metadata"))],
            customer_id=user,
        )
    start, end = period_of(membership)
    one_time = is_one_time(membership)
    raw_status = membership.get("status")
    return SubscriptionState(
        provider="whop",
        provider_subscription_id=str(membership["id"]),
        provider_customer_id=user,
        account_id=account_id,
        tier=tier.id,
        status=status,
        current_period_start=start,
        current_period_end=end,
        # A one-time purchase with an end does not renew: access stops at that end.
        cancel_at_period_end=bool(membership.get("cancel_at_period_end"))
        or raw_status == "canceling"
        or (one_time and end is not None),
        trial_end=end if raw_status == "trialing" else None,
        paid_through=paid_through(status, start, end),
        billing_interval=billing_interval_of(membership, tier, product),
        quantity=count_of(membership.get("quantity")),
        provider_updated_at=observed_at,
        fetched=fetched,
        replaces=replaces_of(membership.get("metadata")),
    )


def _tier_of(
    membership: dict[str, Any], product: str | None, *, attached: bool
) -> SubscriptionTier:
    """Return the membership's tier; raise NotOurs for a membership tiergate did not sell."""
    try:
        return tier_for_whop_product(product)
    except UnknownTier as error:
        if attached:
            raise  # a license key the customer gave: theirs to attach, so the error stands
        metadata = membership.get("metadata")
        raise unless_ours(
            error,
            "whop",
            object_id=str(membership.get("id")),
            metadata=metadata if isinstance(metadata, dict) else None,
            sold=f"product {product!r}",
            customer_id=user_id_of(membership),
        ) from None


def normalise_status(status: Any, valid: Any = None) -> str:
    """Return the Subscription model status for a Whop membership status.

    ``valid`` is Whop's own access flag where the shape carries it: a ``completed`` one-time
    purchase with ``valid: false`` (refunded, revoked) no longer grants.
    """
    try:
        mapped = STATUS_MAP[str(status)]
    except KeyError:
        raise ValidationError(
            f"unknown Whop membership status {status!r}: expected one of "
            + ", ".join(sorted(STATUS_MAP)),
            provider="whop",
        ) from None
    if status == "completed" and valid is False:
        return "expired"
    return mapped


def period_of(membership: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """Return the current period's start and end from the dated or the v1 fields."""
    start = membership.get("current_period_start") or membership.get("renewal_period_start")
    end = (
        membership.get("current_period_end")
        or membership.get("renewal_period_end")
        or membership.get("expires_at")
    )
    return from_iso(start), from_iso(end)


def is_one_time(membership: dict[str, Any]) -> bool:
    """True for a one-time ("lifetime") purchase rather than a renewing membership."""
    plan = membership.get("plan")
    if isinstance(plan, dict) and plan.get("plan_type"):
        return plan.get("plan_type") == "one_time"
    return membership.get("status") == "completed"


def billing_interval_of(
    membership: dict[str, Any], tier: SubscriptionTier, product: str | None
) -> str | None:
    """Return the billing interval: ``once``, else from the plan, else from the catalog."""
    if is_one_time(membership):
        return "once"
    plan = membership.get("plan")
    days = membership.get("billing_period_days")
    if days is None and isinstance(plan, dict):
        days = plan.get("billing_period")
    if isinstance(days, int | float) and not isinstance(days, bool) and days > 0:
        return whop_interval(days)[0]
    if product is not None and product == tier.whop_yearly_product_key:
        return "year"
    return None


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
