"""What a checkout sells: the price of the chosen interval, the trial and the seats paid for.

Both providers' ``start_checkout`` ask here, so the rules are the same whoever sells the tier.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import sqlalchemy as sa

from ..db import db, utcnow
from ..errors import ValidationError
from .models import Subscription
from .providers.common import sold_through
from .providers.registry import PAID_PROVIDERS, find_paid_provider, paid_provider

if TYPE_CHECKING:
    from ..accounts.models import Account
    from ..catalog.models import SubscriptionTier

#: The intervals a customer may choose at checkout; "month" is the tier's primary price.
CHECKOUT_INTERVALS: Final = ("month", "year")
#: The providers whose checkout tiergate gives a trial through (Stripe's
#: ``subscription_data.trial_period_days``).
TRIAL_PROVIDERS: Final = ("stripe",)


@dataclass(frozen=True)
class CheckoutTerms:
    """What one checkout asks the provider for."""

    #: The Stripe lookup key or Whop product id of the chosen interval.
    key: str
    interval: str
    #: Free days before the first charge (0: none).
    trial_days: int
    #: Units bought: the seats in use for a per-seat tier, else 1.
    quantity: int


def parse_interval(value: str | None) -> str:
    """Return the checkout interval ``value`` names ("month" when left out)."""
    interval = (value or "month").strip().lower()
    if interval not in CHECKOUT_INTERVALS:
        raise ValidationError(
            f"billing interval {value!r} is not one of {', '.join(CHECKOUT_INTERVALS)}",
            interval=value,
        )
    return interval


def yearly_key_of(tier: SubscriptionTier) -> str | None:
    """Return the tier's yearly price (product) key at its own provider, or None."""
    paid = find_paid_provider(tier.billing_provider)
    return paid.yearly_key_of(tier) if paid is not None else None


def interval_key(tier: SubscriptionTier, provider: str, interval: str) -> str:
    """Return the price (product) key that sells ``tier`` for ``interval`` at ``provider``."""
    primary = sold_through(tier, provider)
    if parse_interval(interval) == "month":
        return primary
    yearly = yearly_key_of(tier)
    if yearly is None:
        raise ValidationError(
            f"tier {tier.key!r} has no yearly price: set its "
            f"{paid_provider(provider).yearly_key_field}",
            tier=tier.key,
            interval=interval,
        )
    return yearly


def trial_days_offered(tier: SubscriptionTier, *, first_subscription: bool) -> int:
    """Return the free days a checkout of ``tier`` gives: the rule pricing and checkout share.

    A trial goes only with the account's first paid subscription (see ``has_paid_before``),
    and only through Stripe: a Whop checkout configuration takes no trial (the Whop plan's own
    settings decide), so tiergate promises none there.
    """
    if tier.trial_days <= 0 or tier.billing_provider not in TRIAL_PROVIDERS:
        return 0
    return tier.trial_days if first_subscription else 0


def has_paid_before(account: Account) -> bool:
    """Tell whether the account ever had a paid-provider subscription (any tier, any status).

    A row's tier changes with the plan, so "held this tier" cannot be told from the rows;
    the rows themselves stay as long as the account does.
    """
    found = db.session.scalar(
        sa.select(Subscription.id)
        .where(
            Subscription.account_id == account.id,
            Subscription.provider.in_(PAID_PROVIDERS),
        )
        .limit(1)
    )
    return found is not None


def trial_days_for(account: Account, tier: SubscriptionTier) -> int:
    """Return the trial the account gets for ``tier``: once per account, through Stripe.

    Stripe does not stop repeated trials itself: it leaves that rule to the seller.
    """
    if trial_days_offered(tier, first_subscription=True) == 0:
        return 0  # no query needed
    return trial_days_offered(tier, first_subscription=not has_paid_before(account))


def seats_to_buy(account: Account, tier: SubscriptionTier) -> int:
    """Return the quantity to buy: the seats in use (at least 1) for a per-seat tier, else 1."""
    if not tier.per_seat:
        return 1
    # Imported here: entitlements build on billing, not the other way round.
    from ..entitlements.resolve import count_seats

    seats, _ = count_seats(account.id, utcnow())
    return max(seats, 1)


def checkout_terms(
    account: Account, tier: SubscriptionTier, provider: str, interval: str = "month"
) -> CheckoutTerms:
    """Return the key, interval, trial and quantity of a checkout of ``tier``."""
    interval = parse_interval(interval)
    return CheckoutTerms(
        key=interval_key(tier, provider, interval),
        interval=interval,
        trial_days=trial_days_for(account, tier),
        quantity=seats_to_buy(account, tier),
    )
