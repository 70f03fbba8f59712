"""Pages and the health check."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify, render_template, request
from sqlalchemy.orm import selectinload

from ..billing.checkout import has_paid_before, trial_days_offered
from ..billing.prices import interval_prices
from ..billing.webhooks.inbox import inbox_stats
from ..catalog.models import SubscriptionTier
from ..db import db, utcnow
from .billing import pricing_context
from .health import database_health

web = Blueprint("web", __name__)


@web.app_template_filter("user_limit")
def user_limit_label(user_limit: int) -> str:
    """Render a tier's user limit as "1 user" or "5 users"."""
    return f"{user_limit} user" if user_limit == 1 else f"{user_limit} users"


@web.get("/pricing")
def pricing() -> str:
    """Show the customer-facing tiers in rank order with their prices and permissions."""
    # Permissions are loaded in one extra query for all tiers, so the page's query count does
    # not grow with the catalog.
    tiers = db.session.scalars(
        sa.select(SubscriptionTier)
        .where(SubscriptionTier.is_customer_facing)
        .order_by(SubscriptionTier.rank, SubscriptionTier.key)
        .options(selectinload(SubscriptionTier.permissions))
    ).all()
    # Provider prices come from a per-process cache, so most views ask no provider at all.
    by_interval = interval_prices(tiers)
    # The monthly/yearly switch is a pair of links: it works without JavaScript (the CSP
    # forbids inline scripts) and a chosen interval can be shared as a URL.
    interval = "year" if request.args.get("interval") == "year" and by_interval["year"] else "month"
    viewer = pricing_context()
    # The trial a card promises is the one checkout would give this viewer (one query at most).
    first = viewer["viewer"] is None or not has_paid_before(viewer["viewer"].account)
    return render_template(
        "tiergate/pricing.html",
        tiers=tiers,
        prices=by_interval["month"],
        yearly_prices=by_interval["year"],
        interval=interval,
        trial_days={t.key: trial_days_offered(t, first_subscription=first) for t in tiers},
        **viewer,
    )


@web.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Report whether the database answers and is migrated, and the webhook inbox's backlog."""
    status, body = database_health(db.engine)
    if status == 200:
        # Monitoring reads the backlog here; it does not make the check fail: a load balancer
        # taking every server out because events queue up would make the backlog worse.
        body["webhooks"] = inbox_stats(utcnow()).as_json()
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, status
