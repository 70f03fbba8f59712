"""The sandbox's invoice lists: Stripe's ``GET /v1/invoices`` and Whop's ``GET /payments``.

Stripe answers newest first with ``starting_after`` / ``ending_before`` cursors and
``has_more``; Whop with ``first``/``after`` and ``last``/``before`` and a ``page_info`` whose
``start_cursor``/``end_cursor`` are opaque (not payment ids), as Whop's are.
"""

from __future__ import annotations

import base64
from typing import Any

from flask import abort, render_template, request

from . import store
from . import stripe_objects as stripe_obj
from . import whop_objects as whop_obj
from .blueprint import sandbox
from .whop_api import API


@sandbox.get("/stripe/v1/invoices")
def stripe_list_invoices() -> Any:
    """List one customer's invoices, newest first, in pages."""
    params = stripe_obj.decode_form(list(request.args.items(multi=True)))
    customer = params.get("customer")
    if not customer:
        # The sandbox's key is public: it lists one customer's invoices only.
        return stripe_obj.error("The sandbox lists one customer's invoices: pass customer.", 400)
    limit = max(1, min(int(params.get("limit") or 10), 100))
    rows = [
        store.public(row.data)
        for row in reversed(store.list_objects("stripe", "invoice"))
        if row.data["customer"] == customer
    ]
    window, has_more = _window(
        rows, params.get("starting_after"), params.get("ending_before"), limit
    )
    return stripe_obj.list_of(window, "/v1/invoices", has_more=has_more)


@sandbox.get("/stripe/invoices/<invoice_id>")
def stripe_invoice_page(invoice_id: str) -> Any:
    """Show an invoice as Stripe's hosted invoice page would: number, amount, status."""
    row = store.get("stripe", invoice_id, "invoice") or abort(404)
    return render_template("tiergate/sandbox/invoice.html", invoice=row.data)


@sandbox.get(f"{API}/payments")
def whop_list_payments() -> Any:
    """List one membership's payments, newest first, in cursor pages."""
    membership = request.args.get("membership_id")
    if not membership:
        return whop_obj.error(
            "The sandbox lists one membership's payments: pass membership_id.", 400
        )
    rows = [
        _whop_payment(row.data)
        for row in reversed(store.list_objects("whop", "payment"))
        if row.data.get("membership_id") == membership
    ]
    try:
        after = _payment_at(request.args.get("after"))
        before = _payment_at(request.args.get("before"))
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        return whop_obj.error("Invalid cursor: pass a page_info cursor.", 400)
    size = int(request.args.get("last" if before else "first") or 10)
    window, _ = _window(rows, after, before, max(1, min(size, 100)))
    ids = [row["id"] for row in rows]
    first_at = ids.index(window[0]["id"]) if window else 0
    return {
        "data": window,
        "page_info": {
            "start_cursor": _cursor_of(window[0]["id"]) if window else None,
            "end_cursor": _cursor_of(window[-1]["id"]) if window else None,
            "has_next_page": (first_at + len(window)) < len(rows),
            "has_previous_page": first_at > 0,
        },
    }


def _cursor_of(payment_id: str) -> str:
    """Return the opaque cursor of a payment's place in the list (Whop's are base64 text)."""
    return base64.b64encode(f"payment:{payment_id}".encode()).decode()


def _payment_at(cursor: str | None) -> str | None:
    """Return the payment id a cursor stands for; ValueError for what no page_info gave."""
    if not cursor:
        return None
    decoded = base64.b64decode(cursor, validate=True).decode()
    if not decoded.startswith("payment:"):
        raise ValueError(cursor)
    return decoded.removeprefix("payment:")


def _window(
    rows: list[dict[str, Any]], after: str | None, before: str | None, limit: int
) -> tuple[list[dict[str, Any]], bool]:
    """Return the page of ``rows`` after (or before) a cursor id, and whether more lie beyond."""
    ids = [row["id"] for row in rows]
    if before:
        end = ids.index(before) if before in ids else 0
        start = max(end - limit, 0)
        return rows[start:end], start > 0
    start = ids.index(after) + 1 if after in ids else 0
    return rows[start : start + limit], len(rows) > start + limit


def _whop_payment(data: dict[str, Any]) -> dict[str, Any]:
    """Return a stored payment in the list's shape (whop-sdk ``types/payment.py``)."""
    paid = data.get("status") == "paid"
    total = whop_obj.money(round(float(data.get("total") or 0) * 100))
    return {
        "id": data["id"],
        "amount_after_fees": total,
        "auto_refunded": False,
        "created_at": data["created_at"],
        "currency": "usd",
        "holds": [],
        "line_items": [],
        "membership": {"id": data.get("membership_id"), "status": "active"},
        "paid_at": data["created_at"] if paid else None,
        "payment_rule_matches": [],
        "payments_failed": 0 if paid else 1,
        "refundable": paid,
        "retryable": not paid,
        "status": data.get("status") or "open",
        "substatus": data.get("substatus") or ("succeeded" if paid else "failed"),
        "subtotal": total,
        "tax_refunded_amount": whop_obj.money(0),
        "three_ds_verified": False,
        "total": total,
        "updated_at": data["created_at"],
        "voidable": False,
    }
