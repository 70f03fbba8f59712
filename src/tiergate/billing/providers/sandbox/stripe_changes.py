"""The fake Stripe API's changes: subscription update, invoice preview, subscription schedules.

Request and response shapes follow Stripe's API reference and stripe-python 16's types
(``Subscription``, ``Invoice`` and ``InvoiceLineItem`` with ``parent.subscription_item_details``,
``SubscriptionSchedule`` with ``phases``/``current_phase``), as in stripe-mock's
``fixtures3.json``. Prorations are computed from the remaining part of the current period.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import request

from . import store, stripe_usage
from . import stripe_objects as objects
from . import stripe_schedules as schedules
from .blueprint import sandbox
from .changes import Outcome, answer
from .stripe_metered import plan_items

PROVIDER = "stripe"


def _params() -> dict[str, Any]:
    return objects.decode_form(list(request.form.items(multi=True)))


def _truthy(value: Any) -> bool:
    return str(value).lower() == "true"


#: What a pending update may carry (Stripe's pending updates reference).
PENDING_UPDATE_PARAMS = frozenset(
    {
        "expand",
        "payment_behavior",
        "proration_behavior",
        "proration_date",
        "billing_cycle_anchor",
        "items",
        "trial_end",
        "trial_from_plan",
        "add_invoice_items",
    }
)


@sandbox.post("/stripe/v1/subscriptions/<subscription_id>")
def stripe_update_subscription(subscription_id: str) -> Any:
    """Update a subscription: swap an item's price, set a quantity, cancel at period end."""
    params = _params()
    return answer(PROVIDER, params, lambda: _update(subscription_id, params))


def _update(subscription_id: str, params: dict[str, Any]) -> Outcome:
    row = store.get(PROVIDER, subscription_id, "subscription")
    if row is None:
        return *objects.error(f"No such subscription: '{subscription_id}'", 404), []
    sub = copy.deepcopy(row.data)
    if params.get("payment_behavior") == "pending_if_incomplete":
        # Stripe's pending updates take only the attributes that make the invoice
        # (docs.stripe.com/billing/pending-updates-reference).
        extra = sorted(set(params) - PENDING_UPDATE_PARAMS)
        if extra:
            message = (
                "When payment_behavior is pending_if_incomplete you can only pass the "
                f"attributes supported by pending updates; not: {', '.join(extra)}."
            )
            return *objects.error(message, 400), []
    if sub.get("schedule") and ("items" in params or "cancel_at_period_end" in params):
        message = (
            f"The subscription is managed by the subscription schedule `{sub['schedule']}`, "
            "and updating it directly is not allowed. Update or release the schedule instead."
        )
        return *objects.error(message, 400), []
    events: list[dict[str, Any]] = []
    if "items" in params:
        changed = _swap_items(sub, params["items"], params.get("proration_behavior"))
        if isinstance(changed, tuple):
            return *changed, []
        events.extend(changed)
    if "cancel_at_period_end" in params:
        ending = _truthy(params["cancel_at_period_end"])
        item = sub["items"]["data"][0]
        sub.update(
            cancel_at_period_end=ending,
            cancel_at=item["current_period_end"] if ending else None,
            canceled_at=store.now() if ending else None,
        )
    if params.get("metadata"):
        sub["metadata"] = {**sub.get("metadata", {}), **params["metadata"]}
    store.put(PROVIDER, "subscription", sub)
    events.insert(0, objects.event("customer.subscription.updated", sub))
    return schedules.expanded(sub, params.get("expand")), 200, events


def _swap_items(
    sub: dict[str, Any], changes: list[dict[str, Any]], behavior: Any
) -> list[dict[str, Any]] | tuple[dict[str, Any], int]:
    prices = {price["id"]: price for price in objects.prices()}
    before = copy.deepcopy(sub["items"]["data"])
    for change in changes:
        item = next((i for i in sub["items"]["data"] if i["id"] == change.get("id")), None)
        if item is None:
            return objects.error(f"No such subscription item: '{change.get('id')}'", 400)
        if "price" in change:
            if change["price"] not in prices:
                return objects.error(f"No such price: '{change['price']}'", 400)
            item["price"] = prices[change["price"]]
        if "quantity" in change:
            item["quantity"] = int(change["quantity"])
    amount = prorated_difference(sub, before)
    item = sub["items"]["data"][0]
    if schedules.changes_interval(sub, before, sub["items"]["data"]):
        # An interval change resets the billing cycle and is invoiced at once (Stripe's rule):
        # the new price, less the unused time of the old one, as the preview says.
        amount = schedules.interval_change_due(
            sub, plan_items(before), plan_items(sub["items"]["data"])
        )
        start = store.now()
        item.update(
            current_period_start=start,
            current_period_end=start + objects.period_seconds(item["price"]),
        )
        behavior = "always_invoice"
    if behavior == "always_invoice" and amount > 0:
        invoice = objects.invoice(sub, paid=True)
        invoice.update(amount_due=amount, amount_paid=amount, billing_reason="subscription_update")
        store.put(PROVIDER, "invoice", invoice, None)
        return [objects.event("invoice.paid", invoice)]
    return []


def prorated_difference(sub: dict[str, Any], before: list[dict[str, Any]]) -> int:
    """Return the subscription's items' cost minus ``before``'s for the rest of the period."""
    # Metered items are billed by usage, not prorated.
    before, after = plan_items(before), plan_items(sub["items"]["data"])
    old = sum(i["price"]["unit_amount"] * int(i.get("quantity") or 1) for i in before)
    new = sum(i["price"]["unit_amount"] * int(i.get("quantity") or 1) for i in after)
    return round((new - old) * objects.unused_share(sub))


@sandbox.post("/stripe/v1/invoices/create_preview")
def stripe_create_invoice_preview() -> Any:
    """Preview the invoice a subscription change would make (prorations and next renewal)."""
    params = _params()
    row = store.get(PROVIDER, str(params.get("subscription")), "subscription")
    if row is None:
        return objects.error(f"No such subscription: '{params.get('subscription')}'", 400)
    sub = copy.deepcopy(row.data)
    details = params.get("subscription_details") or {}
    behavior = details.get("proration_behavior") or "create_prorations"
    before = plan_items(copy.deepcopy(sub["items"]["data"]))
    prices = {price["id"]: price for price in objects.prices()}
    after = copy.deepcopy(before)
    for change in details.get("items") or []:
        for item in after:
            if item["id"] == change.get("id"):
                if change.get("price") in prices:
                    item["price"] = prices[change["price"]]
                if "quantity" in change:
                    item["quantity"] = int(change["quantity"])
    return stripe_usage.with_usage(schedules.preview_invoice(sub, before, after, behavior), sub)


@sandbox.post("/stripe/v1/subscription_schedules")
def stripe_create_subscription_schedule() -> Any:
    """Create a schedule from an existing subscription (its current phase only)."""
    params = _params()
    return answer(PROVIDER, params, lambda: schedules.create(params))


@sandbox.get("/stripe/v1/subscription_schedules/<schedule_id>")
def stripe_get_subscription_schedule(schedule_id: str) -> Any:
    """Return one subscription schedule."""
    row = store.get(PROVIDER, schedule_id, "subscription_schedule")
    if row is None:
        return objects.error(f"No such subscription_schedule: '{schedule_id}'", 404)
    return store.public(row.data)


@sandbox.post("/stripe/v1/subscription_schedules/<schedule_id>")
def stripe_update_subscription_schedule(schedule_id: str) -> Any:
    """Replace a schedule's phases (the current one first, then what follows)."""
    params = _params()
    return answer(PROVIDER, params, lambda: schedules.update(schedule_id, params))


@sandbox.post("/stripe/v1/subscription_schedules/<schedule_id>/release")
def stripe_release_subscription_schedule(schedule_id: str) -> Any:
    """Release a schedule: the subscription carries on as it is, unscheduled."""
    params = _params()
    return answer(PROVIDER, params, lambda: schedules.release(schedule_id))
