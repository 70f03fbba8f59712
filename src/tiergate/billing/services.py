"""Subscriptions: the one writer (``apply_subscription_state``) and exempt grants."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..accounts.models import Account
from ..audit.services import Actor, record_audit_event, snapshot
from ..catalog.models import SubscriptionTier
from ..db import db, utcnow
from ..errors import Conflict, NotFound, ValidationError
from .lifecycle.succession import link_replaced
from .models import STATUSES, Subscription
from .providers.registry import BILLING_PROVIDERS
from .state_order import is_stale, paid_through_kept, paid_through_shown_late, whole_seconds

#: The subscription columns a state sets; compared to tell a real change from a replay.
STATE_FIELDS = (
    "account_id",
    "tier_id",
    "status",
    "current_period_end",
    "cancel_at_period_end",
    "trial_end",
    "current_period_start",
    "paid_through",
    "billing_interval",
    "quantity",
    "scheduled_tier_id",
    "scheduled_change_at",
    "provider_customer_id",
    "granted_by_id",
    "grant_reason",
    "grant_expires_at",
)
AUDIT_FIELDS = ("provider", "provider_subscription_id", *STATE_FIELDS, "provider_updated_at")


@dataclass(frozen=True)
class SubscriptionState:
    """A provider's subscription, normalised: what ``apply_subscription_state`` writes."""

    provider: str
    provider_subscription_id: str
    account_id: int
    tier: str | int  # a tier key, or a tier id
    status: str
    provider_updated_at: datetime
    current_period_end: datetime | None = None
    cancel_at_period_end: bool = False
    trial_end: datetime | None = None
    current_period_start: datetime | None = None
    #: The end of the last period paid for (None: the period end, when paid).
    paid_through: datetime | None = None
    billing_interval: str | None = None
    quantity: int = 1
    scheduled_tier_id: int | None = None
    scheduled_change_at: datetime | None = None
    provider_customer_id: str | None = None
    granted_by_id: int | None = None
    grant_reason: str | None = None
    grant_expires_at: datetime | None = None
    #: True when the state was read from its source at ``provider_updated_at`` (a provider
    #: re-fetch, a reconciliation walk, tiergate's own grant) rather than carried by an event:
    #: it is the state *then*, so it wins a tie with a stored state of the same second.
    fetched: bool = False
    #: The "<provider>:<provider subscription id>" this one was bought to replace (the
    #: checkout's intent): linked as its successor once this one grants. Not a column.
    replaces: str | None = None

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, datetime):
                object.__setattr__(self, item.name, whole_seconds(value))


class Outcome(enum.StrEnum):
    """What applying a state did."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    STALE = "ignored_stale"


@dataclass(frozen=True)
class ApplyResult:
    """The outcome of ``apply_subscription_state`` and the subscription it concerns."""

    outcome: Outcome
    subscription: Subscription
    changed: tuple[str, ...] = field(default=())


def _resolve_tier(reference: str | int) -> SubscriptionTier:
    if isinstance(reference, int):
        tier = db.session.get(SubscriptionTier, reference)
    else:
        tier = db.session.scalar(
            sa.select(SubscriptionTier).where(SubscriptionTier.key == reference)
        )
    if tier is None:
        raise NotFound(f"unknown tier {reference!r}", tier=str(reference))
    return tier


def _validate(state: SubscriptionState) -> SubscriptionTier:
    if state.provider not in BILLING_PROVIDERS:
        raise ValidationError(f"unknown provider {state.provider!r}", field="provider")
    if state.status not in STATUSES:
        raise ValidationError(f"unknown subscription status {state.status!r}", field="status")
    if not state.provider_subscription_id:
        raise ValidationError("a subscription state needs a provider subscription id")
    if db.session.get(Account, state.account_id) is None:
        raise NotFound(f"no account {state.account_id}", account=state.account_id)
    return _resolve_tier(state.tier)


def apply_subscription_state(
    state: SubscriptionState, *, actor: Actor, action: str | None = None, note: str | None = None
) -> ApplyResult:
    """Create or update the subscription ``state`` describes, ignoring replays and old states."""
    tier = _validate(state)
    values: dict[str, Any] = {
        name: getattr(state, name) for name in STATE_FIELDS if name != "tier_id"
    }
    values["tier_id"] = tier.id
    subscription = db.session.scalar(
        sa.select(Subscription)
        .where(
            Subscription.provider == state.provider,
            Subscription.provider_subscription_id == state.provider_subscription_id,
        )
        .with_for_update()
    )
    if subscription is None:
        subscription = Subscription(
            provider=state.provider,
            provider_subscription_id=state.provider_subscription_id,
            provider_updated_at=state.provider_updated_at,
            **values,
        )
        db.session.add(subscription)
        db.session.flush()
        _audit(action or "subscription.created", subscription, None, actor, note)
        link_replaced(state, subscription, actor)
        return ApplyResult(Outcome.CREATED, subscription, tuple(STATE_FIELDS))
    if subscription.account_id != state.account_id:
        raise Conflict(
            f"subscription {state.provider}:{state.provider_subscription_id} belongs to "
            f"account {subscription.account_id}, not {state.account_id}"
        )
    if is_stale(state, subscription):
        return _apply_late_payment(state, subscription, actor, note)
    values["paid_through"] = paid_through_kept(state, subscription)
    changed = tuple(n for n in STATE_FIELDS if _stored(subscription, n) != values[n])
    if not changed:
        # A replay, or the same state again: only move the high-water mark forward.
        subscription.provider_updated_at = state.provider_updated_at
        db.session.flush()
        link_replaced(state, subscription, actor)
        return ApplyResult(Outcome.UNCHANGED, subscription)
    before = snapshot(subscription, AUDIT_FIELDS)
    for name in STATE_FIELDS:
        setattr(subscription, name, values[name])
    subscription.provider_updated_at = state.provider_updated_at
    # The audit event's flush writes the subscription too: one flush, not two.
    _audit(action or "subscription.updated", subscription, before, actor, note)
    link_replaced(state, subscription, actor)
    return ApplyResult(Outcome.UPDATED, subscription, changed)


def _apply_late_payment(
    state: SubscriptionState, subscription: Subscription, actor: Actor, note: str | None
) -> ApplyResult:
    """Keep a stale state out, except for the paid period it shows (see state_order)."""
    paid = paid_through_shown_late(state, subscription)
    if paid is None:
        return ApplyResult(Outcome.STALE, subscription)
    before = snapshot(subscription, AUDIT_FIELDS)
    subscription.paid_through = paid
    _audit("subscription.updated", subscription, before, actor, note)
    return ApplyResult(Outcome.UPDATED, subscription, ("paid_through",))


def _stored(subscription: Subscription, name: str) -> Any:
    value = getattr(subscription, name)
    return whole_seconds(value) if isinstance(value, datetime) else value


def _audit(
    action: str, subscription: Subscription, before: Any, actor: Actor, note: str | None
) -> None:
    after = snapshot(subscription, AUDIT_FIELDS)
    if note:
        after["note"] = note
    record_audit_event(
        action,
        actor=actor,
        target_type="subscription",
        target_id=subscription.id,
        before=before,
        after=after,
    )


def exempt_subscription_id(account: Account) -> str:
    """Return the provider subscription id of the account's one exempt grant."""
    return f"exempt:account:{account.id}"


def exempt_grant_problem(tier: SubscriptionTier) -> str | None:
    """Why ``tier`` cannot be granted for free, or None when it can."""
    if tier.billing_provider != "exempt" and not tier.is_billing_exempt:
        return (
            f"tier {tier.key!r} is sold through {tier.billing_provider}; only tiers whose "
            "billing provider is 'exempt' (or that are marked billing-exempt) can be granted"
        )
    if tier.billing_provider == "exempt":
        return None
    return tier.integration_problem


def grant_exempt_tier(
    account: Account,
    tier_key: str,
    *,
    actor: Actor,
    reason: str,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> ApplyResult:
    """Give ``account`` the exempt tier ``tier_key`` (replacing its previous exempt grant)."""
    now = now or utcnow()
    tier = db.session.scalar(sa.select(SubscriptionTier).where(SubscriptionTier.key == tier_key))
    if tier is None:
        message = (
            f"There is no tier “{tier_key}”: nothing was granted."
            if tier_key
            else "Choose the tier to grant: nothing was granted."
        )
        raise ValidationError(message, field="tier")
    problem = exempt_grant_problem(tier)
    if problem:
        raise ValidationError(f"cannot grant {tier_key!r}: {problem}", field="tier")
    if not (reason or "").strip():
        raise ValidationError(
            "a grant needs a reason (it is kept in the audit log)", field="reason"
        )
    if expires_at is not None and expires_at <= now:
        raise ValidationError(
            f"the grant would expire at {expires_at.isoformat()}, which is not in the future",
            field="expires_at",
        )
    state = SubscriptionState(
        provider="exempt",
        provider_subscription_id=exempt_subscription_id(account),
        account_id=account.id,
        tier=tier.id,
        status="active",
        provider_updated_at=now,
        granted_by_id=actor.user_id,
        grant_reason=reason.strip(),
        grant_expires_at=expires_at,
        fetched=True,  # tiergate is the source of an exempt grant: this is its state now
    )
    return apply_subscription_state(state, actor=actor, action="subscription.granted")


def revoke_exempt_tier(
    account: Account, *, actor: Actor, reason: str, now: datetime | None = None
) -> ApplyResult:
    """End the account's exempt grant now."""
    if not (reason or "").strip():
        raise ValidationError("a revocation needs a reason", field="reason")
    subscription = db.session.scalar(
        sa.select(Subscription).where(
            Subscription.provider == "exempt",
            Subscription.provider_subscription_id == exempt_subscription_id(account),
            Subscription.status == "active",
        )
    )
    if subscription is None:
        raise NotFound(f"account {account.slug!r} has no active exempt grant")
    state = replace(
        _state_of(subscription),
        status="canceled",
        provider_updated_at=now or utcnow(),
        fetched=True,
    )
    return apply_subscription_state(
        state, actor=actor, action="subscription.revoked", note=reason.strip()
    )


def _state_of(subscription: Subscription) -> SubscriptionState:
    return SubscriptionState(
        provider=subscription.provider,
        provider_subscription_id=subscription.provider_subscription_id,
        account_id=subscription.account_id,
        tier=subscription.tier_id,
        status=subscription.status,
        provider_updated_at=subscription.provider_updated_at,
        current_period_end=subscription.current_period_end,
        cancel_at_period_end=subscription.cancel_at_period_end,
        trial_end=subscription.trial_end,
        current_period_start=subscription.current_period_start,
        paid_through=subscription.paid_through,
        billing_interval=subscription.billing_interval,
        quantity=subscription.quantity,
        scheduled_tier_id=subscription.scheduled_tier_id,
        scheduled_change_at=subscription.scheduled_change_at,
        provider_customer_id=subscription.provider_customer_id,
        granted_by_id=subscription.granted_by_id,
        grant_reason=subscription.grant_reason,
        grant_expires_at=subscription.grant_expires_at,
    )


def subscriptions_of(account: Account) -> list[Subscription]:
    """Return the account's subscriptions, newest first."""
    query = (
        sa.select(Subscription)
        .where(Subscription.account_id == account.id)
        .order_by(Subscription.id.desc())
    )
    return list(db.session.scalars(query))
