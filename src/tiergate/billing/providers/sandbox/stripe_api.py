"""The fake Stripe API: the handful of /v1 endpoints tiergate calls, in Stripe's shapes."""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for

from ....db import request_transaction
from ..common import is_sandbox_operator
from ..config import SANDBOX_STRIPE_SECRET_KEY
from . import store, stripe_meters, stripe_schedules
from . import stripe_objects as objects
from .blueprint import sandbox

PROVIDER = "stripe"


@sandbox.before_request
def _authenticate() -> Any:
    """Answer an API call without the configured key as Stripe would (401)."""
    if not request.path.startswith(url_for("tiergate.sandbox.stripe_api_root")):
        return None
    expected = current_app.config.get("TIERGATE_STRIPE_SECRET_KEY") or SANDBOX_STRIPE_SECRET_KEY
    if request.headers.get("Authorization") != f"Bearer {expected}":
        return objects.error("Invalid API Key provided.", 401, code="api_key_invalid")
    return None


@sandbox.get("/stripe/v1/")
def stripe_api_root() -> Any:
    """Answer the API root (it only anchors the authentication check)."""
    return {"object": "sandbox", "provider": PROVIDER}


@sandbox.get("/stripe/v1/prices")
def stripe_list_prices() -> Any:
    """List prices, filtered by ``lookup_keys`` and ``active`` like Stripe."""
    params = objects.decode_form(list(request.args.items(multi=True)))
    found = objects.prices()
    keys = params.get("lookup_keys")
    if keys is not None:
        wanted = keys if isinstance(keys, list) else [keys]
        found = [price for price in found if price["lookup_key"] in wanted]
    if "active" in params:
        found = [price for price in found if str(price["active"]).lower() == params["active"]]
    return objects.list_of(found, "/v1/prices")


@sandbox.post("/stripe/v1/checkout/sessions")
def stripe_create_checkout_session() -> Any:
    """Create a subscription Checkout Session whose URL is the sandbox's checkout page."""
    params = objects.decode_form(list(request.form.items(multi=True)))
    if params.get("mode") != "subscription":
        return objects.error("The sandbox supports mode=subscription only.", 400, param="mode")
    metered = stripe_meters.metered_line_items(params)
    if not isinstance(metered, list):
        return metered
    items = params.get("line_items") or []
    prices = {price["id"]: price for price in objects.prices()}
    if len(items) != 1 or items[0].get("price") not in prices:
        return objects.error("line_items must name exactly one known price.", 400)
    customer = params.get("customer")
    customer_row = store.get(PROVIDER, customer, "customer") if customer else None
    if customer and customer_row is None:
        return objects.error(f"No such customer: '{customer}'", 400, code="resource_missing")
    options = _checkout_options(params, customer_row.data if customer_row else None)
    if not isinstance(options, dict):
        return options
    session_id = store.new_id("cs_test")
    session = {
        "id": session_id,
        "object": "checkout.session",
        "cancel_url": params.get("cancel_url"),
        "client_reference_id": params.get("client_reference_id"),
        "created": store.now(),
        "customer": customer,
        "customer_email": params.get("customer_email"),
        "livemode": False,
        "metadata": params.get("metadata") or {},
        "mode": "subscription",
        "payment_status": "unpaid",
        "status": "open",
        "subscription": None,
        "success_url": params.get("success_url"),
        "url": url_for(
            "tiergate.sandbox.stripe_checkout_page", session_id=session_id, _external=True
        ),
        "_price": items[0]["price"],
        "_metered_prices": metered,
        "_subscription_metadata": (params.get("subscription_data") or {}).get("metadata") or {},
        **options,
    }
    with request_transaction():
        store.put(PROVIDER, "checkout_session", session, session["client_reference_id"])
    return store.public(session)


def _checkout_options(
    params: dict[str, Any], customer: dict[str, Any] | None
) -> dict[str, Any] | Any:
    """Return the session fields of the checkout options, or Stripe's error for a bad one."""
    quantity = str(params["line_items"][0].get("quantity") or "1")
    trial = str((params.get("subscription_data") or {}).get("trial_period_days") or "0")
    if not quantity.isdigit() or int(quantity) < 1:
        return objects.error("Invalid integer: line_items[0][quantity]", 400, param="quantity")
    if not trial.isdigit() or int(trial) > 730:
        # Stripe's own limit: a trial of at most 730 days.
        return objects.error(
            "trial_period_days must be at most 730", 400, param="subscription_data"
        )
    tax = (params.get("automatic_tax") or {}).get("enabled") == "true"
    customer_update = params.get("customer_update") or {}
    saves_address = "auto" in (customer_update.get("address"), customer_update.get("shipping"))
    if tax and customer is not None and not customer.get("address") and not saves_address:
        # Stripe's refusal: tax needs the customer's address, or Checkout must save it.
        return objects.error(
            "Automatic tax calculation in Checkout requires a valid address on the Customer. "
            "Add a valid address to the Customer or set either `customer_update[address]` to "
            "'auto' or `customer_update[shipping]` to 'auto' to save the address entered in "
            "Checkout.",
            400,
            param="customer_update[address]",
        )
    return {
        "_customer_update": customer_update,
        "allow_promotion_codes": params.get("allow_promotion_codes") == "true",
        "automatic_tax": {"enabled": tax, "liability": None, "status": None},
        "_quantity": int(quantity),
        "_trial_period_days": int(trial),
    }


@sandbox.get("/stripe/v1/checkout/sessions/<session_id>")
def stripe_get_checkout_session(session_id: str) -> Any:
    """Return one Checkout Session."""
    return _object_or_404(session_id, "checkout_session")


@sandbox.get("/stripe/v1/subscriptions/<subscription_id>")
def stripe_get_subscription(subscription_id: str) -> Any:
    """Return one subscription (canceled ones too, as Stripe does), expanded as asked."""
    row = store.get(PROVIDER, subscription_id, "subscription")
    if row is None:
        return _object_or_404(subscription_id, "subscription")
    params = objects.decode_form(list(request.args.items(multi=True)))
    return stripe_schedules.expanded(row.data, params.get("expand"))


@sandbox.get("/stripe/v1/subscriptions")
def stripe_list_subscriptions() -> Any:
    """List subscriptions in pages (``limit``, ``starting_after``), any status."""
    params = objects.decode_form(list(request.args.items(multi=True)))
    limit = max(1, min(int(params.get("limit") or 10), 100))
    customer = params.get("customer")
    if customer is None and not is_sandbox_operator(request.headers):
        # The sandbox's key is public: only the app itself may list every customer's.
        return objects.error(
            "The sandbox lists one customer's subscriptions: pass customer.", 400, param="customer"
        )
    rows = [store.public(row.data) for row in store.list_objects(PROVIDER, "subscription")]
    if customer is not None:
        rows = [row for row in rows if row["customer"] == customer]
    if params.get("status") not in (None, "all"):
        rows = [row for row in rows if row["status"] == params["status"]]
    after = params.get("starting_after")
    if after:
        ids = [row["id"] for row in rows]
        rows = rows[ids.index(after) + 1 :] if after in ids else []
    return objects.list_of(rows[:limit], "/v1/subscriptions", has_more=len(rows) > limit)


@sandbox.post("/stripe/v1/billing_portal/sessions")
def stripe_create_portal_session() -> Any:
    """Create a Customer Portal session whose URL is the sandbox's portal page."""
    params = objects.decode_form(list(request.form.items(multi=True)))
    customer = params.get("customer")
    if not customer or store.get(PROVIDER, customer, "customer") is None:
        return objects.error(f"No such customer: '{customer}'", 400, code="resource_missing")
    session_id = store.new_id("bps")
    session = {
        "id": session_id,
        "object": "billing_portal.session",
        "created": store.now(),
        "customer": customer,
        "livemode": False,
        "return_url": params.get("return_url"),
        "url": url_for(
            "tiergate.sandbox.stripe_portal_page", session_id=session_id, _external=True
        ),
    }
    with request_transaction():
        store.put(PROVIDER, "portal_session", session)
    return session


def _object_or_404(object_id: str, kind: str) -> Any:
    row = store.get(PROVIDER, object_id, kind)
    if row is None:
        return objects.error(f"No such {kind}: '{object_id}'", 404, code="resource_missing")
    return store.public(row.data)
