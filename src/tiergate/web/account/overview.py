"""/account: the plan in plain words, what it grants, billing and license keys."""

from __future__ import annotations

import secrets
from typing import Any

import sqlalchemy as sa
from flask import render_template, request

from ...billing.lifecycle.live import live_paid_subscriptions, plan_subscription
from ...billing.models import Subscription
from ...catalog.models import Permission, SubscriptionTier
from ...db import db
from ...entitlements.services import fresh_entitlements, get_cache
from ..forms import LicenseKeyForm
from . import account_pages
from .context import AccountContext, current_account, no_account_page
from .status import describe_plan


def sells_through_whop() -> bool:
    """Tell whether any customer-facing tier is sold through Whop (license keys apply)."""
    found = db.session.scalar(
        sa.select(SubscriptionTier.id)
        .where(
            SubscriptionTier.is_customer_facing,
            SubscriptionTier.billing_provider == "whop",
            SubscriptionTier.whop_product_key.is_not(None),
        )
        .limit(1)
    )
    return found is not None


def render_account(
    ctx: AccountContext,
    *,
    license_form: LicenseKeyForm | None = None,
    problem: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """Render the account page (with a license key form that may carry errors)."""
    # Computed now (not cached): the page is read straight after checkout or a change.
    entitlements = fresh_entitlements(ctx.account.id)
    source = (
        db.session.get(Subscription, entitlements.source_subscription_id)
        if entitlements.source_subscription_id
        else None
    )
    # Only what a customer can use: a permission no customer-facing tier grants (the staff's
    # admin console) is not the customer's, even on an account that staff hold.
    permissions = db.session.scalars(
        sa.select(Permission)
        .where(
            Permission.key.in_(sorted(entitlements.permissions)),
            Permission.tiers.any(SubscriptionTier.is_customer_facing),
        )
        .order_by(Permission.name)
    ).all()
    live = live_paid_subscriptions(ctx.account.id)
    subscription = plan_subscription(ctx.account.id)
    provider = subscription.provider if subscription is not None else None
    page = render_template(
        "tiergate/account/overview.html",
        ctx=ctx,
        entitlements=entitlements,
        plan=describe_plan(entitlements, source, get_cache().policy),
        permissions=permissions,
        provider=provider,
        live_subscriptions=live,
        plan_subscription=subscription,
        nonce=secrets.token_urlsafe(24),
        # A license key attaches a Whop membership bought outside tiergate's checkout, so its
        # buyer is on Free (or a Whop plan already): offer it wherever Whop sells, except on a
        # live Stripe plan (attaching would bill twice). Once sent, the form stays to show
        # what was wrong with the key.
        whop=bool(license_form and license_form.errors)
        or (sells_through_whop() and provider != "stripe"),
        license_form=license_form or LicenseKeyForm(formdata=None),
        problem=problem,
        checkout=_checkout_notice(entitlements.tier_key, source is not None),
        # With two providers, each subscription says where it is billed; with one, it need not.
        provider_count=len({sub.provider for sub in live}),
    )
    return page, status


def _checkout_notice(tier_key: str | None, has_paid_plan: bool) -> str | None:
    """Say how a checkout the customer just came back from stands: "waiting" or "done"."""
    if request.args.get("checkout") != "done":
        return None
    # The provider returns here naming the tier bought: once the plan is that tier (its
    # webhook arrived), the notice stops asking to wait.
    bought = request.args.get("tier")
    arrived = bought == tier_key if bought else has_paid_plan
    return "done" if arrived else "waiting"


@account_pages.get("")
def overview() -> Any:
    """Show the account's plan, its status in plain words and what it grants."""
    ctx = current_account()
    if ctx is None:
        return no_account_page()
    return render_account(ctx)
