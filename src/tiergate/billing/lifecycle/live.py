"""What a live paid subscription is, and the account's live paid subscriptions."""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ...catalog.models import SubscriptionTier
from ...db import db
from ..models import Subscription
from ..providers.registry import PAID_PROVIDERS

#: Statuses of a paid subscription that still bills or may bill again: it grants, or the
#: provider is still collecting (past_due, unpaid) or has paused it. ``incomplete`` (a checkout
#: whose first payment has not gone through) is not live: it grants nothing and expires.
LIVE_STATUSES: Final = ("trialing", "active", "past_due", "unpaid", "paused")
#: Statuses under which a newer subscription replaces an older one.
GRANTING_STATUSES: Final = ("trialing", "active")


def is_live_paid(subscription: Subscription) -> bool:
    """True when ``subscription`` is a paid plan (not an add-on) that bills or may bill again."""
    return (
        subscription.provider in PAID_PROVIDERS
        and subscription.status in LIVE_STATUSES
        and not subscription.tier.is_addon
    )


def is_continuing(subscription: Subscription) -> bool:
    """True when a live paid subscription is not set to end at its period end."""
    return is_live_paid(subscription) and not subscription.cancel_at_period_end


def live_paid_condition() -> Any:
    """The SQL condition of ``is_live_paid`` (join SubscriptionTier to use it)."""
    return sa.and_(
        Subscription.provider.in_(PAID_PROVIDERS),
        Subscription.status.in_(LIVE_STATUSES),
        SubscriptionTier.is_addon.is_(False),
    )


def live_paid_subscriptions(account_id: int) -> list[Subscription]:
    """Return the account's live paid subscriptions (ending ones too), oldest first."""
    query = (
        sa.select(Subscription)
        .join(SubscriptionTier, Subscription.tier_id == SubscriptionTier.id)
        .where(Subscription.account_id == account_id, live_paid_condition())
        .options(selectinload(Subscription.tier), selectinload(Subscription.scheduled_tier))
        .order_by(Subscription.created_at, Subscription.id)
    )
    return list(db.session.scalars(query))


def plan_subscription(account_id: int) -> Subscription | None:
    """Return the live paid subscription that sets the account's plan, if any.

    The newest one that continues past its period wins; else (all are ending) the newest.
    """
    live = live_paid_subscriptions(account_id)
    continuing = [subscription for subscription in live if not subscription.cancel_at_period_end]
    granting = [s for s in continuing if s.status in GRANTING_STATUSES]
    for candidates in (granting, continuing, live):
        if candidates:
            return candidates[-1]
    return None


def double_billed_accounts() -> Any:
    """A query of the ids of accounts with more than one continuing live paid subscription."""
    return (
        sa.select(Subscription.account_id)
        .join(SubscriptionTier, Subscription.tier_id == SubscriptionTier.id)
        .where(live_paid_condition(), Subscription.cancel_at_period_end.is_(False))
        .group_by(Subscription.account_id)
        .having(sa.func.count(Subscription.id) > 1)
    )
