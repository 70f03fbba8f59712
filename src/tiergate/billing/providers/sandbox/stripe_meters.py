"""The fake Stripe API of usage-based billing: meters, meter events and their summaries.

Like Stripe, ``POST /v1/billing/meter_events`` refuses at once a malformed call and an
identifier it already holds (400, "An event already exists with identifier ...", with
``Stripe-Should-Retry: false``). What Stripe checks only later, after accepting the event
(no meter for the event name, an unknown customer, a bad value, a timestamp out of range), the
sandbox accepts too and keeps under ``_error`` with Stripe's error-report code, counting no
usage for it. Shapes: ``billing.meter``, ``billing.meter_event`` and
``billing.meter_event_summary`` of stripe/openapi ``fixtures3.json``.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

import sqlalchemy as sa
from flask import request

from ....db import request_transaction
from . import store, stripe_metered, stripe_usage
from . import stripe_objects as objects
from .blueprint import sandbox

PROVIDER: Final = "stripe"
#: Stripe's window for an event's timestamp: 35 days back, five minutes ahead.
PAST_LIMIT_SECONDS: Final = 35 * 24 * 3600
FUTURE_LIMIT_SECONDS: Final = 5 * 60
MAX_NAME_LENGTH: Final = 100


@sandbox.post("/stripe/v1/billing/meter_events")
def stripe_create_meter_event() -> Any:
    """Record a meter event once per identifier, as Stripe does."""
    params = objects.decode_form(list(request.form.items(multi=True)))
    refused = _refusal(params)
    if refused is not None:
        return refused
    identifier = str(params.get("identifier") or store.new_id("mev"))
    event = {
        "created": store.now(),
        "event_name": str(params["event_name"]),
        "identifier": identifier,
        "livemode": False,
        "object": "billing.meter_event",
        "payload": params["payload"],
        "timestamp": int(params.get("timestamp") or store.now()),
    }
    row_id = "mev_" + hashlib.sha256(identifier.encode()).hexdigest()[:40]
    if store.get(PROVIDER, row_id, stripe_usage.EVENT_KIND) is not None:
        return _duplicate(identifier)
    customer = str(event["payload"].get("stripe_customer_id") or "")
    owner = store.get(PROVIDER, customer, "customer") if customer else None
    stored = {**event, "id": row_id, "_error": _late_error(event, owner is not None)}
    try:
        with request_transaction():
            store.put(
                PROVIDER, stripe_usage.EVENT_KIND, stored, owner.account_ref if owner else None
            )
    except sa.exc.IntegrityError:
        return _duplicate(identifier)  # the same identifier, committed by a racing call
    return event


@sandbox.get("/stripe/v1/billing/meters")
def stripe_list_meters() -> Any:
    """List the sandbox's billing meters (one per metered price's event name)."""
    return objects.list_of(stripe_metered.meters(), "/v1/billing/meters")


@sandbox.get("/stripe/v1/billing/meters/<meter_id>")
def stripe_get_meter(meter_id: str) -> Any:
    """Return one billing meter."""
    found = _meter(meter_id)
    if found is None:
        return objects.error(f"No such meter: '{meter_id}'", 404, code="resource_missing")
    return found


@sandbox.get("/stripe/v1/billing/meters/<meter_id>/event_summaries")
def stripe_list_meter_event_summaries(meter_id: str) -> Any:
    """Return one customer's summed usage of a meter between two times, as one summary."""
    params = objects.decode_form(list(request.args.items(multi=True)))
    found = _meter(meter_id)
    if found is None:
        return objects.error(f"No such meter: '{meter_id}'", 404, code="resource_missing")
    for name in ("customer", "start_time", "end_time"):
        if not params.get(name):
            return _missing(name)
    if params.get("value_grouping_window"):
        return objects.error(
            "The sandbox summarises a whole range only: leave out value_grouping_window.",
            400,
            param="value_grouping_window",
        )
    try:
        start, end = int(params["start_time"]), int(params["end_time"])
    except ValueError:
        return objects.error("Invalid integer: start_time and end_time", 400, param="start_time")
    if start % 60 or end % 60 or end <= start:
        return objects.error(
            "start_time and end_time must be minute boundaries, start_time before end_time.",
            400,
            param="start_time",
        )
    summary = {
        "aggregated_value": stripe_usage.total(params["customer"], found["event_name"], start, end),
        "end_time": end,
        "id": "mtrusg_sbx_" + hashlib.sha256(f"{meter_id}{start}{end}".encode()).hexdigest()[:16],
        "livemode": False,
        "meter": meter_id,
        "object": "billing.meter_event_summary",
        "start_time": start,
    }
    return objects.list_of([summary], f"/v1/billing/meters/{meter_id}/event_summaries")


def metered_line_items(params: dict[str, Any]) -> list[str] | Any:
    """Take a Checkout's metered line items out of ``params``; return their price ids.

    Stripe's refusal comes back instead when a metered line item names a quantity.
    """
    metered_ids = {price["id"] for price in stripe_metered.metered_prices()}
    kept, metered = [], []
    for index, item in enumerate(params.get("line_items") or []):
        if item.get("price") not in metered_ids:
            kept.append(item)
            continue
        if "quantity" in item:
            return objects.error(
                "Quantity should not be specified where usage_type is `metered`. Remove "
                f"quantity from `line_items[{index}]`.",
                400,
                param=f"line_items[{index}][quantity]",
            )
        metered.append(item["price"])
    params["line_items"] = kept
    return metered


def _refusal(params: dict[str, Any]) -> Any:
    """Return Stripe's immediate refusal of a malformed meter event, or None."""
    for name in ("event_name", "payload"):
        if not params.get(name):
            return _missing(name)
    if not isinstance(params["payload"], dict):
        return objects.error("Invalid object: payload", 400, param="payload")
    for name in ("event_name", "identifier"):
        if len(str(params.get(name) or "")) > MAX_NAME_LENGTH:
            return objects.error(
                f"Invalid string: {name} must be at most {MAX_NAME_LENGTH} characters",
                400,
                param=name,
            )
    if "timestamp" in params and not str(params["timestamp"]).isdigit():
        return objects.error(f"Invalid integer: {params['timestamp']}", 400, param="timestamp")
    return None


def _late_error(event: dict[str, Any], customer_known: bool) -> str | None:
    """Return the error-report code Stripe would give an accepted event, or None if it counts."""
    payload = event["payload"]
    now = store.now()
    if event["event_name"] not in {meter["event_name"] for meter in stripe_metered.meters()}:
        return "no_meter"
    if not payload.get("stripe_customer_id"):
        return "meter_event_no_customer_defined"
    if not customer_known:
        return "meter_event_customer_not_found"
    if "value" not in payload:
        return "meter_event_value_not_found"
    if not str(payload["value"]).isdigit():
        return "meter_event_invalid_value"
    if event["timestamp"] > now + FUTURE_LIMIT_SECONDS:
        return "timestamp_in_future"
    if event["timestamp"] < now - PAST_LIMIT_SECONDS:
        return "timestamp_too_far_in_past"
    return None


def _meter(meter_id: str) -> dict[str, Any] | None:
    return next((meter for meter in stripe_metered.meters() if meter["id"] == meter_id), None)


def _missing(name: str) -> Any:
    return objects.error(
        f"Missing required param: {name}.", 400, code="parameter_missing", param=name
    )


def _duplicate(identifier: str) -> Any:
    body, status = objects.error(f"An event already exists with identifier {identifier}.", 400)
    return body, status, {"Stripe-Should-Retry": "false"}
