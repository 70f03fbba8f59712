"""Settle what a commit calls for with the provider: superseded subscriptions, seat quantities.

The to-do list is a condition of the data, not a queue: "a live paid subscription still
renews though its successor grants and renews" (the successor is linked when a checkout
bought to replace it grants, see ``succession``; the replaced one is set to cancel at its
period end), and "a per-seat subscription's quantity differs from the seats in use". A
duplicate bought without that intent (outside tiergate, a license key, an import) is never
ended here. Both are settled right after the commit that creates them (the
``subscription_changed`` and ``entitlements_changed`` signals, acted on once the request is
done) and by ``tiergate billing settle`` for anything a crash left behind. Provider calls
happen with no transaction open; every step is idempotent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy.orm import aliased

from ...accounts.models import Account
from ...audit.services import Actor
from ...catalog.models import SubscriptionTier
from ...db import begin_write_transaction, db, has_written
from ...errors import ConfigurationError, TiergateError, ValidationError
from ...signals import entitlements_changed, subscription_changed
from ..checkout import seats_to_buy
from ..models import Subscription
from ..providers import get_provider
from ..providers.stripe_lifecycle import check_proration_behavior
from ..services import apply_subscription_state
from .changes import end_read, idempotency_key, proration_behavior
from .live import GRANTING_STATUSES, live_paid_condition, plan_subscription

logger = logging.getLogger(__name__)

_PENDING = "tiergate_lifecycle_pending"


@dataclass(frozen=True)
class Settled:
    """One thing settled (or that failed to): which subscription and what happened."""

    account_id: int
    provider_subscription_id: str
    detail: str
    ok: bool = True


def superseded(account_id: int) -> list[Subscription]:
    """Return the account's renewing subscriptions whose successor grants and renews."""
    successor = aliased(Subscription)
    query = (
        sa.select(Subscription)
        .join(SubscriptionTier, Subscription.tier_id == SubscriptionTier.id)
        .join(successor, Subscription.successor_id == successor.id)
        .where(
            Subscription.account_id == account_id,
            live_paid_condition(),
            Subscription.cancel_at_period_end.is_(False),
            # A successor itself set to end no longer replaces it: the customer kept this one.
            successor.status.in_(GRANTING_STATUSES),
            successor.cancel_at_period_end.is_(False),
        )
        .order_by(Subscription.id)
    )
    return list(db.session.scalars(query))


def settle_account(account_id: int, *, actor: Actor) -> list[Settled]:
    """End (at their period end) the account's subscriptions their successor replaced."""
    todo = []
    for replaced in superseded(account_id):
        successor = db.session.get_one(Subscription, replaced.successor_id)
        key = idempotency_key(replaced, f"superseded:{successor.id}")
        todo.append((replaced.provider, replaced.provider_subscription_id, key, successor))
    todo_named = [(p, i, k, s.provider, s.tier.name) for p, i, k, s in todo]
    done: list[Settled] = []
    for provider_name, provider_id, key, new_provider, new_tier in todo_named:
        end_read()  # no transaction is open during the provider call
        try:
            provider: Any = get_provider(provider_name)
            state = provider.set_cancel_at_period_end(provider_id, True, idempotency_key=key)
            begin_write_transaction()
            apply_subscription_state(state, actor=actor, action="subscription.updated")
            db.session.commit()
        except TiergateError as error:
            db.session.rollback()
            logger.warning("could not end superseded subscription %s: %s", provider_id, error)
            done.append(Settled(account_id, provider_id, error.message, ok=False))
            continue
        detail = f"set to cancel at its period end: replaced by {new_provider} {new_tier}"
        done.append(Settled(account_id, provider_id, detail))
    return done


def sync_quantity(account_id: int, *, actor: Actor) -> list[Settled]:
    """Set a per-seat Stripe subscription's quantity to the seats in use (idempotent)."""
    subscription = plan_subscription(account_id)
    if subscription is None or subscription.provider != "stripe" or not subscription.tier.per_seat:
        return []
    account = db.session.get_one(Account, account_id)
    seats = seats_to_buy(account, subscription.tier)
    if subscription.quantity == seats:
        return []
    provider_id = subscription.provider_subscription_id
    version = account.entitlements_version
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
    """True when a renewing paid subscription has a successor, or one is per seat.

    One short read: what runs after every committed change of an account (whether the
    successor grants is checked by ``superseded``).
    """
    replaced, per_seat = db.session.execute(
        sa.select(
            sa.func.count(Subscription.successor_id),
            sa.func.max(sa.case((SubscriptionTier.per_seat, 1), else_=0)),
        )
        .join(SubscriptionTier, Subscription.tier_id == SubscriptionTier.id)
        .where(
            Subscription.account_id == account_id,
            live_paid_condition(),
            Subscription.cancel_at_period_end.is_(False),
        )
    ).one()
    return bool(replaced or per_seat)


def accounts_to_settle() -> list[int]:
    """Return the ids of accounts with a replaced renewing subscription or a per-seat one."""
    query = (
        sa.select(Subscription.account_id)
        .join(SubscriptionTier, Subscription.tier_id == SubscriptionTier.id)
        .where(live_paid_condition(), Subscription.cancel_at_period_end.is_(False))
        .group_by(Subscription.account_id)
        .having(
            sa.or_(
                sa.func.count(Subscription.successor_id) > 0,
                sa.func.max(sa.case((SubscriptionTier.per_seat, 1), else_=0)) == 1,
            )
        )
        .order_by(Subscription.account_id)
    )
    return list(db.session.scalars(query))


# --- after the commit ------------------------------------------------------------------------


def connect_lifecycle(app: Flask) -> None:
    """Settle, once each request is done, the accounts its commits changed."""
    try:
        check_proration_behavior(str(app.config.get("TIERGATE_STRIPE_PRORATION_BEHAVIOR")))
    except ValidationError as error:
        raise ConfigurationError(error.message) from None
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
        if has_written(session):
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
