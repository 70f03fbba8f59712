"""Customer billing: start a checkout for a tier, manage billing, attach a Whop license key.

Provider calls happen with no transaction open: on SQLite the sandbox answers them in its own
session, which must be able to write.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from ..accounts import users
from ..audit.services import Actor
from ..billing.lifecycle import changes
from ..billing.lifecycle.live import plan_subscription
from ..billing.providers import get_provider
from ..billing.providers.config import whop_settings
from ..billing.providers.whop import WhopProvider
from ..billing.services import apply_subscription_state
from ..catalog.limits import checkout_options
from ..catalog.models import SubscriptionTier
from ..db import begin_write_transaction, db, refusable_transaction
from ..entitlements.services import entitlements_for
from ..errors import TiergateError
from .account.context import (
    AccountContext,
    current_account,
    no_account_page,
    not_allowed_page,
    signed_in_user,
)
from .account.overview import render_account
from .forms import LicenseKeyForm, post_target

customer_billing = Blueprint("billing", __name__, url_prefix="/billing")


@customer_billing.before_request
def _signed_in() -> Any:
    if users.current() is None:
        return users.ask_to_log_in()
    return None


def account_page(**_: Any) -> str:
    """Return the account page, where billing forms belong."""
    return url_for("tiergate.account.overview")


def pricing_page(**_: Any) -> str:
    """Return the pricing page, where checkout forms belong."""
    return url_for("tiergate.web.pricing")


def is_purchasable(tier: SubscriptionTier) -> bool:
    """Tell whether a customer can buy ``tier`` here (the catalog's ``is_sellable``)."""
    return tier.is_sellable


def pricing_context() -> dict[str, Any]:
    """Return what the pricing page needs about its viewer: account, role and current tier."""
    ctx = current_account(from_query=False) if users.current() is not None else None
    current_tier = entitlements_for(ctx.account.id).tier_key if ctx is not None else None
    plan = plan_subscription(ctx.account.id) if ctx is not None else None
    return {
        "viewer": ctx,
        "current_tier": current_tier,
        # The interval the plan is billed at: the other one of the same tier is a change too.
        "current_interval": (plan.billing_interval if plan is not None else None) or "month",
        "is_purchasable": is_purchasable,
    }


def _manager() -> AccountContext | Any:
    ctx = current_account()
    if ctx is None:
        return no_account_page()
    if not ctx.can_manage:
        return not_allowed_page("Only an owner or an admin can change billing.", ctx)
    return ctx


@customer_billing.route("/checkout/<tier_key>", methods=["GET", "POST"])
@post_target(pricing_page)
def checkout(tier_key: str) -> Any:
    """Start the provider's checkout (Stripe) or purchase link (Whop) for a tier."""
    ctx = _manager()
    if not isinstance(ctx, AccountContext):
        return ctx
    tier = db.session.scalar(sa.select(SubscriptionTier).where(SubscriptionTier.key == tier_key))
    if tier is None or not is_purchasable(tier):
        abort(404)
    interval = request.values.get("interval") or "month"
    try:
        plan = changes.plan_change(ctx.account.id, tier, interval)
    except TiergateError as error:
        flash(f"The checkout could not start: {error.message}", "error")
        return redirect(url_for("tiergate.web.pricing"), code=303)
    if plan.kind == changes.SAME:
        flash(f"{ctx.account.name} is already on {tier.name}.", "info")
        return redirect(url_for("tiergate.account.overview", account=ctx.account.slug), code=303)
    if plan.kind != changes.CHECKOUT:
        # One live paid subscription per account: change it, after a confirmation.
        return redirect(
            url_for(
                "tiergate.billing.change_page",
                tier_key=tier.key,
                account=ctx.account.slug,
                interval=interval,
            ),
            code=303,
        )
    account = ctx.account
    replaces = changes.replaced_by_checkout(plan)
    db.session.commit()  # nothing was written; this ends the read before the provider call
    try:
        target = get_provider(tier.billing_provider).start_checkout(
            account,
            tier,
            success_url=url_for(
                "tiergate.account.overview",
                account=account.slug,
                checkout="done",
                tier=tier.key,
                _external=True,
            ),
            cancel_url=url_for("tiergate.web.pricing", _external=True),
            interval=interval,
            replaces=replaces,
            **checkout_options(tier),  # a tier's metered overage prices (docs/limits.md)
        )
    except TiergateError as error:
        db.session.rollback()
        flash(f"The checkout could not start: {error.message}", "error")
        return redirect(url_for("tiergate.web.pricing"), code=303)
    return redirect(target, code=303)


@customer_billing.route("/manage", methods=["GET", "POST"])
@post_target(account_page)
def manage() -> Any:
    """Go to the provider's billing page: the Stripe Customer Portal or the Whop membership."""
    ctx = _manager()
    if not isinstance(ctx, AccountContext):
        return ctx
    back = url_for("tiergate.account.overview", account=ctx.account.slug)
    subscription = plan_subscription(ctx.account.id)
    if subscription is None:
        flash("There is no paid subscription to manage yet: choose a plan first.", "info")
        return redirect(back, code=303)
    # The provider of the subscription that sets the plan, not merely the latest one.
    from .billing_changes import manage_redirect

    return manage_redirect(ctx, subscription)


@customer_billing.route("/license-key", methods=["GET", "POST"])
@post_target(account_page)
def license_key() -> Any:
    """Attach a Whop membership to the account by its license key."""
    ctx = _manager()
    if not isinstance(ctx, AccountContext):
        return ctx
    form = LicenseKeyForm()
    if not form.validate_on_submit():
        return render_account(ctx, license_form=form, status=422)
    account = ctx.account
    db.session.commit()  # the key is checked with Whop before anything is written
    with refusable_transaction(TiergateError) as refused:
        provider = WhopProvider(whop_settings())
        state = provider.attach_license_key(account, form.license_key.data or "")
        begin_write_transaction()
        apply_subscription_state(state, actor=Actor.user(signed_in_user()))
    if (error := refused.error) is not None:
        form.license_key.errors = [*form.license_key.errors, error.message]
        return render_account(ctx, license_form=form, status=error.status)
    flash("The license key is attached: your plan is updated.", "success")
    return _to_account(ctx)


def _to_account(ctx: AccountContext) -> BaseResponse:
    return redirect(url_for("tiergate.account.overview", account=ctx.account.slug), code=303)


# The plan-change, cancel, resume and per-subscription pages register on this blueprint.
from . import billing_changes  # noqa: E402, F401
