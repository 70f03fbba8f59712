"""Settle what a commit calls for with the provider: superseded subscriptions, seat quantities.

The to-do list is a condition of the data, not a queue: "a newer granting live paid
subscription exists and an older live paid one is not set to cancel" (the older one is set to
cancel at its period end, audited and linked through ``successor_id``), and "a per-seat
subscription's quantity differs from the seats in use". Both are settled right after the
commit that creates them (the ``subscription_changed`` and ``entitlements_changed`` signals,
acted on once the request is done) and by ``tiergate billing settle`` for anything a crash
left behind. Provider calls happen with no transaction open; every step is idempotent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g

from ...accounts.models import Account
from ...audit.services import Actor, record_audit_event
from ...db import begin_write_transaction, db
from ...entitlements.services import fresh_entitlements
from ...errors import ConfigurationError, TiergateError
from ...signals import entitlements_changed, subscription_changed
from ..models import Subscription
from ..providers import get_provider
from ..providers.stripe_lifecycle import PRORATION_BEHAVIORS
from ..services import apply_subscription_state
from .changes import end_read, proration_behavior
from .live import GRANTING_STATUSES, LIVE_STATUSES, live_paid_subscriptions, plan_subscription

logger = logging.getLogger(__name__)

_PENDING = "tiergate_lifecycle_pending"
_WROTE = "tiergate.wrote_in_transaction"


@dataclass(frozen=True)
class Settled:
    """One thing settled (or that failed to): which subscription and what happened."""

    account_id: int
    provider_subscription_id: str
    detail: str
    ok: bool = True


def superseded(account_id: int) -> tuple[Subscription | None, list[Subscription]]:
    """Return the account's newest granting live paid subscription and the older ones to end."""
    continuing = [s for s in live_paid_subscriptions(account_id) if not s.cancel_at_period_end]
    granting = [s for s in continuing if s.status in GRANTING_STATUSES]
    if not granting:
        return None, []
    newest = granting[-1]
    return newest, [s for s in continuing if s is not newest and s.id < newest.id]


def settle_account(account_id: int, *, actor: Actor) -> list[Settled]:
    """End (at their period end) the account's subscriptions a newer one replaced."""
    newest, older = superseded(account_id)
    if newest is None:
        return []
    successor = (newest.id, newest.provider, newest.tier.name)
    todo = [(s.id, s.provider, s.provider_subscription_id) for s in older]
    done: list[Settled] = []
    for row_id, provider_name, provider_id in todo:
        end_read()  # no transaction is open during the provider call
        try:
            provider: Any = get_provider(provider_name)
            state = provider.set_cancel_at_period_end(
                provider_id, True, idempotency_key=f"tiergate:{provider_id}:superseded"
            )
            begin_write_transaction()
            apply_subscription_state(state, actor=actor, action="subscription.updated")
            _link(row_id, successor[0], actor)
            db.session.commit()
        except TiergateError as error:
            db.session.rollback()
            logger.warning("could not end superseded subscription %s: %s", provider_id, error)
            done.append(Settled(account_id, provider_id, error.message, ok=False))
            continue
        detail = f"set to cancel at its period end: replaced by {successor[1]} {successor[2]}"
        done.append(Settled(account_id, provider_id, detail))
    return done


def _link(subscription_id: int, successor_id: int, actor: Actor) -> None:
    subscription = db.session.get_one(Subscription, subscription_id)
    if subscription.successor_id == successor_id:
        return
    before = {"successor_id": subscription.successor_id}
    subscription.successor_id = successor_id
    db.session.flush()
    record_audit_event(
        "subscription.superseded",
        actor=actor,
        target_type="subscription",
        target_id=subscription.id,
        before=before,
        after={
            "successor_id": successor_id,
            "provider": subscription.provider,
            "provider_subscription_id": subscription.provider_subscription_id,
            "cancel_at_period_end": subscription.cancel_at_period_end,
        },
    )


def sync_quantity(account_id: int, *, actor: Actor) -> list[Settled]:
    """Set a per-seat Stripe subscription's quantity to the seats in use (idempotent)."""
    subscription = plan_subscription(account_id)
    if (
        subscription is None
        or subscription.provider != "stripe"
        or not subscription.tier.per_seat
        or subscription.status not in LIVE_STATUSES
    ):
        return []
    seats = max(fresh_entitlements(account_id).seats_used, 1)
    if subscription.quantity == seats:
        return []
    provider_id = subscription.provider_subscription_id
    version = db.session.get_one(Account, account_id).entitlements_version
    end_read()
    try:
        provider: Any = get_provider("stripe")
        state = provider.set_quantity(
            provider_id,
            seats,
            proration_behavior=proration_behavior(),
            idempotency_key=f"tiergate:{provider_id}:seats:{seats}:v{version}",
        )
        begin_write_transaction()
        apply_subscription_state(state, actor=actor, action="subscription.quantity_changed")
        db.session.commit()
    except TiergateError as error:
        db.session.rollback()
        logger.warning("could not set the quantity of %s: %s", provider_id, error)
        return [Settled(account_id, provider_id, error.message, ok=False)]
    return [Settled(account_id, provider_id, f"quantity set to {seats} (seats in use)")]


def settle(account_id: int, *, actor: Actor) -> list[Settled]:
    """Settle one account: superseded subscriptions first, then the seat quantity."""
    return settle_account(account_id, actor=actor) + sync_quantity(account_id, actor=actor)


def needs_settling(account_id: int) -> bool:
    """True when the account has several renewing paid subscriptions, or a per-seat one.

    One short read: what runs after every committed change of an account.
    """
    from ...catalog.models import SubscriptionTier
    from .live import live_paid_condition

    renewing, per_seat = db.session.execute(
        sa.select(
            sa.func.count(Subscription.id),
            sa.func.max(sa.case((SubscriptionTier.per_seat, 1), else_=0)),
        )
        .join(SubscriptionTier, Subscription.tier_id == SubscriptionTier.id)
        .where(
            Subscription.account_id == account_id,
            live_paid_condition(),
            Subscription.cancel_at_period_end.is_(False),
        )
    ).one()
    return bool(renewing > 1 or per_seat)


def accounts_to_settle() -> list[int]:
    """Return the ids of accounts with a superseded subscription or a per-seat subscription."""
    from ...catalog.models import SubscriptionTier
    from .live import live_paid_condition

    query = (
        sa.select(Subscription.account_id)
        .join(SubscriptionTier, Subscription.tier_id == SubscriptionTier.id)
        .where(live_paid_condition(), Subscription.cancel_at_period_end.is_(False))
        .group_by(Subscription.account_id)
        .having(
            sa.or_(
                sa.func.count(Subscription.id) > 1,
                sa.func.max(sa.case((SubscriptionTier.per_seat, 1), else_=0)) == 1,
            )
        )
        .order_by(Subscription.account_id)
    )
    return list(db.session.scalars(query))


# --- after the commit ------------------------------------------------------------------------


def connect_lifecycle(app: Flask) -> None:
    """Settle, once each request is done, the accounts its commits changed."""
    behavior = app.config.get("TIERGATE_STRIPE_PRORATION_BEHAVIOR")
    if behavior not in PRORATION_BEHAVIORS:
        raise ConfigurationError(
            f"TIERGATE_STRIPE_PRORATION_BEHAVIOR={behavior!r}: use one of "
            + ", ".join(PRORATION_BEHAVIORS)
        )
    subscription_changed.connect(_note_subscription, sender=app, weak=False)
    entitlements_changed.connect(_note_accounts, sender=app, weak=False)
    app.after_request(_settle_noted)


def _note_subscription(sender: Any, account_id: int, **extra: Any) -> None:
    g.setdefault(_PENDING, set()).add(account_id)


def _note_accounts(sender: Any, account_ids: frozenset[int], **extra: Any) -> None:
    g.setdefault(_PENDING, set()).update(account_ids)


def _settle_noted(response: Any) -> Any:
    if not current_app.config.get("TIERGATE_SETTLE_AFTER_COMMIT"):
        return response
    for _round in range(2):  # settling commits too, which may note the account once more
        pending = sorted(g.pop(_PENDING, set()))
        if not pending:
            break
        session = db.session()
        if session.new or session.dirty or session.deleted or session.info.get(_WROTE):
            logger.warning("uncommitted changes after the request: settling left to the CLI")
            break
        session.rollback()  # only reads can be open here: start afresh
        for account_id in pending:
            try:
                if not needs_settling(account_id):
                    continue
                settle(account_id, actor=Actor.system("settle after commit"))
            except Exception:  # never turn the request's answer into an error
                db.session.rollback()
                logger.exception("settling account %s failed", account_id)
    return response
