"""Plan changes: decide what choosing a tier means for the account, and carry it out.

Choosing a tier never opens a second live paid subscription on the same provider: on Stripe
the subscription's price is swapped (upgrades at once, prorated; downgrades at the period end
through a subscription schedule unless configured otherwise); the default (free) tier means
cancelling at the period end; another provider, or another Whop product, is bought first and
the old subscription is ended at its period end by ``settle`` once the new one is active.

Provider calls happen with no transaction open; their returned state is applied at once
(``apply_subscription_state``), so the account page is right before the webhook arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from flask import current_app

from ...accounts.models import Account
from ...audit.services import Actor
from ...catalog.models import SubscriptionTier
from ...db import WriteTransactionRequired, begin_write_transaction, db, has_written
from ...errors import Conflict, ValidationError
from ..checkout import interval_key, parse_interval, seats_to_buy
from ..models import Subscription
from ..providers import get_provider
from ..providers.registry import PAID_PROVIDERS
from ..providers.resolve import checkout_metadata
from ..providers.stripe_lifecycle import ChangePreview, check_proration_behavior
from ..services import ApplyResult, SubscriptionState, apply_subscription_state
from .live import is_continuing, is_live_paid, live_paid_subscriptions, plan_subscription

#: Buy the tier through the provider's checkout (nothing live to change, or another provider).
CHECKOUT: Final = "checkout"
#: Swap the Stripe subscription's price now.
SWAP: Final = "swap"
#: Swap the Stripe subscription's price at the end of the period (a downgrade).
SCHEDULE: Final = "schedule"
#: Cancel the subscription at the end of its period (the default, free tier was chosen).
CANCEL: Final = "cancel"
#: Take back a pending cancellation (the tier the account is already on was chosen).
RESUME: Final = "resume"
#: Nothing to do: the account is on this tier and interval already.
SAME: Final = "same"


@dataclass(frozen=True)
class PlanChange:
    """What choosing ``target`` (at ``interval``) means for the account."""

    kind: str
    account_id: int
    target: SubscriptionTier
    interval: str
    current: Subscription | None
    #: The Stripe lookup key of the price to swap to (SWAP, SCHEDULE).
    lookup_key: str | None = None

    @property
    def is_interval_change(self) -> bool:
        """True when the change bills another interval: Stripe invoices it at once.

        Stripe resets the billing cycle then (outside a trial, which makes no prorations).
        """
        current = self.current
        return (
            current is not None
            and current.status != "trialing"
            and (current.billing_interval or "month") != self.interval
        )

    @property
    def is_downgrade(self) -> bool:
        """True when the target ranks below the current plan."""
        return self.current is not None and self.target.rank < self.current.tier.rank


def plan_change(
    account_id: int, target: SubscriptionTier, interval: str | None = "month"
) -> PlanChange:
    """Decide what choosing ``target`` means for the account (reads only)."""
    interval = parse_interval(interval)
    current = plan_subscription(account_id)
    change = _kind(current, target, interval)
    key = interval_key(target, "stripe", interval) if change in (SWAP, SCHEDULE) else None
    return PlanChange(change, account_id, target, interval, current, key)


def replaced_by_checkout(change: PlanChange) -> str | None:
    """Name the subscription a CHECKOUT replaces ("<provider>:<id>"), if it replaces one.

    Buying a plan while another live paid plan sets the account's tier is a switch: the new
    subscription carries this in its metadata, and the old one ends at its period end once
    the new one grants. An add-on replaces nothing.
    """
    current = change.current
    if change.kind != CHECKOUT or current is None or change.target.is_addon:
        return None
    return f"{current.provider}:{current.provider_subscription_id}"


def continuing_subscriptions(account_id: int) -> list[Subscription]:
    """Return the account's live paid subscriptions that will bill again (not set to end)."""
    return [s for s in live_paid_subscriptions(account_id) if is_continuing(s)]


def _kind(current: Subscription | None, target: SubscriptionTier, interval: str) -> str:
    if target.billing_provider not in PAID_PROVIDERS:
        if not target.is_default:
            raise ValidationError(f"{target.name} is not sold: it is granted by the staff")
        # The free (default) tier: end the paid plan at its period end.
        return CANCEL if current is not None and not current.cancel_at_period_end else SAME
    if target.is_addon or current is None:
        return CHECKOUT
    same_tier = current.tier_id == target.id
    if current.provider == "stripe" and target.billing_provider == "stripe":
        same_interval = (current.billing_interval or "month") == interval
        if same_tier and same_interval and current.scheduled_tier_id is None:
            return RESUME if current.cancel_at_period_end else SAME
        downgrade = target.rank < current.tier.rank
        at_period_end = current_app.config["TIERGATE_DOWNGRADE_AT_PERIOD_END"]
        return SCHEDULE if downgrade and at_period_end else SWAP
    if same_tier and current.provider == target.billing_provider:
        if (current.billing_interval or "month") != interval:
            return CHECKOUT  # Whop sells each interval as its own product: buy it, then switch
        return RESUME if current.cancel_at_period_end else SAME
    return CHECKOUT


def proration_behavior() -> str:
    """Return the configured Stripe proration behaviour of plan changes."""
    return check_proration_behavior(current_app.config["TIERGATE_STRIPE_PRORATION_BEHAVIOR"])


def end_read() -> None:
    """End the caller's read-only transaction before a provider call (nothing is written).

    On SQLite the sandbox answers in a session of its own, which must be able to write; and no
    transaction stays open while a provider is slow. A transaction that has written is refused.
    """
    session = db.session()
    if has_written(session):
        raise WriteTransactionRequired(
            "a provider call must not happen inside a transaction that has written: commit first"
        )
    session.commit()


def preview_change(change: PlanChange) -> ChangePreview:
    """Ask Stripe what the change costs now (SWAP only); call with no transaction open."""
    if change.kind != SWAP or change.current is None or change.lookup_key is None:
        raise ValidationError("only an immediate Stripe plan change has a price preview")
    quantity = seats_to_buy(db.session.get_one(Account, change.account_id), change.target)
    subscription_id = change.current.provider_subscription_id
    end_read()
    provider: Any = get_provider("stripe")
    return provider.preview_change(
        subscription_id,
        change.lookup_key,
        proration_behavior=proration_behavior(),
        quantity=quantity,
    )


def perform_change(change: PlanChange, *, actor: Actor, nonce: str) -> ApplyResult:
    """Carry out a SWAP, SCHEDULE or RESUME; the caller commits.

    ``nonce`` identifies the customer's confirmation: the same confirmation sent twice
    carries the same idempotency key, so the provider changes and charges once. CANCEL (the
    free tier) ends every continuing subscription, one commit each: the caller calls
    ``set_cancel_at_period_end`` for each of ``continuing_subscriptions``.
    """
    current = change.current
    if current is None or change.kind not in (SWAP, SCHEDULE, RESUME):
        raise Conflict(f"there is no subscription to change to {change.target.name}")
    if change.kind == RESUME:
        return set_cancel_at_period_end(current, False, actor=actor, nonce=nonce)
    assert change.lookup_key is not None
    key = idempotency_key(current, f"{change.kind}:{change.lookup_key}", nonce)
    account = db.session.get_one(Account, change.account_id)
    quantity = seats_to_buy(account, change.target)
    subscription_id = current.provider_subscription_id
    metadata = checkout_metadata(account, change.target)
    end_read()
    stripe: Any = get_provider("stripe")
    if change.kind == SWAP:
        state = stripe.change_price(
            subscription_id,
            change.lookup_key,
            proration_behavior=proration_behavior(),
            idempotency_key=key,
            metadata=metadata,
            quantity=quantity,
        )
        return _apply(state, actor, "subscription.plan_changed")
    state = stripe.schedule_change(
        subscription_id, change.lookup_key, idempotency_key=key, quantity=quantity
    )
    return _apply(state, actor, "subscription.change_scheduled")


def set_cancel_at_period_end(
    subscription: Subscription, cancel: bool, *, actor: Actor, nonce: str
) -> ApplyResult:
    """Cancel a live paid subscription at its period end, or resume it; the caller commits."""
    if not is_live_paid(subscription):
        raise Conflict(f"this {subscription.provider} subscription is not live: nothing to change")
    if subscription.billing_interval == "once":
        raise Conflict("a one-time purchase does not renew: there is nothing to cancel or resume")
    if subscription.cancel_at_period_end == cancel:
        raise Conflict(
            "this subscription is already set to end at its period end"
            if cancel
            else "this subscription is not set to end: nothing to resume"
        )
    successor_id = subscription.successor_id
    successor = db.session.get(Subscription, successor_id) if successor_id else None
    if not cancel and successor is not None and is_continuing(successor):
        # Resumed, it would be ended again at once: the newer subscription replaced it.
        name = successor.tier.name
        raise Conflict(f"your {name} subscription replaced this one; cancel {name} first")
    provider_name = subscription.provider
    key = idempotency_key(subscription, "cancel" if cancel else "resume", nonce)
    subscription_id = subscription.provider_subscription_id
    end_read()
    provider: Any = get_provider(provider_name)
    state = provider.set_cancel_at_period_end(subscription_id, cancel, idempotency_key=key)
    action = "subscription.cancel_requested" if cancel else "subscription.resumed"
    return _apply(state, actor, action)


def _apply(state: SubscriptionState, actor: Actor, action: str) -> ApplyResult:
    begin_write_transaction()
    return apply_subscription_state(state, actor=actor, action=action)


def idempotency_key(subscription: Subscription, what: str, nonce: str = "") -> str:
    """Return the provider idempotency key of one transition of ``subscription``.

    It names the subscription's current state (its provider timestamp): a confirmation sent
    twice shares a key, but a later transition (cancel, resume, cancel again with the same
    page's nonce) never reuses one, so the provider never replays a stale answer.
    """
    state = _timestamp(subscription.provider_updated_at)
    key = f"tiergate:{subscription.provider_subscription_id}:{what}:at{state}"
    return (f"{key}:{nonce}" if nonce else key)[:255]


def _timestamp(value: datetime | None) -> int:
    if value is None:
        return 0
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())
