"""Accounts billed twice: a flag on the account, kept true in the transaction that changes it.

An account is billed twice while it has more than one renewing paid subscription (see
``live.double_billed_accounts``, the same rule over every account). Finding those accounts
means counting every live subscription, which at a million accounts reads most of the
subscription table; so the answer is kept on
``tiergate_account.billed_twice``, recomputed for an account whenever a flush writes one of
its subscriptions, or changes whether a tier it subscribes to is an add-on, whichever code
made the change. The console's "Accounts billed twice" reads the indexed flag.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...accounts.models import Account
from ...catalog.models import SubscriptionTier
from ...db import session_listener
from ..models import Subscription
from .live import live_paid_condition


def refresh_billed_twice(connection: sa.Connection, account_ids: sa.Select[Any] | set[int]) -> None:
    """Set ``billed_twice`` of these accounts (ids, or a query of them) from their rows now.

    Each account counts its own renewing paid subscriptions (an index range on account_id),
    so a change costs the same however many accounts there are.
    """
    renewing = (
        sa.select(sa.func.count(Subscription.id))
        .join(SubscriptionTier, Subscription.tier_id == SubscriptionTier.id)
        .where(
            Subscription.account_id == Account.id,
            live_paid_condition(),
            Subscription.cancel_at_period_end.is_(False),
        )
        .correlate(Account)
        .scalar_subquery()
    )
    connection.execute(
        sa.update(Account)
        .where(Account.id.in_(sorted(account_ids) if isinstance(account_ids, set) else account_ids))
        .values(billed_twice=sa.case((renewing > 1, sa.true()), else_=sa.false()))
        .execution_options(synchronize_session=False)
    )


@session_listener("after_flush")
def _refresh_after_flush(session: Session, flush_context: Any) -> None:
    accounts: set[int] = set()
    tiers: set[int] = set()
    for obj in (*session.new, *session.deleted, *session.dirty):
        if isinstance(obj, Subscription) and obj.account_id is not None:
            if obj not in session.dirty or _may_count_otherwise(obj):
                accounts.add(int(obj.account_id))
        elif isinstance(obj, SubscriptionTier) and _addon_changed(obj):
            tiers.add(int(obj.id))
    connection = session.connection()
    if accounts:
        refresh_billed_twice(connection, accounts)
    if tiers:
        subscribers = sa.select(Subscription.account_id).where(Subscription.tier_id.in_(tiers))
        refresh_billed_twice(connection, subscribers)


def _addon_changed(tier: SubscriptionTier) -> bool:
    return tier.id is not None and sa.inspect(tier).attrs.is_addon.history.has_changes()


#: The fields that decide whether a subscription counts as a renewing paid plan.
COUNTED_BY = ("provider", "status", "cancel_at_period_end", "tier_id")


def _may_count_otherwise(subscription: Subscription) -> bool:
    """Whether a change of ``subscription`` may change if it counts (a renewal's dates do not)."""
    attributes = sa.inspect(subscription).attrs
    return any(attributes[name].history.has_changes() for name in COUNTED_BY)
