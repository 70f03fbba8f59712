"""Usage the sandbox has counted: meter totals, and the usage lines its invoices bill.

An invoice bills the usage reported since the subscription's previous invoice (the events
after the one it recorded as ``_meter_events_through``), each metered item on one line of
Stripe's ``line_item`` shape (stripe/openapi ``fixtures3.json``): quantity = the summed meter
value, amount = quantity x the price's ``unit_amount_decimal``, rounded to the cent.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from . import store
from .models import SandboxObject
from .stripe_metered import event_names, is_metered

#: The kind under which the sandbox keeps the meter events it receives.
EVENT_KIND: Final = "meter_event"


def valid_events(customer: str, event_name: str) -> list[SandboxObject]:
    """Return the rows of the meter events that count for ``customer`` and ``event_name``."""
    return [
        row
        for row in store.list_objects("stripe", EVENT_KIND)
        if not row.data.get("_error")
        and row.data["event_name"] == event_name
        and row.data["payload"].get("stripe_customer_id") == customer
    ]


def total(customer: str, event_name: str, start: int, end: int) -> int:
    """Return the summed value of a customer's events of ``event_name`` in [start, end)."""
    return sum(
        int(row.data["payload"]["value"])
        for row in valid_events(customer, event_name)
        if start <= row.data["timestamp"] < end
    )


def cents(quantity: int, unit_amount: Decimal) -> int:
    """Return what ``quantity`` units cost, rounded to the cent as Stripe rounds a line."""
    return int((unit_amount * quantity).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def invoice_lines(
    sub: dict[str, Any], invoice_id: str, plan_amount: int
) -> tuple[list[dict[str, Any]], int]:
    """Return an invoice's lines (the plan's, then each metered item's usage) and the mark
    of the last meter event they bill (the next invoice bills the events after it)."""
    plan = sub["items"]["data"][0]
    lines = [_line(sub, plan, invoice_id, plan_amount, int(plan.get("quantity") or 1))]
    since = _billed_through(sub["id"])
    through = since
    names = event_names()
    for item in sub["items"]["data"]:
        if not is_metered(item["price"]) or item["price"]["id"] not in names:
            continue
        rows = [
            row
            for row in valid_events(sub["customer"], names[item["price"]["id"]])
            if row.id > since
        ]
        quantity = sum(int(row.data["payload"]["value"]) for row in rows)
        through = max([through, *(row.id for row in rows)])
        unit = Decimal(item["price"]["unit_amount_decimal"])
        # A trial's usage is not charged, as a trial's plan is not.
        amount = 0 if sub.get("status") == "trialing" else cents(quantity, unit)
        lines.append(_line(sub, item, invoice_id, amount, quantity))
    return lines, through


def _billed_through(subscription_id: str) -> int:
    """Return the mark of the last meter event a previous invoice of the subscription billed."""
    marks = [
        int(row.data.get("_meter_events_through") or 0)
        for row in store.list_objects("stripe", "invoice")
        if ((row.data.get("parent") or {}).get("subscription_details") or {}).get("subscription")
        == subscription_id
    ]
    return max(marks, default=0)


def _line(
    sub: dict[str, Any], item: dict[str, Any], invoice_id: str, amount: int, quantity: int
) -> dict[str, Any]:
    price = item["price"]
    name = price.get("nickname") or price.get("lookup_key") or price["id"]
    metered = is_metered(price)
    return {
        "id": store.new_id("il"),
        "object": "line_item",
        "amount": amount,
        "currency": "usd",
        "description": f"{quantity} × {name}" + (" (usage)" if metered else ""),
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": invoice_id,
        "livemode": False,
        "metadata": {},
        "parent": {
            "type": "subscription_item_details",
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": sub["id"],
                "subscription_item": item["id"],
            },
        },
        "period": {"start": item["current_period_start"], "end": item["current_period_end"]},
        "pretax_credit_amounts": None,
        "pricing": {
            "type": "price_details",
            "price_details": {"price": price["id"], "product": price["product"]},
            "unit_amount_decimal": str(price.get("unit_amount_decimal") or price["unit_amount"]),
        },
        "quantity": quantity,
        "quantity_decimal": str(quantity),
        "subscription": None,
        "subtotal": amount,
        "taxes": None,
    }
