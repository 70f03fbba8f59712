"""Subscription schedules and invoice previews of the sandbox, in Stripe's shapes.

A schedule made ``from_subscription`` holds the subscription's current phase; an update
replaces the phases (a phase starts where the previous one ends and lasts its ``end_date``
or ``duration``); at a period rollover the phase that starts then is applied to the
subscription (``enter_due_phase``). Shapes: stripe-python 16 ``SubscriptionSchedule`` and
``Invoice``/``InvoiceLineItem`` types, and stripe-mock's ``fixtures3.json``.
"""

from __future__ import annotations

import copy
from typing import Any

from . import store
from . import stripe_objects as objects
from .stripe_metered import phase_item

PROVIDER = "stripe"


def _row_data(object_id: str, kind: str) -> dict[str, Any] | None:
    row = store.get(PROVIDER, object_id, kind)
    return copy.deepcopy(row.data) if row is not None else None


def create(params: dict[str, Any]) -> tuple[dict[str, Any], int, list[dict[str, Any]]]:
    """Create a schedule from ``params["from_subscription"]``; return body, status, events."""
    sub = _row_data(str(params.get("from_subscription")), "subscription")
    if sub is None:
        return *objects.error(f"No such subscription: '{params.get('from_subscription')}'", 400), []
    if sub.get("schedule"):
        message = "You cannot migrate a subscription that is already attached to a schedule."
        return *objects.error(message, 400), []
    item = sub["items"]["data"][0]
    phase = _phase(
        item["current_period_start"],
        item["current_period_end"],
        [phase_item(i["price"]["id"], i.get("quantity")) for i in sub["items"]["data"]],
    )
    schedule = {
        "id": store.new_id("sub_sched"),
        "object": "subscription_schedule",
        "canceled_at": None,
        "completed_at": None,
        "created": store.now(),
        "current_phase": {"start_date": phase["start_date"], "end_date": phase["end_date"]},
        "customer": sub["customer"],
        "default_settings": {"collection_method": "charge_automatically"},
        "end_behavior": "release",
        "livemode": False,
        "metadata": {},
        "phases": [phase],
        "released_at": None,
        "released_subscription": None,
        "status": "active",
        "subscription": sub["id"],
    }
    store.put(PROVIDER, "subscription_schedule", schedule)
    sub["schedule"] = schedule["id"]
    store.put(PROVIDER, "subscription", sub)
    return (
        schedule,
        200,
        [
            objects.event("subscription_schedule.created", schedule),
            objects.event("customer.subscription.updated", sub),
        ],
    )


def update(
    schedule_id: str, params: dict[str, Any]
) -> tuple[dict[str, Any], int, list[dict[str, Any]]]:
    """Replace the schedule's phases and end behaviour."""
    schedule = _row_data(schedule_id, "subscription_schedule")
    if schedule is None or schedule["status"] not in ("active", "not_started"):
        return *objects.error(f"No active subscription_schedule: '{schedule_id}'", 400), []
    phases: list[dict[str, Any]] = []
    start = int(schedule["current_phase"]["start_date"])
    for given in params.get("phases") or []:
        start = int(given.get("start_date") or start)
        end = _phase_end(start, given)
        items = [
            phase_item(item["price"], item.get("quantity")) for item in given.get("items") or []
        ]
        phases.append(_phase(start, end, items))
        start = end
    if not phases or phases[0]["start_date"] != schedule["current_phase"]["start_date"]:
        message = "The first phase must start when the current phase started."
        return *objects.error(message, 400, param="phases"), []
    schedule.update(phases=phases, end_behavior=params.get("end_behavior") or "release")
    store.put(PROVIDER, "subscription_schedule", schedule)
    return schedule, 200, [objects.event("subscription_schedule.updated", schedule)]


def release(schedule_id: str) -> tuple[dict[str, Any], int, list[dict[str, Any]]]:
    """Release the schedule; the subscription keeps its current items, unscheduled."""
    schedule = _row_data(schedule_id, "subscription_schedule")
    if schedule is None or schedule["status"] not in ("active", "not_started"):
        return *objects.error(f"No active subscription_schedule: '{schedule_id}'", 400), []
    schedule.update(
        status="released", released_at=store.now(), released_subscription=schedule["subscription"]
    )
    store.put(PROVIDER, "subscription_schedule", schedule)
    events = [objects.event("subscription_schedule.released", schedule)]
    sub = _row_data(str(schedule["subscription"]), "subscription")
    if sub is not None:
        sub["schedule"] = None
        store.put(PROVIDER, "subscription", sub)
        events.append(objects.event("customer.subscription.updated", sub))
    return schedule, 200, events


def enter_due_phase(sub: dict[str, Any], period_start: int) -> None:
    """Apply the schedule's phase that starts at ``period_start`` to ``sub`` (a rollover)."""
    schedule = _row_data(str(sub.get("schedule") or ""), "subscription_schedule")
    if schedule is None or schedule["status"] != "active":
        return
    due = [p for p in schedule["phases"] if p["start_date"] <= period_start < p["end_date"]]
    if not due or due[0]["start_date"] == schedule["current_phase"]["start_date"]:
        return
    phase = due[0]
    prices = {price["id"]: price for price in objects.prices()}
    item = sub["items"]["data"][0]
    first = phase["items"][0]
    item.update(price=prices[first["price"]], quantity=first["quantity"])
    item.update(current_period_start=phase["start_date"], current_period_end=phase["end_date"])
    schedule["current_phase"] = {"start_date": phase["start_date"], "end_date": phase["end_date"]}
    store.put(PROVIDER, "subscription_schedule", schedule)


def expanded(sub: dict[str, Any], expand: Any) -> dict[str, Any]:
    """Return ``sub`` with ``schedule`` (and its phases' prices) expanded as asked."""
    paths = expand if isinstance(expand, list) else [expand] if expand else []
    data = store.public(copy.deepcopy(sub))
    if not any(str(path).startswith("schedule") for path in paths) or not data.get("schedule"):
        return data
    schedule = _row_data(str(data["schedule"]), "subscription_schedule")
    if schedule is None:
        return data
    if "schedule.phases.items.price" in paths:
        prices = {price["id"]: price for price in objects.prices()}
        for phase in schedule["phases"]:
            for item in phase["items"]:
                item["price"] = prices.get(item["price"], item["price"])
    data["schedule"] = store.public(schedule)
    return data


def preview_invoice(
    sub: dict[str, Any], before: list[dict[str, Any]], after: list[dict[str, Any]], behavior: str
) -> dict[str, Any]:
    """Return the preview invoice of changing ``before`` items to ``after`` (Stripe's shape)."""
    item = before[0]
    start, end, now = item["current_period_start"], item["current_period_end"], store.now()
    left = objects.unused_share(sub)
    lines = []
    if changes_interval(sub, before, after):
        # Stripe resets the billing cycle and invoices at once: the new price for a whole new
        # period, less the unused time of the old one (as ``interval_change_due`` charges).
        behavior = "always_invoice"
        for old in before:
            amount = -round(_cost(old) * left)
            lines.append(_line(sub, old, amount, now, end, proration=True, label="Unused time on"))
        for new in after:
            new_end = now + objects.period_seconds(new["price"])
            lines.append(_line(sub, new, _cost(new), now, new_end, proration=False, label=""))
    elif behavior != "none":
        for old in before:
            amount = -round(old["price"]["unit_amount"] * int(old.get("quantity") or 1) * left)
            lines.append(_line(sub, old, amount, now, end, proration=True, label="Unused time on"))
        for new in after:
            amount = round(new["price"]["unit_amount"] * int(new.get("quantity") or 1) * left)
            lines.append(
                _line(sub, new, amount, now, end, proration=True, label="Remaining time on")
            )
    if behavior != "always_invoice":
        for new in after:
            amount = new["price"]["unit_amount"] * int(new.get("quantity") or 1)
            lines.append(
                _line(sub, new, amount, end, end + (end - start), proration=False, label="")
            )
    total = sum(line["amount"] for line in lines)
    return {
        "id": "upcoming_" + store.new_id("in"),
        "object": "invoice",
        "amount_due": max(total, 0),
        "amount_paid": 0,
        "amount_remaining": max(total, 0),
        "billing_reason": "subscription_update" if behavior == "always_invoice" else "upcoming",
        "created": now,
        "currency": "usd",
        "customer": sub["customer"],
        "lines": objects.list_of(lines, "/v1/invoices/upcoming/lines"),
        "livemode": False,
        "next_payment_attempt": now if behavior == "always_invoice" else end,
        "parent": {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": sub["metadata"], "subscription": sub["id"]},
        },
        "period_end": end,
        "period_start": start,
        "status": "draft",
        "subtotal": total,
        "total": total,
    }


def changes_interval(
    sub: dict[str, Any], before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> bool:
    """True when the change moves the subscription to a price of another interval.

    Stripe makes no prorations during a trial, so a trialing subscription keeps its cycle.
    """
    interval = before[0]["price"]["recurring"]["interval"]
    return (
        sub.get("status") != "trialing" and after[0]["price"]["recurring"]["interval"] != interval
    )


def interval_change_due(
    sub: dict[str, Any], before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> int:
    """Return what an interval change invoices at once: the new price, less the unused time."""
    left = objects.unused_share(sub)
    return sum(_cost(new) for new in after) - sum(round(_cost(old) * left) for old in before)


def _cost(item: dict[str, Any]) -> int:
    return int(item["price"]["unit_amount"]) * int(item.get("quantity") or 1)


def _line(
    sub: dict[str, Any],
    item: dict[str, Any],
    amount: int,
    start: int,
    end: int,
    *,
    proration: bool,
    label: str,
) -> dict[str, Any]:
    name = item["price"].get("nickname") or item["price"]["lookup_key"]
    return {
        "id": store.new_id("il"),
        "object": "line_item",
        "amount": amount,
        "currency": "usd",
        "description": f"{label} {name}".strip(),
        "livemode": False,
        "metadata": {},
        "parent": {
            "type": "subscription_item_details",
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": proration,
                "proration_details": {"credited_items": None},
                "subscription": sub["id"],
                "subscription_item": item["id"],
            },
        },
        "period": {"start": start, "end": end},
        "pricing": {
            "type": "price_details",
            "price_details": {"price": item["price"]["id"], "product": item["price"]["product"]},
            "unit_amount_decimal": str(item["price"]["unit_amount"]),
        },
        "quantity": int(item.get("quantity") or 1),
    }


def _phase(start: int, end: int, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "add_invoice_items": [],
        "currency": "usd",
        "end_date": end,
        "items": items,
        "metadata": {},
        "proration_behavior": "create_prorations",
        "start_date": start,
    }


def _phase_end(start: int, given: dict[str, Any]) -> int:
    if given.get("end_date"):
        return int(given["end_date"])
    duration = given.get("duration") or {}
    count = int(duration.get("interval_count") or 1)
    unit = objects.YEAR_SECONDS if duration.get("interval") == "year" else objects.PERIOD_SECONDS
    return start + count * unit
