"""The sandbox's provider pages: checkout with a Pay button, the portal, the manage page."""

from __future__ import annotations

import logging
from typing import Any

from flask import abort, redirect, render_template, request, url_for

from ....db import request_transaction
from . import flows, store
from .blueprint import sandbox
from .deliver import Delivery, deliver_all
from .whop_api import sandbox_plans, with_manage_url

logger = logging.getLogger(__name__)


@sandbox.get("/stripe/checkout/<session_id>")
def stripe_checkout_page(session_id: str) -> Any:
    """Show a sandbox Stripe checkout: what is bought, Pay and Cancel."""
    row = store.get("stripe", session_id, "checkout_session") or abort(404)
    price = next((p for p in flows.stripe_obj.prices() if p["id"] == row.data["_price"]), None)
    return render_template(
        "tiergate/sandbox/checkout.html",
        provider="Stripe",
        item=price["nickname"] if price else row.data["_price"],
        amount=(price or {}).get("unit_amount", 0),
        interval=((price or {}).get("recurring") or {}).get("interval"),
        quantity=row.data.get("_quantity") or 1,
        trial_days=row.data.get("_trial_period_days") or 0,
        promotion_codes=row.data.get("allow_promotion_codes"),
        automatic_tax=(row.data.get("automatic_tax") or {}).get("enabled"),
        email=row.data.get("customer_email"),
        is_open=row.data["status"] == "open",
        pay_url=url_for("tiergate.sandbox.stripe_pay", session_id=session_id),
        cancel_url=row.data.get("cancel_url"),
    )


@sandbox.post("/stripe/checkout/<session_id>/pay")
def stripe_pay(session_id: str) -> Any:
    """Pay the checkout, deliver Stripe's signed events, then go to the success URL."""
    with request_transaction():
        events = flows.pay_stripe_checkout(
            session_id,
            trial=bool(request.form.get("trial")),
            # Stripe does not order deliveries; the form may ask for created before updated.
            updated_first=request.form.get("order") != "created_first",
        )
    success = store.get("stripe", session_id, "checkout_session")
    target = str((success.data if success else {}).get("success_url") or "/")
    return _after(
        deliver_all("stripe", events), target.replace("{CHECKOUT_SESSION_ID}", session_id)
    )


@sandbox.get("/stripe/portal/<session_id>")
def stripe_portal_page(session_id: str) -> Any:
    """Show a sandbox Customer Portal: the customer's subscriptions and cancel buttons."""
    row = store.get("stripe", session_id, "portal_session") or abort(404)
    subscriptions = [
        sub.data
        for sub in store.list_objects("stripe", "subscription")
        if sub.data["customer"] == row.data["customer"]
    ]
    return render_template(
        "tiergate/sandbox/manage.html",
        provider="Stripe",
        items=[_stripe_row(sub) for sub in subscriptions],
        cancel_url=url_for("tiergate.sandbox.stripe_cancel", session_id=session_id),
        return_url=row.data.get("return_url"),
    )


@sandbox.post("/stripe/portal/<session_id>/cancel")
def stripe_cancel(session_id: str) -> Any:
    """Cancel a subscription from the portal and deliver Stripe's signed event."""
    session = store.get("stripe", session_id, "portal_session") or abort(404)
    subscription = store.get("stripe", request.form.get("id", ""), "subscription")
    if subscription is None or subscription.data["customer"] != session.data["customer"]:
        abort(404)  # a portal session manages its own customer's subscriptions only
    with request_transaction():
        events = flows.cancel_stripe_subscription(
            subscription.object_id, at_period_end=request.form.get("when") == "period_end"
        )
    return _after(
        deliver_all("stripe", events), url_for(".stripe_portal_page", session_id=session_id)
    )


@sandbox.get("/whop/checkout/<configuration_id>")
def whop_checkout_page(configuration_id: str) -> Any:
    """Show a sandbox Whop checkout: what is bought, Pay and Cancel."""
    row = store.get("whop", configuration_id, "checkout_configuration") or abort(404)
    plan = next((p for _, p in sandbox_plans() if p["id"] == row.data.get("plan_id")), None)
    return render_template(
        "tiergate/sandbox/checkout.html",
        provider="Whop",
        # What Whop's page shows: the product's title and the plan's formatted price.
        item=plan["product"]["title"] if plan else row.data["_product_id"],
        price_label=plan["formatted_price"] if plan else None,
        amount=None,
        email=None,
        is_open=True,
        pay_url=url_for("tiergate.sandbox.whop_pay", configuration_id=configuration_id),
        cancel_url=row.data.get("redirect_url"),
    )


@sandbox.post("/whop/checkout/<configuration_id>/pay")
def whop_pay(configuration_id: str) -> Any:
    """Buy the membership, deliver Whop's signed events, then go to the redirect URL."""
    with request_transaction():
        events = flows.pay_whop_checkout(configuration_id, trial=bool(request.form.get("trial")))
    row = store.get("whop", configuration_id, "checkout_configuration")
    return _after(
        deliver_all("whop", events), str((row.data if row else {}).get("redirect_url") or "/")
    )


@sandbox.get("/whop/manage/<membership_id>")
def whop_manage_page(membership_id: str) -> Any:
    """Show a sandbox Whop membership with its license key and cancel buttons."""
    row = store.get("whop", membership_id, "membership") or abort(404)
    member = with_manage_url(row.data)
    return render_template(
        "tiergate/sandbox/manage.html",
        provider="Whop",
        items=[_whop_row(member)],
        cancel_url=url_for("tiergate.sandbox.whop_cancel", membership_id=membership_id),
        return_url=request.args.get("return_url") or "/",
    )


@sandbox.post("/whop/manage/<membership_id>/cancel")
def whop_cancel(membership_id: str) -> Any:
    """Cancel the membership and deliver Whop's signed event."""
    with request_transaction():
        events = flows.cancel_whop_membership(
            membership_id, at_period_end=request.form.get("when") == "period_end"
        )
    return _after(
        deliver_all("whop", events), url_for(".whop_manage_page", membership_id=membership_id)
    )


def _after(deliveries: list[Delivery], target: str) -> Any:
    """Go on to ``target``, or show the deliveries tiergate did not acknowledge."""
    for delivery in deliveries:
        logger.info(
            "sandbox delivered %s %s: %s",
            delivery.provider,
            delivery.event_type,
            delivery.status_code,
        )
    if all(delivery.ok for delivery in deliveries):
        return redirect(target, code=303)
    return render_template(
        "tiergate/sandbox/deliveries.html", deliveries=deliveries, target=target
    ), 502


def _stripe_row(sub: dict[str, Any]) -> dict[str, Any]:
    item = sub["items"]["data"][0]
    return {
        "id": sub["id"],
        "name": item["price"].get("nickname") or item["price"]["lookup_key"],
        "status": sub["status"],
        "detail": "cancels at period end" if sub["cancel_at_period_end"] else "",
        "can_cancel": sub["status"] not in ("canceled", "incomplete_expired"),
    }


def _whop_row(member: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": member["id"],
        "name": member["product"]["title"],
        "status": member["status"],
        "detail": f"license key {member['license_key']}",
        "can_cancel": member["status"] not in ("canceled", "expired", "completed"),
    }
