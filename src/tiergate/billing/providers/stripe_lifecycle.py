"""Stripe plan changes through the official SDK: swap, preview, schedule, cancel, quantity.

Each call follows Stripe's published API (stripe-python 16 ``StripeClient.v1``): a plan change
swaps the subscription item's price (``subscriptions.update`` with ``items=[{id, price}]`` and
``proration_behavior``); the preview is ``invoices.create_preview`` with the same
``subscription_details``; a downgrade at the period end is a subscription schedule made
``from_subscription`` whose second phase holds the new price. Every change is sent with an
idempotency key, so a retried or doubled request changes (and charges) once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, cast

import sqlalchemy as sa

from ...catalog.models import SubscriptionTier
from ...db import db
from ...errors import ValidationError
from ..models import Subscription
from .resolve import from_unix

if TYPE_CHECKING:
    import stripe

    from ..services import SubscriptionState

PRORATION_BEHAVIORS: Final = ("create_prorations", "always_invoice", "none")
#: What a re-fetched subscription expands so its scheduled change can be mapped.
EXPAND: Final = ["schedule.phases.items.price"]


@dataclass(frozen=True)
class ChangePreview:
    """What Stripe's invoice preview says a plan change costs."""

    #: The prorations of the change: charged now with ``always_invoice``, else on the next
    #: invoice (in the currency's minor unit; negative: a credit).
    proration_amount: int
    #: The preview invoice's total amount due.
    amount_due: int
    currency: str
    proration_behavior: str
    #: When the previewed invoice is due (None: at once).
    next_payment_at: datetime | None


def check_proration_behavior(value: str) -> str:
    """Return ``value`` if Stripe knows it as a proration behaviour, else raise."""
    if value not in PRORATION_BEHAVIORS:
        raise ValidationError(
            f"TIERGATE_STRIPE_PRORATION_BEHAVIOR={value!r}: use one of "
            + ", ".join(PRORATION_BEHAVIORS)
        )
    return value


def is_metered(price: Any) -> bool:
    """True for an (expanded) Stripe price billed by usage: ``recurring.usage_type=metered``."""
    return isinstance(price, dict) and (price.get("recurring") or {}).get("usage_type") == "metered"


def plan_items(subscription: dict[str, Any]) -> list[dict[str, Any]]:
    """Return a subscription's items that are not metered: the plan's (one, if tiergate sold it)."""
    items = (subscription.get("items") or {}).get("data") or []
    return [item for item in items if not is_metered(item.get("price"))]


def metered_price_ids(subscription: dict[str, Any]) -> list[str]:
    """Return the ids of a subscription's metered prices, in its items' order."""
    items = (subscription.get("items") or {}).get("data") or []
    return [str(item["price"]["id"]) for item in items if is_metered(item.get("price"))]


def the_item(subscription: dict[str, Any]) -> dict[str, Any]:
    """Return the one item of a subscription tiergate sold (its plan's price)."""
    items = plan_items(subscription)  # metered prices ride along, unchanged
    if len(items) != 1:
        raise ValidationError(
            f"Stripe subscription {subscription.get('id')} has {len(items)} items besides "
            "metered ones; tiergate changes subscriptions of exactly one plan price"
        )
    return cast(dict[str, Any], items[0])


def invoices_at_once(subscription: dict[str, Any], price: dict[str, Any], behavior: str) -> bool:
    """True when swapping to ``price`` is charged at once: with ``always_invoice``, or for a
    new billing interval (Stripe resets the billing cycle and invoices then); not in a trial."""
    if subscription.get("status") == "trialing":
        return False
    before = ((the_item(subscription).get("price") or {}).get("recurring") or {}).get("interval")
    after = (price.get("recurring") or {}).get("interval")
    return behavior == "always_invoice" or before != after


def item_change(
    subscription: dict[str, Any], price_id: str, quantity: int | None
) -> dict[str, Any]:
    """Return the ``items`` entry that swaps the subscription's price (and sets a quantity)."""
    item = the_item(subscription)
    change: dict[str, Any] = {"id": item["id"], "price": price_id}
    change["quantity"] = quantity if quantity is not None else int(item.get("quantity") or 1)
    return change


def preview(
    client: stripe.StripeClient,
    subscription: dict[str, Any],
    price_id: str,
    *,
    proration_behavior: str,
    quantity: int | None = None,
) -> ChangePreview:
    """Ask Stripe what swapping the subscription's price to ``price_id`` costs."""
    params: dict[str, Any] = {
        "subscription": subscription["id"],
        "subscription_details": {
            "items": [item_change(subscription, price_id, quantity)],
            "proration_behavior": proration_behavior,
        },
    }
    invoice = client.v1.invoices.create_preview(params=cast(Any, params)).to_dict()
    # Stripe's advice: the prorations are the lines whose parent says proration=true.
    prorations = sum(
        int(line.get("amount") or 0)
        for line in (invoice.get("lines") or {}).get("data") or []
        if ((line.get("parent") or {}).get("subscription_item_details") or {}).get("proration")
    )
    return ChangePreview(
        proration_amount=prorations,
        amount_due=int(invoice.get("amount_due") or 0),
        currency=str(invoice.get("currency") or "usd"),
        proration_behavior=proration_behavior,
        next_payment_at=from_unix(invoice.get("next_payment_attempt")),
    )


def release_schedule(
    client: stripe.StripeClient, subscription: dict[str, Any], idempotency_key: str
) -> None:
    """Release the subscription's schedule, if any: a direct change replaces a scheduled one."""
    schedule = subscription.get("schedule")
    schedule_id = schedule.get("id") if isinstance(schedule, dict) else schedule
    if schedule_id:
        client.v1.subscription_schedules.release(
            schedule_id, options={"idempotency_key": f"{idempotency_key}:release"}
        )


def update(
    client: stripe.StripeClient,
    subscription_id: str,
    params: dict[str, Any],
    idempotency_key: str,
) -> dict[str, Any]:
    """Update a subscription (expanded as a re-fetch is) under an idempotency key."""
    params = {**params, "expand": EXPAND}
    updated = client.v1.subscriptions.update(
        subscription_id, params=cast(Any, params), options={"idempotency_key": idempotency_key}
    )
    return updated.to_dict()


def schedule_at_period_end(
    client: stripe.StripeClient,
    subscription: dict[str, Any],
    price_id: str,
    idempotency_key: str,
    quantity: int | None = None,
) -> None:
    """Schedule the price change for the end of the current period (a downgrade)."""
    schedule = subscription.get("schedule")
    if isinstance(schedule, dict):
        schedule_id = str(schedule["id"])
        current = _current_phase(schedule)
    else:
        created = client.v1.subscription_schedules.create(
            params={"from_subscription": subscription["id"]},
            options={"idempotency_key": f"{idempotency_key}:schedule"},
        ).to_dict()
        schedule_id = str(created["id"])
        current = created["phases"][0]
    item = the_item(subscription)
    interval = ((item.get("price") or {}).get("recurring") or {}).get("interval") or "month"
    # Metered prices carry on into the next phase; Stripe refuses a quantity for them.
    metered = metered_price_ids(subscription)
    phases: list[dict[str, Any]] = [
        {
            "items": _phase_items(current["items"], metered),
            "start_date": current["start_date"],
            "end_date": current["end_date"],
        },
        {
            "items": [
                {"price": price_id, "quantity": quantity or int(item.get("quantity") or 1)},
                *({"price": metered_id} for metered_id in metered),
            ],
            "duration": {"interval": interval, "interval_count": 1},
        },
    ]
    client.v1.subscription_schedules.update(
        schedule_id,
        params=cast(Any, {"phases": phases, "end_behavior": "release"}),
        options={"idempotency_key": f"{idempotency_key}:phases"},
    )


def _current_phase(schedule: dict[str, Any]) -> dict[str, Any]:
    phases = schedule.get("phases") or []
    start = (schedule.get("current_phase") or {}).get("start_date")
    return next((phase for phase in phases if phase.get("start_date") == start), phases[0])


def _phase_items(items: list[dict[str, Any]], metered: list[str]) -> list[dict[str, Any]]:
    """Return a phase's items as a schedule update names them (metered ones without quantity)."""
    return [
        {"price": _price_id(item)}
        if _price_id(item) in metered
        else {"price": _price_id(item), "quantity": int(item.get("quantity") or 1)}
        for item in items
    ]


def _price_id(item: dict[str, Any]) -> str:
    price = item.get("price")
    return str(price.get("id") if isinstance(price, dict) else price)


def with_lifecycle(state: SubscriptionState, subscription: dict[str, Any]) -> SubscriptionState:
    """Return ``state`` with the interval, quantity and scheduled change Stripe reports."""
    items = plan_items(subscription)
    if len(items) != 1:
        return state
    item = items[0]
    recurring = (item.get("price") or {}).get("recurring") or {}
    schedule = subscription.get("schedule")
    if isinstance(schedule, str) and schedule:
        # An event's payload names the schedule without its phases: what is known stays.
        scheduled_tier_id, scheduled_at = stored_schedule(str(subscription["id"]))
    else:
        scheduled_tier_id, scheduled_at = scheduled_change(subscription)
    return replace(
        state,
        billing_interval=recurring.get("interval") or state.billing_interval,
        quantity=int(item.get("quantity") or 1),
        scheduled_tier_id=scheduled_tier_id,
        scheduled_change_at=scheduled_at,
    )


def scheduled_change(subscription: dict[str, Any]) -> tuple[int | None, datetime | None]:
    """Return the tier and time of the next phase of the subscription's (expanded) schedule."""
    schedule = subscription.get("schedule")
    if not isinstance(schedule, dict) or schedule.get("status") not in ("active", "not_started"):
        return None, None
    current_end = (schedule.get("current_phase") or {}).get("end_date")
    upcoming = [p for p in schedule.get("phases") or [] if p.get("start_date") == current_end]
    if current_end is None or not upcoming or not upcoming[0].get("items"):
        return None, None
    price = upcoming[0]["items"][0].get("price")
    key = price.get("lookup_key") if isinstance(price, dict) else None
    if not key:
        # A price without a lookup key is not the catalog's (and "= NULL" would match every
        # tier without a Stripe price, the free one among them).
        return None, None
    tier_id = db.session.scalar(
        sa.select(SubscriptionTier.id).where(
            sa.or_(
                SubscriptionTier.stripe_lookup_key == key,
                SubscriptionTier.stripe_yearly_lookup_key == key,
            )
        )
    )
    if tier_id is None:
        return None, None
    return tier_id, from_unix(current_end)


def stored_schedule(subscription_id: str) -> tuple[int | None, datetime | None]:
    """Return the scheduled change stored for a Stripe subscription, if any."""
    found = db.session.execute(
        sa.select(Subscription.scheduled_tier_id, Subscription.scheduled_change_at).where(
            Subscription.provider == "stripe",
            Subscription.provider_subscription_id == subscription_id,
        )
    ).first()
    return (found[0], found[1]) if found is not None else (None, None)
