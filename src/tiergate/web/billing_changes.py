"""Plan changes in the app: the confirm page with Stripe's preview, cancel, resume, manage.

Every change is confirmed on a page before anything changes (post/redirect/get). The confirm
form carries a nonce: sent twice, it reaches the provider with the same idempotency key, so a
double submit or a reload changes and charges once. Provider calls happen with no transaction
open (see ``tiergate.billing.lifecycle.changes``).
"""

from __future__ import annotations

import re
import secrets
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for

from ..audit.services import Actor
from ..billing.lifecycle import changes
from ..billing.lifecycle.live import is_live_paid
from ..billing.models import Subscription
from ..billing.price_format import format_amount, major_amount
from ..billing.providers import get_provider
from ..billing.providers.resolve import existing_customer_id
from ..catalog.models import SubscriptionTier
from ..db import db, refusable_transaction
from ..errors import TiergateError
from .account.context import AccountContext, signed_in_user
from .account.status import format_day
from .billing import _manager, account_page, customer_billing
from .forms import post_target

_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def money(amount: int, currency: str) -> str:
    """Return an amount in the currency's minor unit as the page shows it."""
    return format_amount(major_amount(Decimal(amount), currency), currency)


def _target(tier_key: str) -> SubscriptionTier:
    tier = db.session.scalar(sa.select(SubscriptionTier).where(SubscriptionTier.key == tier_key))
    if tier is None or not tier.is_customer_facing:
        abort(404)
    return tier


def _interval() -> str | None:
    # Checked by plan_change (one rule): an unknown interval is a ValidationError.
    return request.values.get("interval")


def _nonce() -> str:
    nonce = request.form.get("nonce", "")
    if not _NONCE.match(nonce):
        abort(400)
    return nonce


def _to_account(ctx: AccountContext) -> Any:
    return redirect(url_for("tiergate.account.overview", account=ctx.account.slug), code=303)


@customer_billing.get("/change/<tier_key>")
def change_page(tier_key: str) -> Any:
    """Show what choosing a tier changes, with Stripe's preview of the amount, to confirm."""
    ctx = _manager()
    if not isinstance(ctx, AccountContext):
        return ctx
    try:
        change = changes.plan_change(ctx.account.id, _target(tier_key), _interval())
    except TiergateError as error:
        flash(f"This plan cannot be chosen: {error.message}", "error")
        return _to_account(ctx)
    if change.kind == changes.SAME:
        flash(f"{ctx.account.name} is already on {change.target.name}.", "info")
        return _to_account(ctx)
    preview, problem = None, None
    if change.kind == changes.SWAP:
        try:
            preview = changes.preview_change(change)
        except TiergateError as error:
            db.session.rollback()
            problem = f"Stripe could not price this change: {error.message}"
    return render_template(
        "tiergate/billing/change.html",
        ctx=ctx,
        change=change,
        changes=changes,
        preview=preview,
        problem=problem,
        money=money,
        nonce=secrets.token_urlsafe(24),
    )


@customer_billing.post("/change/<tier_key>")
def change(tier_key: str) -> Any:
    """Carry out the confirmed plan change (once, however often the form is sent)."""
    ctx = _manager()
    if not isinstance(ctx, AccountContext):
        return ctx
    nonce = _nonce()
    try:
        plan = changes.plan_change(ctx.account.id, _target(tier_key), _interval())
    except TiergateError as error:
        flash(f"This plan cannot be chosen: {error.message}", "error")
        return _to_account(ctx)
    if plan.kind == changes.SAME:
        flash(f"{ctx.account.name} is on {plan.target.name}.", "info")
        return _to_account(ctx)
    if plan.kind == changes.CHECKOUT:
        # The situation changed since the confirm page: this is now bought at checkout.
        flash(
            f"Nothing was changed: {plan.target.name} is now bought through the checkout. "
            "Choose it again on the pricing page.",
            "info",
        )
        return _to_account(ctx)
    actor = Actor.user(signed_in_user())
    if plan.kind == changes.CANCEL:
        return _cancel_all(ctx, plan, actor, nonce)
    with refusable_transaction(TiergateError) as refused:
        changes.perform_change(plan, actor=actor, nonce=nonce)
    if refused.error is not None:
        flash(f"The plan was not changed: {refused.error.message}", "error")
    else:
        flash(_done_message(plan), "success")
    return _to_account(ctx)


def _cancel_all(ctx: AccountContext, plan: changes.PlanChange, actor: Actor, nonce: str) -> Any:
    """End every continuing paid subscription at its period end, one commit each."""
    ids = [s.id for s in changes.continuing_subscriptions(ctx.account.id)]
    failed: list[str] = []
    for subscription_id in ids:
        subscription = db.session.get_one(Subscription, subscription_id)
        name = f"{subscription.tier.name} ({subscription.provider})"
        with refusable_transaction(TiergateError) as refused:
            changes.set_cancel_at_period_end(subscription, True, actor=actor, nonce=nonce)
        if refused.error is not None:
            failed.append(f"{name}: {refused.error.message}")
    if failed:
        flash("Not every subscription could be cancelled: " + "; ".join(failed), "error")
    elif len(ids) > 1:
        flash(
            f"Your {len(ids)} subscriptions end at the end of their periods; "
            "nothing more will be charged.",
            "success",
        )
    else:
        flash(_done_message(plan), "success")
    return _to_account(ctx)


def _done_message(plan: changes.PlanChange) -> str:
    current = plan.current
    ends = current.current_period_end if current is not None else None
    when = f" on {format_day(ends)}" if ends else " at the end of the period"
    if plan.kind == changes.SCHEDULE:
        return f"Your plan changes to {plan.target.name}{when}."
    if plan.kind == changes.CANCEL:
        return f"Your subscription ends{when}; nothing more will be charged."
    if plan.kind == changes.RESUME:
        return "Your subscription continues: the cancellation is withdrawn."
    return f"Your plan is now {plan.target.name}."


def _subscription_of(ctx: AccountContext, subscription_id: int) -> Subscription:
    subscription = db.session.get(Subscription, subscription_id)
    if subscription is None or subscription.account_id != ctx.account.id:
        abort(404)
    return subscription


@customer_billing.route("/subscriptions/<int:subscription_id>/cancel", methods=["GET", "POST"])
@post_target(account_page)
def cancel(subscription_id: int) -> Any:
    """Cancel one live subscription at the end of its period."""
    return _cancel_or_resume(subscription_id, cancel=True)


@customer_billing.route("/subscriptions/<int:subscription_id>/resume", methods=["GET", "POST"])
@post_target(account_page)
def resume(subscription_id: int) -> Any:
    """Resume a subscription set to cancel, before its period ends."""
    return _cancel_or_resume(subscription_id, cancel=False)


def _cancel_or_resume(subscription_id: int, *, cancel: bool) -> Any:
    ctx = _manager()
    if not isinstance(ctx, AccountContext):
        return ctx
    nonce = _nonce()
    subscription = _subscription_of(ctx, subscription_id)
    name = subscription.tier.name
    actor = Actor.user(signed_in_user())
    with refusable_transaction(TiergateError) as refused:
        changes.set_cancel_at_period_end(subscription, cancel, actor=actor, nonce=nonce)
    if refused.error is not None:
        flash(f"Nothing was changed: {refused.error.message}", "error")
    elif cancel:
        flash(f"{name} is set to end at the end of its period.", "success")
    else:
        flash(f"{name} continues: the cancellation is withdrawn.", "success")
    return _to_account(ctx)


@customer_billing.route("/subscriptions/<int:subscription_id>/manage", methods=["GET", "POST"])
@post_target(account_page)
def manage_subscription(subscription_id: int) -> Any:
    """Go to the provider's page for one subscription (Stripe portal or Whop membership)."""
    ctx = _manager()
    if not isinstance(ctx, AccountContext):
        return ctx
    subscription = _subscription_of(ctx, subscription_id)
    if not is_live_paid(subscription):
        abort(404)  # an exempt grant or an ended subscription has no billing page
    return manage_redirect(ctx, subscription)


def manage_redirect(ctx: AccountContext, subscription: Subscription) -> Any:
    """Redirect to the management page of ``subscription`` at its own provider."""
    provider_name = subscription.provider
    provider_id = subscription.provider_subscription_id
    customer = subscription.provider_customer_id
    if provider_name == "stripe" and not customer:
        customer = existing_customer_id(ctx.account, "stripe")
    back = url_for("tiergate.account.overview", account=ctx.account.slug, _external=True)
    db.session.commit()
    try:
        provider: Any = get_provider(provider_name)
        if provider_name == "stripe":
            if not customer:
                raise TiergateError("this Stripe subscription names no customer")
            target = provider.portal_url_for_customer(customer, return_url=back)
        else:
            target = provider.manage_url(provider_id)
    except TiergateError as error:
        db.session.rollback()
        flash(f"The billing page could not open: {error.message}", "error")
        return _to_account(ctx)
    return redirect(target, code=303)
