"""What happens in the sandbox when someone pays, cancels, or time moves on.

Each function changes sandbox objects (flush only) and returns the events the provider would
send; the caller commits, then delivers them.
"""

from __future__ import annotations

import copy
from typing import Any, Final

import sqlalchemy as sa

from ....catalog.models import SubscriptionTier
from ....db import db
from ....errors import NotFound, ValidationError
from . import store, stripe_metered, stripe_schedules
from . import stripe_objects as stripe_obj
from . import whop_objects as whop_obj

ADVANCES: Final = ("past_due", "canceled", "renewed", "trial_end")


def pay_stripe_checkout(
    session_id: str, *, trial: bool = False, updated_first: bool = True
) -> list[dict[str, Any]]:
    """Pay an open Checkout Session: customer, subscription, and Stripe's events.

    As in a real Checkout, the subscription is created ``incomplete`` and updated to
    ``active`` once the first invoice is paid, both events stamped with the same second;
    Stripe does not order its deliveries, and ``updated_first`` (the default, the order that
    a naive tie rule gets wrong) picks which the sandbox sends first. A trial starts
    ``trialing`` at once: one ``created`` event.
    """
    row = store.get("stripe", session_id, "checkout_session")
    if row is None or row.data["status"] != "open":
        raise NotFound(f"no open sandbox checkout session {session_id}")
    session = copy.deepcopy(row.data)
    customer = session.get("customer") or _new_customer(session)
    price = next(p for p in stripe_obj.prices() if p["id"] == session["_price"])
    subscription = stripe_obj.subscription(
        session,
        customer,
        price,
        trial=trial,
        trial_days=int(session.get("_trial_period_days") or 0),
        quantity=int(session.get("_quantity") or 1),
    )
    stripe_metered.add_metered_items(subscription, session)
    trial = subscription["status"] == "trialing"
    account = session.get("client_reference_id")
    store.put("stripe", "subscription", subscription, account)
    session.update(
        status="complete", payment_status="paid", customer=customer, subscription=subscription["id"]
    )
    store.put("stripe", "checkout_session", session)
    lifecycle = _created_and_updated(subscription, trial=trial)
    return [
        *(reversed(lifecycle) if updated_first else lifecycle),
        stripe_obj.event("checkout.session.completed", session),
        stripe_obj.event(
            "invoice.paid",
            stripe_obj.invoice(subscription, paid=not trial, billing_reason="subscription_create"),
        ),
    ]


def _created_and_updated(subscription: dict[str, Any], *, trial: bool) -> list[dict[str, Any]]:
    """Return ``customer.subscription.created`` (and ``.updated``), in the same second."""
    second = subscription["created"]
    if trial:
        return [stripe_obj.event("customer.subscription.created", subscription, created=second)]
    incomplete = {**subscription, "status": "incomplete"}
    return [
        stripe_obj.event("customer.subscription.created", incomplete, created=second),
        stripe_obj.event(
            "customer.subscription.updated",
            subscription,
            created=second,
            previous_attributes={"status": "incomplete"},
        ),
    ]


def cancel_stripe_subscription(
    subscription_id: str, *, at_period_end: bool
) -> list[dict[str, Any]]:
    """Cancel a subscription now, or at the end of its period, as the portal would."""
    sub = _stripe_subscription(subscription_id)
    if at_period_end:
        sub.update(cancel_at_period_end=True)
        return [_save_stripe(sub, "customer.subscription.updated")]
    sub.update(status="canceled", canceled_at=store.now(), ended_at=store.now())
    return [_save_stripe(sub, "customer.subscription.deleted")]


def pay_whop_checkout(configuration_id: str, *, trial: bool = False) -> list[dict[str, Any]]:
    """Buy through a checkout configuration: a membership with a license key, and events."""
    row = store.get("whop", configuration_id, "checkout_configuration")
    if row is None:
        raise NotFound(f"no sandbox checkout configuration {configuration_id}")
    product = row.data["_product_id"]
    tier = db.session.scalar(
        sa.select(SubscriptionTier).where(
            (SubscriptionTier.whop_product_key == product)
            | (SubscriptionTier.whop_yearly_product_key == product)
        )
    )
    if tier is None:
        raise NotFound(f"no tier sells the Whop product {product}")
    user = store.new_id("user")
    membership = whop_obj.membership(row.data, user, tier, trial=trial)
    if product != tier.whop_product_key:  # the yearly product
        membership.update(product={"id": product, "title": tier.name}, product_id=product)
    store.put("whop", "membership", membership, row.account_ref)
    return [
        whop_obj.event("membership.activated", membership),
        whop_obj.event("payment.succeeded", whop_obj.payment(membership, paid=True)),
    ]


def cancel_whop_membership(membership_id: str, *, at_period_end: bool) -> list[dict[str, Any]]:
    """Cancel a membership now, or at the end of its period, as its manage page would."""
    member = _whop_membership(membership_id)
    if at_period_end:
        member = whop_obj.touch(member, status="canceling", cancel_at_period_end=True)
        return [_save_whop(member, "membership.cancel_at_period_end_changed")]
    member = whop_obj.touch(member, status="canceled", canceled_at=whop_obj.iso(store.now()))
    return [_save_whop(member, "membership.deactivated")]


def advance(account_ref: str, to: str) -> tuple[str, list[dict[str, Any]]]:
    """Move the account's latest sandbox subscription to ``to``; return provider and events."""
    if to not in ADVANCES:
        raise ValidationError(f"cannot advance to {to!r}: expected one of {', '.join(ADVANCES)}")
    latest = _latest_for(account_ref)
    if latest is None:
        raise NotFound(
            f"account {account_ref} has no sandbox subscription: pay a sandbox checkout first"
        )
    if latest.provider == "stripe":
        return "stripe", _advance_stripe(copy.deepcopy(latest.data), to)
    return "whop", _advance_whop(copy.deepcopy(latest.data), to)


def _advance_stripe(sub: dict[str, Any], to: str) -> list[dict[str, Any]]:
    if to == "canceled":
        return cancel_stripe_subscription(sub["id"], at_period_end=False)
    if to == "past_due":
        return _fail_stripe_renewal(sub)
    if to == "renewed" and sub["status"] in ("past_due", "unpaid"):
        return _pay_stripe_arrears(sub)
    item = sub["items"]["data"][0]
    start = max(item["current_period_end"], store.now()) if to == "renewed" else store.now()
    period = stripe_obj.period_seconds(item["price"])
    item.update(current_period_start=start, current_period_end=start + period)
    # A scheduled change (a downgrade at the period end) takes effect as the period rolls.
    stripe_schedules.enter_due_phase(sub, start)
    sub.update(status="active", trial_end=sub["trial_end"] if to == "renewed" else store.now())
    paid = stripe_obj.invoice(sub, paid=True)
    return [
        _save_stripe(sub, "customer.subscription.updated"),
        stripe_obj.event("invoice.paid", paid),
    ]


def _fail_stripe_renewal(sub: dict[str, Any]) -> list[dict[str, Any]]:
    """The renewal at the period end fails, as Stripe does it.

    The item's period rolls over to the renewal whether or not it is paid, the subscription
    turns past_due, and Stripe sends ``invoice.payment_failed`` then
    ``customer.subscription.updated``. A subscription already past_due rolls over again.
    """
    item = sub["items"]["data"][0]
    previous = {"status": sub["status"], "items": copy.deepcopy(sub["items"])}
    renewal = item["current_period_end"]
    period = stripe_obj.period_seconds(item["price"])
    item.update(current_period_start=renewal, current_period_end=renewal + period)
    sub["status"] = "past_due"
    failed = stripe_obj.invoice(sub, paid=False)
    store.put("stripe", "subscription", sub)
    return [
        stripe_obj.event("invoice.payment_failed", failed),
        stripe_obj.event("customer.subscription.updated", sub, previous_attributes=previous),
    ]


def _pay_stripe_arrears(sub: dict[str, Any]) -> list[dict[str, Any]]:
    """The open renewal invoice is paid: active again, in the period it already rolled to."""
    previous = {"status": sub["status"]}
    sub["status"] = "active"
    paid = stripe_obj.invoice(sub, paid=True)
    store.put("stripe", "subscription", sub)
    return [
        stripe_obj.event("customer.subscription.updated", sub, previous_attributes=previous),
        stripe_obj.event("invoice.paid", paid),
    ]


def _advance_whop(member: dict[str, Any], to: str) -> list[dict[str, Any]]:
    if to == "canceled":
        return cancel_whop_membership(member["id"], at_period_end=False)
    if to == "past_due":
        # The renewal failed: like Whop, the membership has already entered the unpaid period.
        member = whop_obj.touch(member, status="past_due", **whop_obj.next_period(member))
        return [
            _save_whop(member, "membership.updated"),
            whop_obj.event("payment.failed", whop_obj.payment(member, paid=False)),
        ]
    start = store.now()
    member = whop_obj.touch(
        member,
        status="active",
        current_period_start=whop_obj.iso(start),
        current_period_end=whop_obj.iso(start + whop_obj.PERIOD_SECONDS),
    )
    return [
        _save_whop(member, "membership.updated"),
        whop_obj.event("payment.succeeded", whop_obj.payment(member, paid=True)),
    ]


def _latest_for(account_ref: str) -> Any:
    rows = store.list_objects("stripe", "subscription", account_ref) + store.list_objects(
        "whop", "membership", account_ref
    )
    return max(rows, key=lambda row: (row.updated_at, row.id), default=None)


def _new_customer(session: dict[str, Any]) -> str:
    customer: dict[str, Any] = {
        "id": store.new_id("cus"),
        "object": "customer",
        "created": store.now(),
        "email": session.get("customer_email"),
        "livemode": False,
        "metadata": {},
    }
    store.put("stripe", "customer", customer, session.get("client_reference_id"))
    return str(customer["id"])


def _stripe_subscription(subscription_id: str) -> dict[str, Any]:
    row = store.get("stripe", subscription_id, "subscription")
    if row is None:
        raise NotFound(f"no sandbox subscription {subscription_id}")
    return copy.deepcopy(row.data)


def _whop_membership(membership_id: str) -> dict[str, Any]:
    row = store.get("whop", membership_id, "membership")
    if row is None:
        raise NotFound(f"no sandbox membership {membership_id}")
    return copy.deepcopy(row.data)


def _save_stripe(sub: dict[str, Any], event_type: str) -> dict[str, Any]:
    store.put("stripe", "subscription", sub)
    return stripe_obj.event(event_type, sub)


def _save_whop(member: dict[str, Any], event_type: str) -> dict[str, Any]:
    store.put("whop", "membership", member)
    return whop_obj.event(event_type, member)
